/**
 * {@link ShardOperations} once for every dialect: each call resolves its
 * table spec to the dialect's table and runs the dialect's statement on one
 * executor (a shard's own, or a transaction's), inside the shard's `enter`.
 * {@link OperationsShard} forwards a {@link Shard}'s operations to it.
 */
import type {
  EntityTableSpec,
  HistoryRow,
  HistoryTableSpec,
  IndexQuery,
  IndexRow,
  IndexTableSpec,
  RecordRow,
  ShardOperations,
} from '@waffle/core';

/** Wraps each operation, e.g. to wait for the connection or the shard's gate. */
export type Enter = <T>(work: () => Promise<T>) => Promise<T>;

/** Runs operations without waiting for anything (inside a transaction). */
export const direct: Enter = (work) => work();

/** A dialect's tables for table specs, built once per spec. */
export interface Tables<E, I, H> {
  entity(spec: EntityTableSpec): E;
  index(spec: IndexTableSpec): I;
  history(spec: HistoryTableSpec): H;
}

/**
 * A dialect's record and index statements on executor `X`, entity tables `E`,
 * index tables `I` and history tables `H`. `maxParameters` is the shard's
 * limit of bound parameters.
 */
export interface Statements<X, E, I, H> {
  getRecords(exec: X, t: E, ids: readonly string[], maxParameters: number): Promise<RecordRow[]>;
  insertRecord(exec: X, t: E, record: RecordRow): Promise<boolean>;
  insertRecords(exec: X, t: E, records: readonly RecordRow[], maxParameters: number): Promise<boolean[]>;
  updateRecord(exec: X, t: E, record: RecordRow, expectedVersion: number): Promise<boolean>;
  deleteRecord(exec: X, t: E, id: string, expectedVersion: number | undefined): Promise<boolean>;
  scanRecords(exec: X, t: E, after: string | undefined, limit: number): Promise<RecordRow[]>;
  clearNote(exec: X, t: E, id: string, version: number): Promise<boolean>;
  scanNotes(exec: X, t: E, after: string | undefined, limit: number): Promise<RecordRow[]>;
  insertHistory(exec: X, t: H, row: HistoryRow): Promise<boolean>;
  getHistory(exec: X, t: H, id: string, version: number | undefined): Promise<HistoryRow[]>;
  putIndexRows(exec: X, t: I, rows: readonly IndexRow[], maxParameters: number): Promise<void>;
  deleteIndexRows(exec: X, t: I, rows: readonly IndexRow[], maxParameters: number): Promise<void>;
  queryIndex(exec: X, t: I, query: IndexQuery): Promise<IndexRow[]>;
}

/** What {@link SqlOperations} runs on. */
export interface OperationsOptions<X, E, I, H> {
  readonly exec: X;
  readonly tables: Tables<E, I, H>;
  readonly statements: Statements<X, E, I, H>;
  readonly maxParameters: number;
  /** Wraps each call; {@link direct} by default. */
  readonly enter?: Enter;
  /** Answer `getRecords` with no ids at once, without entering (default true). */
  readonly skipEmptyReads?: boolean;
}

/** Record and index operations on one executor. Empty index writes return at once. */
export class SqlOperations<X, E, I, H> implements ShardOperations {
  readonly #exec: X;
  readonly #tables: Tables<E, I, H>;
  readonly #do: Statements<X, E, I, H>;
  readonly #max: number;
  readonly #enter: Enter;
  readonly #skipEmptyReads: boolean;

  constructor(options: OperationsOptions<X, E, I, H>) {
    this.#exec = options.exec;
    this.#tables = options.tables;
    this.#do = options.statements;
    this.#max = options.maxParameters;
    this.#enter = options.enter ?? direct;
    this.#skipEmptyReads = options.skipEmptyReads ?? true;
  }

  getRecords(table: EntityTableSpec, ids: readonly string[]): Promise<RecordRow[]> {
    if (ids.length === 0 && this.#skipEmptyReads) return Promise.resolve([]);
    return this.#enter(() => this.#do.getRecords(this.#exec, this.#tables.entity(table), ids, this.#max));
  }

  insertRecord(table: EntityTableSpec, record: RecordRow): Promise<boolean> {
    return this.#enter(() => this.#do.insertRecord(this.#exec, this.#tables.entity(table), record));
  }

  insertRecords(table: EntityTableSpec, records: readonly RecordRow[]): Promise<boolean[]> {
    if (records.length === 0) return Promise.resolve([]);
    return this.#enter(() =>
      this.#do.insertRecords(this.#exec, this.#tables.entity(table), records, this.#max),
    );
  }

