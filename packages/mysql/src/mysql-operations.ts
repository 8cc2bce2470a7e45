/**
 * The {@link ShardOperations} of a MySQL shard, bound to one executor: the
 * shard's pool (each call waiting for the shard's first inspection of its
 * server) or a transaction's connection.
 */
import type { ShardOperations } from '@waffle/core';
import { type Enter, SqlOperations, type Statements } from '@waffle/sql';
import type { Executor } from './mysql-exec.js';
import * as indexRows from './mysql-index-rows.js';
import * as records from './mysql-records.js';
import type { EntityTable, HistoryTable, IndexTable, MysqlTables } from './mysql-tables.js';

/** The dialect's statements: its record, history and index-row functions. */
const STATEMENTS: Statements<Executor, EntityTable, IndexTable, HistoryTable> = { ...records, ...indexRows };

/** Record and index operations on one executor, each call wrapped in `enter`. */
export function mysqlOperations(
  exec: Executor,
  tables: MysqlTables,
  maxParameters: number,
  enter: Enter,
): ShardOperations {
  return new SqlOperations({ exec, tables, statements: STATEMENTS, maxParameters, enter });
}
