/**
 * Runs a unit of work in one transaction on one pooled connection:
 * START TRANSACTION, the work, then COMMIT, or ROLLBACK when the work throws
 * (its own error passes through unchanged). A connection whose transaction
 * could not be ended cleanly is dropped rather than returned to the pool.
 */
import type { ShardOperations } from '@waffle/core';
import type { Pool } from 'mysql2/promise';
import {
  acquire,
  Executor,
  giveBack,
  isFatal,
  queryError,
  type ShardState,
  type Statement,
  type Target,
} from './mysql-exec.js';

/** The work of a transaction. */
export type Work<T> = (tx: ShardOperations) => Promise<T>;

const BEGIN: Statement = { sql: 'START TRANSACTION', params: [] };
const COMMIT: Statement = { sql: 'COMMIT', params: [] };

/** Runs `work` in a transaction on a connection of `pool`; driver errors of BEGIN and COMMIT become QueryErrors. */
export async function runTransaction<T>(
  state: ShardState,
  pool: Pool,
  operationsOn: (exec: Executor) => ShardOperations,
  work: Work<T>,
): Promise<T> {
  if (state.closed) throw queryError(state, BEGIN, new Error('The shard is closed'));
  const connection = await acquire(state, pool);
  const target: Target = { kind: 'connection', connection, ended: false };
  let broken = false;
  try {
    try {
      await connection.query(BEGIN.sql);
    } catch (error) {
      broken = isFatal(error);
      throw queryError(state, BEGIN, error);
    }
    let result: T;
    try {
      result = await work(operationsOn(new Executor(state, target)));
    } catch (error) {
      try {
        await connection.query('ROLLBACK');
      } catch {
        broken = true; // a failing rollback must not hide why the work failed
      }
      throw error;
    }
    try {
      await connection.query(COMMIT.sql);
    } catch (error) {
      broken = true; // the transaction's fate on this connection is unknown
      throw queryError(state, COMMIT, error);
    }
    return result;
  } finally {
    target.ended = true;
    giveBack(connection, broken);
  }
}
