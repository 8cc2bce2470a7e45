/**
 * Every plug-in contract of waffle, in one place: the {@link Shard} an adapter
 * implements, the {@link Serializer} a codec implements, and the
 * {@link ShardStrategy} that maps keys to shards. The contracts are small on
 * purpose; planning, merging, verifying and repairing live once, in core.
 */
import type { ColumnKind, ColumnValue } from './columns.js';
import type { Predicate } from './predicate.js';

/** Name of the SQL column holding the entity id in an index table. */
export const INDEX_ID_COLUMN = '__id';
/** Name of the SQL column holding the version tag in an index table. */
export const INDEX_VERSION_COLUMN = '__version';
/** Name of the small table in which each shard remembers its identity. */
export const META_TABLE = '__waffle_meta';

/**
 * An entity's table: `id, body (text), bin (bytes), codec, version, created_at,
 * updated_at, note (text), pending (small integer)`, and an index on (`pending`, `id`).
 */
export interface EntityTableSpec {
  readonly kind: 'entity';
  readonly name: string;
}

/** One column of an index table. */
export interface IndexColumnSpec {
  readonly name: string;
  readonly kind: ColumnKind;
  readonly nullable: boolean;
}

/**
 * An index's table: the index columns in order, then `__id` (the entity id) and
 * `__version` (the record version that wrote the row). The key is (columns…, `__id`).
 */
export interface IndexTableSpec {
  readonly kind: 'index';
  readonly name: string;
  readonly columns: readonly IndexColumnSpec[];
}

/**
 * An entity's history table (opt-in): every version of every record, with
 * the record columns less the note, and `deleted` (1 for a tombstone); the key
 * is (`id`, `version`).
 */
export interface HistoryTableSpec {
  readonly kind: 'history';
  readonly name: string;
}

/** A table a shard holds. */
export type TableSpec = EntityTableSpec | IndexTableSpec | HistoryTableSpec;

/** A record as stored in an entity table. Times are milliseconds since the epoch. */
export interface RecordRow {
  readonly id: string;
  readonly version: number;
  /** The serializer's codec tag. */
  readonly codec: string;
  /** Text codecs give a string (stored in `body`), binary codecs a Uint8Array (stored in `bin`). */
  readonly body: string | Uint8Array;
  readonly createdAt: number;
  readonly updatedAt: number;
  /**
   * The index work the write of this version left to finish, as core's text
   * (stored in `note`; `pending` is 1 while there is one, so notes are found
   * through an index), or null. Absent means null.
   */
  readonly note?: string | null;
}

/** One version of a record in a history table; a tombstone (`deleted`) has an empty text body. */
export interface HistoryRow {
  readonly id: string;
  readonly version: number;
  readonly codec: string;
  readonly body: string | Uint8Array;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly deleted: boolean;
}

/** One row of an index table: the column values in the table's column order. */
export interface IndexRow {
  readonly id: string;
  readonly values: readonly ColumnValue[];
  /** The version of the record that produced this row. */
  readonly version: number;
}

/** A sort term for {@link Shard.queryIndex}; the column is an index column or `__id`. */
export interface IndexOrder {
  readonly column: string;
  readonly direction: 'asc' | 'desc';
}

/**
 * One page of an index scan. `where` already includes the keyset condition that
 * resumes after the previous page; `orderBy` is total (it ends with `__id`).
 * Nulls sort before every value (first ascending, last descending).
 */
export interface IndexQuery {
  readonly where: Predicate | undefined;
  readonly orderBy: readonly IndexOrder[];
  readonly limit: number;
}

/** What a shard's database can do; core adapts batch sizes and names to it. */
export interface ShardLimits {
  /** Most bound parameters in one statement. */
  readonly maxParameters: number;
  /** Longest identifier the database keeps intact. */
  readonly maxIdentifierLength: number;
  /**
   * Largest encoded record body the database accepts, in bytes (e.g. MySQL's
   * `max_allowed_packet` less the statement's own size), if it has such a
   * limit. An adapter that learns it on connecting may set it then: core reads
   * it after the shard's first round trip, before writing a record.
   */
  readonly maxBodyBytes?: number;
}

