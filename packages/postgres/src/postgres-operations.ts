/**
 * The {@link ShardOperations} of a PostgreSQL shard, bound to one executor:
 * the shard's own (statements spread over the client's connections) or a
 * transaction's (statements on its one connection).
 */
import type { ShardOperations } from '@waffle/core';
import { rowsPerStatement, SqlOperations, type Statements } from '@waffle/sql';
import type { Executor } from './postgres-exec.js';
import * as indexRows from './postgres-index-rows.js';
import * as records from './postgres-records.js';
import type { EntityTable, HistoryTable, IndexTable, PostgresTables } from './postgres-tables.js';

/** Rows per statement: as many as one multi-row VALUES list could bind (columns, id and version each). */
function batchOf(t: IndexTable, maxParameters: number): number {
  return rowsPerStatement(t.columns.length + 2, maxParameters);
}

/** The dialect's statements: its record, history and index-row functions. */
const STATEMENTS: Statements<Executor, EntityTable, IndexTable, HistoryTable> = {
  ...records,
  ...indexRows,
  // Chunks by the parameter limit (one value a column) and by bytes itself.
  insertRecords: records.insertRecords,
  putIndexRows: (exec, t, rows, maxParameters) =>
    indexRows.putIndexRows(exec, t, rows, batchOf(t, maxParameters)),
  deleteIndexRows: (exec, t, rows, maxParameters) =>
    indexRows.deleteIndexRows(exec, t, rows, batchOf(t, maxParameters)),
};

/** Record and index operations on one executor. */
export function postgresOperations(
  exec: Executor,
  tables: PostgresTables,
  maxParameters: number,
): ShardOperations {
  return new SqlOperations({ exec, tables, statements: STATEMENTS, maxParameters });
}