  updateRecord(table: EntityTableSpec, record: RecordRow, expectedVersion: number): Promise<boolean> {
    return this.#enter(() =>
      this.#do.updateRecord(this.#exec, this.#tables.entity(table), record, expectedVersion),
    );
  }

  deleteRecord(table: EntityTableSpec, id: string, expectedVersion?: number): Promise<boolean> {
    return this.#enter(() =>
      this.#do.deleteRecord(this.#exec, this.#tables.entity(table), id, expectedVersion),
    );
  }

  scanRecords(table: EntityTableSpec, after: string | undefined, limit: number): Promise<RecordRow[]> {
    return this.#enter(() => this.#do.scanRecords(this.#exec, this.#tables.entity(table), after, limit));
  }

  clearNote(table: EntityTableSpec, id: string, version: number): Promise<boolean> {
    return this.#enter(() => this.#do.clearNote(this.#exec, this.#tables.entity(table), id, version));
  }

  scanNotes(table: EntityTableSpec, after: string | undefined, limit: number): Promise<RecordRow[]> {
    return this.#enter(() => this.#do.scanNotes(this.#exec, this.#tables.entity(table), after, limit));
  }

  insertHistory(table: HistoryTableSpec, row: HistoryRow): Promise<boolean> {
    return this.#enter(() => this.#do.insertHistory(this.#exec, this.#tables.history(table), row));
  }

  getHistory(table: HistoryTableSpec, id: string, version?: number): Promise<HistoryRow[]> {
    return this.#enter(() => this.#do.getHistory(this.#exec, this.#tables.history(table), id, version));
  }

  putIndexRows(table: IndexTableSpec, rows: readonly IndexRow[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    return this.#enter(() => this.#do.putIndexRows(this.#exec, this.#tables.index(table), rows, this.#max));
  }

  deleteIndexRows(table: IndexTableSpec, rows: readonly IndexRow[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    return this.#enter(() =>
      this.#do.deleteIndexRows(this.#exec, this.#tables.index(table), rows, this.#max),
    );
  }

  queryIndex(table: IndexTableSpec, query: IndexQuery): Promise<IndexRow[]> {
    return this.#enter(() => this.#do.queryIndex(this.#exec, this.#tables.index(table), query));
  }
}

/**
 * The record and index half of a {@link Shard}, forwarded to the shard's
 * {@link ShardOperations}; a dialect's shard adds connections, tables,
 * metadata and transactions.
 */
export abstract class OperationsShard implements ShardOperations {
  /** The operations on the shard's own executor. */
  protected abstract readonly operations: ShardOperations;

  getRecords(table: EntityTableSpec, ids: readonly string[]): Promise<RecordRow[]> {
    return this.operations.getRecords(table, ids);
  }

  insertRecord(table: EntityTableSpec, record: RecordRow): Promise<boolean> {
    return this.operations.insertRecord(table, record);
  }

  insertRecords(table: EntityTableSpec, records: readonly RecordRow[]): Promise<boolean[]> {
    return this.operations.insertRecords(table, records);
  }

  updateRecord(table: EntityTableSpec, record: RecordRow, expectedVersion: number): Promise<boolean> {
    return this.operations.updateRecord(table, record, expectedVersion);
  }

  deleteRecord(table: EntityTableSpec, id: string, expectedVersion?: number): Promise<boolean> {
    return this.operations.deleteRecord(table, id, expectedVersion);
  }

  scanRecords(table: EntityTableSpec, after: string | undefined, limit: number): Promise<RecordRow[]> {
    return this.operations.scanRecords(table, after, limit);
  }

  clearNote(table: EntityTableSpec, id: string, version: number): Promise<boolean> {
    return this.operations.clearNote(table, id, version);
  }

  scanNotes(table: EntityTableSpec, after: string | undefined, limit: number): Promise<RecordRow[]> {
    return this.operations.scanNotes(table, after, limit);
  }

  insertHistory(table: HistoryTableSpec, row: HistoryRow): Promise<boolean> {
    return this.operations.insertHistory(table, row);
  }

  getHistory(table: HistoryTableSpec, id: string, version?: number): Promise<HistoryRow[]> {
    return this.operations.getHistory(table, id, version);
  }

  putIndexRows(table: IndexTableSpec, rows: readonly IndexRow[]): Promise<void> {
    return this.operations.putIndexRows(table, rows);
  }

  deleteIndexRows(table: IndexTableSpec, rows: readonly IndexRow[]): Promise<void> {
    return this.operations.deleteIndexRows(table, rows);
  }

  queryIndex(table: IndexTableSpec, query: IndexQuery): Promise<IndexRow[]> {
    return this.operations.queryIndex(table, query);
  }
}
