/**
 * The {@link ShardOperations} of a MySQL shard, bound to one executor: the
 * shard's pool (each call waiting for the shard's first inspection of its
 * server) or a transaction's connection.
 */
import type {
  EntityTableSpec,
  IndexQuery,
  IndexRow,
  IndexTableSpec,
  RecordRow,
  ShardOperations,
} from '@waffle/core';
import type { Executor } from './mysql-exec.js';
import { deleteIndexRows, putIndexRows, queryIndex } from './mysql-index-rows.js';
import { deleteRecord, getRecords, insertRecord, scanRecords, updateRecord } from './mysql-records.js';
import type { TableCache } from './mysql-tables.js';

/** Wraps each operation, e.g. to wait until the server has been inspected. */
export type Enter = <T>(work: () => Promise<T>) => Promise<T>;

/** Runs operations without waiting for anything (inside a transaction). */
export const direct: Enter = (work) => work();

/** Record and index operations on one executor. */
export class MysqlOperations implements ShardOperations {
  constructor(
    private readonly exec: Executor,
    private readonly tables: TableCache,
    private readonly maxParameters: number,
    private readonly enter: Enter,
  ) {}

  getRecords(table: EntityTableSpec, ids: readonly string[]): Promise<RecordRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.enter(() => getRecords(this.exec, this.tables.entity(table), ids, this.maxParameters));
  }

  insertRecord(table: EntityTableSpec, record: RecordRow): Promise<boolean> {
    return this.enter(() => insertRecord(this.exec, this.tables.entity(table), record));
  }

  updateRecord(table: EntityTableSpec, record: RecordRow, expectedVersion: number): Promise<boolean> {
    return this.enter(() => updateRecord(this.exec, this.tables.entity(table), record, expectedVersion));
  }

  deleteRecord(table: EntityTableSpec, id: string, expectedVersion?: number): Promise<boolean> {
    return this.enter(() => deleteRecord(this.exec, this.tables.entity(table), id, expectedVersion));
  }

  scanRecords(table: EntityTableSpec, after: string | undefined, limit: number): Promise<RecordRow[]> {
    return this.enter(() => scanRecords(this.exec, this.tables.entity(table), after, limit));
  }

  putIndexRows(table: IndexTableSpec, rows: readonly IndexRow[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    return this.enter(() => putIndexRows(this.exec, this.tables.index(table), rows, this.maxParameters));
  }

  deleteIndexRows(table: IndexTableSpec, rows: readonly IndexRow[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    return this.enter(() => deleteIndexRows(this.exec, this.tables.index(table), rows, this.maxParameters));
  }

  queryIndex(table: IndexTableSpec, query: IndexQuery): Promise<IndexRow[]> {
    return this.enter(() => queryIndex(this.exec, this.tables.index(table), query));
  }
}
