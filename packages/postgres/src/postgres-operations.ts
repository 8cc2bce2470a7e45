/**
 * The {@link ShardOperations} of a PostgreSQL shard, bound to one executor:
 * the shard's own (statements spread over the client's connections) or a
 * transaction's (statements on its one connection).
 */
import type {
  EntityTableSpec,
  IndexQuery,
  IndexRow,
  IndexTableSpec,
  RecordRow,
  ShardOperations,
} from '@waffle/core';
import { rowsPerStatement } from '@waffle/sql';
import type { Executor } from './postgres-exec.js';
import { deleteIndexRows, putIndexRows, queryIndex } from './postgres-index-rows.js';
import { deleteRecord, getRecords, insertRecord, scanRecords, updateRecord } from './postgres-records.js';
import type { IndexTable, TableCache } from './postgres-tables.js';

/** Record and index operations on one executor. */
export class PostgresOperations implements ShardOperations {
  constructor(
    private readonly exec: Executor,
    private readonly tables: TableCache,
    private readonly maxParameters: number,
  ) {}

  /** Rows per statement: as many as one multi-row VALUES list could bind (columns, id and version each). */
  #batch(t: IndexTable): number {
    return rowsPerStatement(t.columns.length + 2, this.maxParameters);
  }

  getRecords(table: EntityTableSpec, ids: readonly string[]): Promise<RecordRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return getRecords(this.exec, this.tables.entity(table), ids, this.maxParameters);
  }

  insertRecord(table: EntityTableSpec, record: RecordRow): Promise<boolean> {
    return insertRecord(this.exec, this.tables.entity(table), record);
  }

  updateRecord(table: EntityTableSpec, record: RecordRow, expectedVersion: number): Promise<boolean> {
    return updateRecord(this.exec, this.tables.entity(table), record, expectedVersion);
  }

  deleteRecord(table: EntityTableSpec, id: string, expectedVersion?: number): Promise<boolean> {
    return deleteRecord(this.exec, this.tables.entity(table), id, expectedVersion);
  }

  scanRecords(table: EntityTableSpec, after: string | undefined, limit: number): Promise<RecordRow[]> {
    return scanRecords(this.exec, this.tables.entity(table), after, limit);
  }

  putIndexRows(table: IndexTableSpec, rows: readonly IndexRow[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    const t = this.tables.index(table);
    return putIndexRows(this.exec, t, rows, this.#batch(t));
  }

  deleteIndexRows(table: IndexTableSpec, rows: readonly IndexRow[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    const t = this.tables.index(table);
    return deleteIndexRows(this.exec, t, rows, this.#batch(t));
  }

  queryIndex(table: IndexTableSpec, query: IndexQuery): Promise<IndexRow[]> {
    return queryIndex(this.exec, this.tables.index(table), query);
  }
}
