/**
 * The {@link ShardOperations} of a libSQL shard, bound to one executor: the
 * shard's own (each call entering the shard's gate) or a transaction's.
 */
import type { ShardOperations } from '@waffle/core';
import { type Enter, SqlOperations, type Statements } from '@waffle/sql';
import type { Executor } from './libsql-exec.js';
import * as indexRows from './libsql-index-rows.js';
import * as records from './libsql-records.js';
import type { EntityTable, HistoryTable, IndexTable, LibsqlTables } from './libsql-tables.js';

/** The dialect's statements: its record, history and index-row functions. */
const STATEMENTS: Statements<Executor, EntityTable, IndexTable, HistoryTable> = { ...records, ...indexRows };

/** Record and index operations on one executor, each call wrapped in `enter`. */
export function libsqlOperations(
  exec: Executor,
  tables: LibsqlTables,
  maxParameters: number,
  enter: Enter,
): ShardOperations {
  // Even a read of no ids enters, so that it waits for the connection like any other call.
  return new SqlOperations({
    exec,
    tables,
    statements: STATEMENTS,
    maxParameters,
    enter,
    skipEmptyReads: false,
  });
}
