/**
 * Runs a unit of work in one transaction: through drizzle (a libSQL
 * interactive transaction, BEGIN IMMEDIATE locally), or, for in-memory
 * databases on clients that lose them in `transaction()`, as BEGIN … COMMIT on
 * the client's only connection while the shard's gate keeps everything else out.
 */
import type { ShardOperations } from '@waffle/core';
import { sql } from 'drizzle-orm';
import { Executor, queryError, type ShardState, type SqliteDb } from './libsql-exec.js';

/** The work of a transaction. */
export type Work<T> = (tx: ShardOperations) => Promise<T>;

/** Runs `work` in a drizzle transaction; its own errors pass through, driver errors become QueryErrors. */
export async function drizzleTransaction<T>(
  db: SqliteDb,
  state: ShardState,
  operationsOn: (exec: Executor) => ShardOperations,
  work: Work<T>,
): Promise<T> {
  const progress: { step: 'BEGIN' | 'work' | 'COMMIT'; failure?: { error: unknown } } = { step: 'BEGIN' };
  if (state.closed)
    throw queryError(state.name, { sql: 'BEGIN', params: [] }, new Error('The shard is closed'));
  try {
    return await db.transaction(async (tx) => {
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
    });
  } catch (error) {
    // drizzle rolled back; a failing rollback must not hide why the work failed.
    if (progress.failure !== undefined) throw progress.failure.error;
    throw queryError(state.name, { sql: progress.step === 'BEGIN' ? 'BEGIN' : 'COMMIT', params: [] }, error);
  }
}

/** Runs `work` between BEGIN IMMEDIATE and COMMIT on `exec`, rolling back when anything fails. */
export async function manualTransaction<T>(
  exec: Executor,
  operations: ShardOperations,
  work: Work<T>,
): Promise<T> {
  await exec.run(sql`BEGIN IMMEDIATE`);
  try {
    const result = await work(operations);
    await exec.run(sql`COMMIT`);
    return result;
  } catch (error) {
    await exec.run(sql`ROLLBACK`).catch(() => undefined);
    throw error;
  }
}
