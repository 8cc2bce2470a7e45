/**
 * Runs a unit of work in one transaction with postgres.js's `sql.begin`,
 * which reserves one connection, commits when the work resolves and rolls
 * back when it throws. The work's own error passes through unchanged; a
 * failing BEGIN or COMMIT becomes a QueryError (or ShardUnavailableError).
 */
import type { ShardOperations } from '@waffle/core';
import { closedError, driverError, Executor, type ShardState } from './postgres-exec.js';
import type { PostgresClient } from './postgres-options.js';

/** The work of a transaction. */
export type Work<T> = (tx: ShardOperations) => Promise<T>;

/** Runs `work` in a transaction of `client`, giving it operations bound to the transaction's connection. */
export async function transaction<T>(
  client: PostgresClient,
  state: ShardState,
  operationsOn: (exec: Executor) => ShardOperations,
  work: Work<T>,
): Promise<T> {
  const progress: { step: 'BEGIN' | 'work' | 'COMMIT'; failure?: { error: unknown } } = { step: 'BEGIN' };
  if (state.closed) throw closedError(state, { sql: 'BEGIN', params: [] });
  try {
    return (await client.begin(async (tx) => {
      progress.step = 'work';
      let result: T;
      try {
        result = await work(operationsOn(new Executor(tx, state)));
      } catch (error) {
        progress.failure = { error };
        throw error;
      }
      progress.step = 'COMMIT';
      return result;
    })) as T;
  } catch (error) {
    // postgres.js rolled back; a failing rollback must not hide why the work failed.
    if (progress.failure !== undefined) throw progress.failure.error;
    throw driverError(state, { sql: progress.step === 'BEGIN' ? 'BEGIN' : 'COMMIT', params: [] }, error);
  }
}