/** The operations available both on a shard and inside one of its transactions. */
export interface ShardOperations {
  /** Reads the records with the given ids (any order; missing ids are absent). */
  getRecords(table: EntityTableSpec, ids: readonly string[]): Promise<RecordRow[]>;
  /** Inserts a record; returns false, changing nothing, when the id exists. */
  insertRecord(table: EntityTableSpec, record: RecordRow): Promise<boolean>;
  /**
   * Inserts records with distinct ids, in as few statements as the database
   * allows; returns, per record in order, whether it was inserted (false,
   * changing nothing for it, when its id exists).
   */
  insertRecords(table: EntityTableSpec, records: readonly RecordRow[]): Promise<boolean[]>;
  /** Replaces a record if its stored version is `expectedVersion`; returns whether it did. */
  updateRecord(table: EntityTableSpec, record: RecordRow, expectedVersion: number): Promise<boolean>;
  /** Deletes a record (only at `expectedVersion` when given); returns whether a row went. */
  deleteRecord(table: EntityTableSpec, id: string, expectedVersion?: number): Promise<boolean>;
  /** Records in ascending id order, starting after `after`. */
  scanRecords(table: EntityTableSpec, after: string | undefined, limit: number): Promise<RecordRow[]>;
  /** Sets the note of the record stored at `version` to null; returns whether it did. */
  clearNote(table: EntityTableSpec, id: string, version: number): Promise<boolean>;
  /** Records whose note is not null, in ascending id order, starting after `after`. */
  scanNotes(table: EntityTableSpec, after: string | undefined, limit: number): Promise<RecordRow[]>;
  /** Inserts a version into a history table; returns false, changing nothing, when (id, version) exists. */
  insertHistory(table: HistoryTableSpec, row: HistoryRow): Promise<boolean>;
  /** The stored versions of `id` in ascending version order (only `version` when given). */
  getHistory(table: HistoryTableSpec, id: string, version?: number): Promise<HistoryRow[]>;
  /**
   * Writes index rows idempotently: a row whose key exists keeps the larger of
   * the two version tags.
   */
  putIndexRows(table: IndexTableSpec, rows: readonly IndexRow[]): Promise<void>;
  /** Deletes each row's key where the stored version tag is older than the row's `version`. */
  deleteIndexRows(table: IndexTableSpec, rows: readonly IndexRow[]): Promise<void>;
  /** Reads index rows matching `query.where`, in `query.orderBy` order, at most `query.limit`. */
  queryIndex(table: IndexTableSpec, query: IndexQuery): Promise<IndexRow[]>;
}

/**
 * A database that holds tables of entities and indices: what an adapter
 * implements (`libsqlShard`, `postgresShard`, `mysqlShard`). Values are always
 * bound parameters; identifiers were validated by core and are quoted by the adapter.
 */
export interface Shard extends ShardOperations {
  /** A name for messages: dialect and location, never a password. */
  readonly name: string;
  /** The SQL dialect, e.g. `sqlite`, `postgres`, `mysql`. */
  readonly dialect: string;
  readonly limits: ShardLimits;
  /** Creates the tables that do not exist yet, and the metadata table. Idempotent. */
  createTables(tables: readonly TableSpec[]): Promise<void>;
  /** Reads metadata entries; absent keys are absent from the map (also when the metadata table does not exist). */
  readMeta(keys: readonly string[]): Promise<Map<string, string>>;
  /** Stores `value` under `key` unless the key exists; returns the value stored now. */
  writeMeta(key: string, value: string): Promise<string>;
  /** Runs `work` in one transaction of this shard. */
  transaction<T>(work: (tx: ShardOperations) => Promise<T>): Promise<T>;
  /** Closes the connection if the shard opened it; a client passed in by the caller stays open. */
  close(): Promise<void>;
}

/** Encodes record values to stored bodies and back. */
export interface Serializer {
  /** The tag stored with every row this serializer writes, e.g. `json`. */
  readonly codec: string;
  /** `text` bodies are strings, `binary` bodies Uint8Arrays; each adapter stores both natively. */
  readonly format: 'text' | 'binary';
  /** Encodes a value; throws `SerializationError` for a value the codec cannot represent. */
  encode(value: unknown): string | Uint8Array;
  /** Decodes a stored body. */
  decode(body: string | Uint8Array): unknown;
}

/** What a shard strategy sees of a row: the entity id and, for index rows, the column values by name. */
export interface ShardKey {
  readonly id: string;
  readonly row?: Readonly<Record<string, ColumnValue>>;
}

/**
 * Maps keys to shards. Entities use it with the record id, indices with each
 * index row. Custom strategies implement the same interface.
 */
export interface ShardStrategy {
  readonly shards: readonly Shard[];
  /**
   * A stable description stored on every shard by `create()` (e.g.
   * `primary-key:4096:3`), so data opened with another layout is refused.
   */
  readonly layout: string;
  /** Index columns the strategy reads from rows (checked to exist when an index uses it). */
  readonly columns?: readonly string[];
  /** The position in `shards` of the shard that holds `key`. */
  shardOf(key: ShardKey): number;
  /** Positions of the shards that can hold rows matching `where` (all when unsure). */
  shardsFor(where: Predicate | undefined): number[];
}
