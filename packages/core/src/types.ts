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
  /** The serializer's codec tag; empty for a tombstone (the row a deletion leaves, with an empty text body). */
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
  /**
   * The entity table on the same shard whose records the rows point to: when
   * given, each row comes with its stored record (one JOIN), without its note
   * (queries do not need it), `null` when the shard holds no record with that id.
   */
  readonly records?: EntityTableSpec;
}

/** A row found by {@link Shard.queryIndex}; `record` is there when the query named the records' table. */
export interface IndexHit extends IndexRow {
  readonly record?: RecordRow | null;
}

/** What a shard's database can do; core adapts batch sizes to it. */
export interface ShardLimits {
  /** Most bound parameters in one statement. */
  readonly maxParameters: number;
  /**
   * Largest encoded record body the database accepts, in bytes (e.g. MySQL's
   * `max_allowed_packet` less the statement's own size), if it has such a
   * limit. An adapter that learns it on connecting may set it then: core reads
   * it after the shard's first round trip, before writing a record.
   */
  readonly maxBodyBytes?: number;
}

/**
 * A record to store, and the condition it is stored on: what the writer
 * expects stored under the row's id now.
 *
 * - `0`: nothing. The row is inserted if its id is free (a tombstone counts
 *   as stored).
 * - a version: compare-and-set. The row replaces the record stored at exactly
 *   that version.
 * - `'older'`: apply if newer, as a replica's copy of a version committed
 *   elsewhere is written. The row is inserted if its id is free, else replaces
 *   the stored row if that is older: a lower `version`, or the same version
 *   with a lower `updatedAt` (a stable tie-break between two writes of one
 *   version on different replicas). A stored row of a higher version, or of
 *   the same version and the same or a later `updatedAt`, stays as it is.
 *   Tombstones are rows like any other, either way. The note and `pending`
 *   are the row's, as for the other writes.
 *
 * The writes of one commit are either all `'older'` or none; `'older'`
 * writes have distinct ids. A commit that breaks either rule is refused with
 * a `ValidationError` before anything is written.
 */
export interface RecordWrite {
  readonly row: RecordRow;
  readonly expected: number | 'older';
}

/** Index rows of one index table, each tagged with the version of the record that produced it. */
export interface IndexRows {
  readonly table: IndexTableSpec;
  readonly rows: readonly IndexRow[];
}

/**
 * The work of {@link Shard.commit}: records to insert, compare-and-set or apply if newer, and,
 * for each record written, its index rows on this shard and its history row.
 * Rows and history of a record whose write does not happen are not written.
 */
export interface Commit {
  readonly table: EntityTableSpec;
  readonly writes: readonly RecordWrite[];
  /** Rows to write idempotently (an existing key keeps the larger version tag). */
  readonly put?: readonly IndexRows[];
  /** Rows to delete where the stored tag is older than the row's `version`. */
  readonly delete?: readonly IndexRows[];
  /** When set, a version row in this history table for every record written. */
  readonly history?: HistoryTableSpec;
}

/** Options of {@link Shard.getRecords}. */
export interface ReadRecords {
  /** Whether to read each record's note (default true). */
  readonly note?: boolean;
}

/** Options of {@link Shard.scanRecords}. */
export interface ScanRecords {
  /** Start after this id (ids compare by code point). */
  readonly after?: string;
  readonly limit: number;
  /** Only records whose note is set (found through the `(pending, id)` index). */
  readonly notes?: boolean;
}

/** A record's note to clear: the record's id and the version whose note it is. */
export interface NoteRef {
  readonly id: string;
  readonly version: number;
}

/**
 * A database that holds tables of entities and indices: what an adapter
 * implements (`libsqlShard`, `postgresShard`, `mysqlShard`), usually as a
 * driver and a dialect over `@waffle/sql`. Values are always bound
 * parameters; identifiers were validated by core and are quoted by the
 * adapter. Every failure is a `WaffleError`: `ShardUnavailableError` when the
 * database cannot be reached, else `QueryError` with the SQL and parameters.
 * The contract is specified once, by `@waffle/testkit`'s `shardContract` suite.
 */
