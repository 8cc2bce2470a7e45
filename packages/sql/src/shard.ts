/**
 * A {@link Shard} from a driver and a dialect: what every adapter returns.
 * It resolves table specs to the dialect's table descriptions (built once)
 * and hands each operation to the dialect, on the driver.
 */
import type {
  Commit,
  EntityTableSpec,
  HistoryRow,
  HistoryTableSpec,
  IndexHit,
  IndexQuery,
  IndexRow,
  IndexTableSpec,
  NoteRef,
  Predicate,
  ReadRecords,
  RecordRow,
  ScanRecords,
  Shard,
  ShardLimits,
  TableSpec,
} from '@waffle/core/adapter';
import type { CasCommit, SqlDialect } from './dialect.js';
import type { Driver } from './driver.js';
import { appliesIfNewer } from './newer.js';
import { TableCache } from './tables.js';

/** Options of {@link SqlShard}. */
export interface SqlShardOptions {
  readonly driver: Driver;
  readonly dialect: SqlDialect;
  /** The largest record body the database takes, when the driver learns it (read at each `limits`). */
  readonly maxBodyBytes?: () => number | undefined;
}

/** A shard on one SQL database. */
export class SqlShard implements Shard {
  readonly name: string;
  readonly #driver: Driver;
  readonly #dialect: SqlDialect;
  readonly #tables: TableCache;
  readonly #maxBodyBytes: (() => number | undefined) | undefined;

  constructor(options: SqlShardOptions) {
    this.#driver = options.driver;
    this.#dialect = options.dialect;
    this.name = options.driver.name;
    this.#tables = new TableCache(options.dialect.render);
    this.#maxBodyBytes = options.maxBodyBytes;
  }

  get limits(): ShardLimits {
    const maxBodyBytes = this.#maxBodyBytes?.();
    const maxParameters = this.#dialect.maxParameters;
    return maxBodyBytes === undefined ? { maxParameters } : { maxParameters, maxBodyBytes };
  }

  createTables(tables: readonly TableSpec[]): Promise<void> {
    return this.#dialect.createTables(this.#driver, tables);
  }

  dropTables(tables: readonly TableSpec[]): Promise<void> {
    if (tables.length === 0) return Promise.resolve();
    return this.#dialect.dropTables(this.#driver, tables);
  }

  readMeta(keys: readonly string[]): Promise<Map<string, string>> {
    return this.#dialect.readMeta(this.#driver, keys);
  }

  writeMeta(key: string, value: string): Promise<string> {
    return this.#dialect.writeMeta(this.#driver, key, value);
  }

  replaceMeta(key: string, expected: string, value: string): Promise<boolean> {
    return this.#dialect.replaceMeta(this.#driver, key, expected, value);
  }

  getRecords(table: EntityTableSpec, ids: readonly string[], options?: ReadRecords): Promise<RecordRow[]> {
    return this.#dialect.getRecords(this.#driver, this.#tables.entity(table), ids, options?.note !== false);
  }

  scanRecords(table: EntityTableSpec, options: ScanRecords): Promise<RecordRow[]> {
    return this.#dialect.scanRecords(this.#driver, this.#tables.entity(table), options);
  }

  commit(work: Commit): Promise<boolean[]> {
    if (work.writes.length === 0) return Promise.resolve([]);
    try {
      if (appliesIfNewer(work.writes)) return this.#dialect.commitNewer(this.#driver, this.#tables, work);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#dialect.commit(this.#driver, this.#tables, work as CasCommit);
  }

  clearNotes(table: EntityTableSpec, notes: readonly NoteRef[]): Promise<boolean[]> {
    if (notes.length === 0) return Promise.resolve([]);
    return this.#dialect.clearNotes(this.#driver, this.#tables.entity(table), notes);
  }

  getHistory(table: HistoryTableSpec, id: string, version?: number): Promise<HistoryRow[]> {
    return this.#dialect.getHistory(this.#driver, this.#tables.history(table), id, version);
  }

  putIndexRows(table: IndexTableSpec, rows: readonly IndexRow[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    return this.#dialect.putIndexRows(this.#driver, this.#tables.index(table), rows);
  }

  deleteIndexRows(table: IndexTableSpec, rows: readonly IndexRow[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    return this.#dialect.deleteIndexRows(this.#driver, this.#tables.index(table), rows);
  }

  queryIndex(table: IndexTableSpec, query: IndexQuery): Promise<IndexHit[]> {
    const records = query.records === undefined ? undefined : this.#tables.entity(query.records);
    return this.#dialect.queryIndex(this.#driver, this.#tables.index(table), query, records);
  }

  countIndex(table: IndexTableSpec, where: Predicate | undefined): Promise<number> {
    return this.#dialect.countIndex(this.#driver, this.#tables.index(table), where);
  }

  countRows(table: EntityTableSpec | IndexTableSpec): Promise<number> {
    const t = table.kind === 'entity' ? this.#tables.entity(table) : this.#tables.index(table);
    return this.#dialect.countRows(this.#driver, t);
  }

  close(): Promise<void> {
    return this.#driver.close();
  }
}