export interface Shard {
  /** A name for messages: dialect and location, never a password. */
  readonly name: string;
  readonly limits: ShardLimits;
  /** Creates the tables that do not exist yet, and the metadata table. Idempotent. */
  createTables(tables: readonly TableSpec[]): Promise<void>;
  /**
   * Drops the tables that exist, with their metadata entries (the entry keyed
   * by each table's name), the entries first. Other tables and entries stay.
   * Idempotent.
   */
  dropTables(tables: readonly TableSpec[]): Promise<void>;
  /** Reads metadata entries; absent keys are absent from the map (also when the metadata table does not exist). */
  readMeta(keys: readonly string[]): Promise<Map<string, string>>;
  /** Stores `value` under `key` unless the key exists; returns the value stored now. */
  writeMeta(key: string, value: string): Promise<string>;
  /** Replaces the value of `key` with `value` if it is `expected` now; returns whether it did. */
  replaceMeta(key: string, expected: string, value: string): Promise<boolean>;
  /**
   * Reads the records with the given ids (any order; missing ids are absent);
   * with `note: false`, without their notes (`note` absent), for reads that do not write.
   */
  getRecords(table: EntityTableSpec, ids: readonly string[], options?: ReadRecords): Promise<RecordRow[]>;
  /** Records in ascending id order. */
  scanRecords(table: EntityTableSpec, options: ScanRecords): Promise<RecordRow[]>;
  /**
   * Writes records, and the index rows and history of those written, in one
   * atomic unit (one statement, batch or transaction); returns per write, in
   * order, whether it happened (false, changing nothing for it, when the id
   * exists for an insert, the stored version differs for an update, or the
   * stored row is not older for an `'older'` write: see {@link RecordWrite}).
   */
  commit(work: Commit): Promise<boolean[]>;
  /**
   * Sets to null the notes of the records stored at the given versions; returns
   * per note, in order, whether its record was at that version during the
   * call (so the note is gone: cleared, or replaced since by a newer write's);
   * false when the record was at another version or absent. In one statement
   * or few; where it takes two (a read, then the update), the read goes
   * first, so that a write committing between them cannot make a note this
   * call cleared read as overtaken.
   */
  clearNotes(table: EntityTableSpec, notes: readonly NoteRef[]): Promise<boolean[]>;
  /** The stored versions of `id` in ascending version order (only `version` when given). */
  getHistory(table: HistoryTableSpec, id: string, version?: number): Promise<HistoryRow[]>;
  /** Writes index rows idempotently: a row whose key exists keeps the larger of the two version tags. */
  putIndexRows(table: IndexTableSpec, rows: readonly IndexRow[]): Promise<void>;
  /** Deletes each row's key where the stored version tag is older than the row's `version`. */
  deleteIndexRows(table: IndexTableSpec, rows: readonly IndexRow[]): Promise<void>;
  /** Reads index rows matching `query.where`, in `query.orderBy` order, at most `query.limit`. */
  queryIndex(table: IndexTableSpec, query: IndexQuery): Promise<IndexHit[]>;
  /** The number of distinct record ids among the index rows matching `where` (all rows when undefined), in one statement. */
  countIndex(table: IndexTableSpec, where: Predicate | undefined): Promise<number>;
  /** The live records of an entity table (deletions' tombstones left out), or the rows of an index table, in one statement. */
  countRows(table: EntityTableSpec | IndexTableSpec): Promise<number>;
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
  /**
   * The value's JSON form, which `JSON.stringify` writes and `fromJSON`
   * reads back exactly as `decode(encode(value))` would (what `Entity.export`
   * writes as each record's `value`); throws `SerializationError` for a value
   * the codec cannot represent. Optional for serializers of your own, needed
   * by export and import; every waffle serializer has it.
   */
  toJSON?(value: unknown): unknown;
  /**
   * The value of a JSON form made by `toJSON` (after `JSON.stringify` and
   * `JSON.parse`); throws `SerializationError` for a form it cannot read.
   * Needed by `Entity.import`.
   */
  fromJSON?(json: unknown): unknown;
}

/** What a shard strategy sees of a row: the entity id and, for index rows, the column values by name. */
export interface ShardKey {
  readonly id: string;
  readonly row?: Readonly<Record<string, ColumnValue>>;
}

/**
 * Maps keys to shards. Entities use it with the record id, indices with each
 * index row. Custom strategies implement the same interface; they may leave
 * out `replicas` and `replicasOf` (one shard per key).
 */
export interface ShardStrategy {
  readonly shards: readonly Shard[];
  /**
   * A stable description stored on every shard by `create()` (e.g.
   * `primary-key:4096:3`, or `primary-key:4096:3:replicas=2` with 2 replicas),
   * so data opened with another layout is refused.
   */
  readonly layout: string;
  /** Index columns the strategy reads from rows (checked to exist when an index uses it). */
  readonly columns?: readonly string[];
  /**
   * How many distinct shards hold each key (an integer from 1 to
   * `shards.length`); absent means 1, as for a custom strategy written before
   * replicas existed. Include it in `layout` when it is more than 1.
   */
  readonly replicas?: number;
  /** The position in `shards` of the shard that holds `key` (with replicas, the first of its preference list). */
  shardOf(key: ShardKey): number;
  /**
   * The preference list of `key`: `replicas` distinct positions, `shardOf(key)`
   * first. Absent means `[shardOf(key)]`; needed when `replicas` is more than
   * 1, and then placing as waffle's strategies do (the owner, then the
   * positions after it, wrapping around).
   */
  replicasOf?(key: ShardKey): readonly number[];
  /**
   * Positions of the shards that can hold rows matching `where` (all when
   * unsure); with replicas, every replica of the buckets concerned.
   */
  shardsFor(where: Predicate | undefined): number[];
}
