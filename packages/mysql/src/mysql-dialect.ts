/**
 * MySQL's and MariaDB's dialect of waffle's operations: InnoDB tables and
 * their key limits, values as mysql2 binds them, and the statements that read
 * differently here: upserts (`INSERT … ON DUPLICATE KEY UPDATE`), record
 * inserts without RETURNING, deletes of index rows through a joined derived
 * table, unique keys of nullable columns through a hash, and batches that fit
 * in `max_allowed_packet`. Everything else is `@waffle/sql`'s.
 *
 * Text and ids are stored as VARBINARY (their UTF-8 bytes): binary strings
 * compare byte by byte, which is code point order, and never pad, so `'a'`,
 * `'a '` and `'A'` are three keys, on MySQL and MariaDB alike (utf8mb4_bin is
 * a PAD SPACE collation on both).
 */
import { ValidationError } from '@waffle/core';
import {
  type ColumnKind,
  type ColumnValue,
  type Commit,
  type HistoryRow,
  INDEX_ID_COLUMN,
  INDEX_VERSION_COLUMN,
  type IndexRow,
  type IndexTableSpec,
  META_TABLE,
  type RecordRow,
  type TableSpec,
} from '@waffle/core/adapter';
import {
  at,
  type CasCommit,
  type CommitMode,
  type Driver,
  type EntityTable,
  HISTORY_COLUMNS,
  type HistoryTable,
  historyValues,
  type IndexTable,
  keyOf,
  qualified,
  type Render,
  type Runner,
  recordValues,
  rowsPerStatement,
  SqlDialect,
  type Statement,
  type TableCache,
  tuples,
  type ValueReader,
  WRITE_COLUMNS,
} from '@waffle/sql';
import { type SQL, sql } from 'drizzle-orm';
import { MySqlDialect as DrizzleMySqlDialect } from 'drizzle-orm/mysql-core';
import {
  backoff,
  DEADLOCK_RETRIES,
  ER_DUP_ENTRY,
  ER_LOCK_DEADLOCK,
  errnoOf,
  type ServerInfo,
} from './mysql-driver.js';
import { keyHash, type StorageValue, toBuffer, toStorage, utf8Length, valueReader } from './mysql-values.js';

/** InnoDB's longest key (DYNAMIC rows, 16 KiB pages, the default of MySQL 5.7+ and MariaDB 10.2+). */
export const KEY_BYTES = 3072;
/** Most columns in one MySQL key. */
export const MAX_KEY_PARTS = 16;
/** Longest record id in bytes (core's limit). */
export const ID_BYTES = 255;
/** The NOT NULL shadow key of index tables with nullable columns: SHA-256 of the key values. */
export const KEY_HASH_COLUMN = '__key';
/** The ordered, covering secondary key of index tables with nullable columns. */
export const ORDER_KEY = '__waffle_order';
/** The key of entity tables on (`pending`, `id`), through which notes are found. */
export const PENDING_KEY = '__waffle_pending';
/** Bound parameters per prepared statement: the protocol's limit. */
export const MAX_PARAMETERS = 65535;

/** Ids per `IN` list: MySQL's range optimizer gives up on very long lists (`range_optimizer_max_mem_size`). */
const MAX_IDS_PER_STATEMENT = 8192;
/** The packet size assumed before the server said its own (it says it at the shard's first round trip). */
const DEFAULT_PACKET = 4 * 1024 * 1024;

/** Key bytes of the fixed-size kinds. */
const FIXED_BYTES: Partial<Record<ColumnKind, number>> = {
  integer: 4,
  bigint: 8,
  real: 8,
  boolean: 1,
  timestamp: 8,
};

const ident = (name: string) => sql.identifier(name) as unknown as SQL;
const list = (items: readonly SQL[]) => sql.join(items as SQL[], sql`, `);
const TABLE_OPTIONS = sql.raw('ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC');
/** The type of `body` and `note`. */
const TEXT_TYPE = sql.raw('LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin');
const V = ident('__waffle_v');
const NEW = ident('__new');

/** MySQL type of each column kind (text and bytes get their length per table). */
function sqlType(kind: ColumnKind, maxBytes: number | undefined): string {
  switch (kind) {
    case 'integer':
      return 'INT';
    case 'bigint':
      return 'BIGINT';
    case 'real':
      return 'DOUBLE';
    case 'boolean':
      return 'TINYINT(1)';
    case 'timestamp':
      return 'BIGINT';
    default:
      return `VARBINARY(${maxBytes})`;
  }
}

/**
 * The longest text or bytes value each variable-length column of an index can
 * hold: the key's 3072 bytes, less `__id` (255), `__version` (8) and the
 * fixed-size columns, shared equally among the text and bytes columns.
 */
export function variableColumnBytes(kinds: readonly ColumnKind[]): number | undefined {
  const variable = kinds.filter((k) => FIXED_BYTES[k] === undefined).length;
  if (variable === 0) return undefined;
  const fixed = kinds.reduce((sum, k) => sum + (FIXED_BYTES[k] ?? 0), 0);
  return Math.floor((KEY_BYTES - ID_BYTES - 8 - fixed) / variable);
}

/** Refuses an index MySQL cannot key. */
export function checkIndexSpec(spec: IndexTableSpec): void {
  const nullable = spec.columns.some((c) => c.nullable);
  // The key is (columns…, __id), or (columns…, __id, __version) for the covering key of nullable tables.
  const most = MAX_KEY_PARTS - (nullable ? 2 : 1);
  if (spec.columns.length > most) {
    throw new ValidationError(
      `Index "${spec.name}" has ${spec.columns.length} columns; a MySQL key holds ${MAX_KEY_PARTS} columns, which leaves room for at most ${most} index columns${nullable ? ' when some are nullable' : ''}`,
    );
  }
  const seen = new Set<string>();
  for (const c of spec.columns) {
    const folded = c.name.toLowerCase();
    if (seen.has(folded)) {
      throw new ValidationError(
        `Index "${spec.name}": column names differ only by case ("${c.name}"), which MySQL does not distinguish`,
      );
    }
    seen.add(folded);
  }
}

/**
 * The number of rows a statement is built for: exact up to 8, then the next
 * power of two, at most `max`. Few shapes mean few prepared statements per
 * connection (`max_prepared_stmt_count` counts them over the whole server);
 * a short batch is padded to its shape with {@link pad}.
 */
export function shapeSize(count: number, max: number): number {
  if (count <= 8) return count;
  let size = 16;
  while (size < count) size *= 2;
  return Math.min(size, max);
}

/** Repeats the smallest item until the batch fills its shape (harmless in IN lists, upserts and deletes). */
export function pad<T>(batch: readonly T[], max: number, bytesOf: (item: T) => number): T[] {
  const size = shapeSize(batch.length, max);
  if (size === batch.length) return batch as T[];
  let smallest = batch[0] as T;
  for (const item of batch) if (bytesOf(item) < bytesOf(smallest)) smallest = item;
  const out = batch.slice();
  while (out.length < size) out.push(smallest);
  return out;
}

/**
 * Splits items into batches of at most `maxRows` items and about `maxBytes`
 * bytes; each batch is filled to half its byte budget, so it stays within it
 * once padded.
 */
export function batches<T>(
  items: readonly T[],
  maxRows: number,
  maxBytes: number,
  bytesOf: (item: T) => number,
): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = bytesOf(item);
    if (current.length > 0 && (current.length >= maxRows || bytes + size > maxBytes / 2)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/**
 * The rows of the next INSERT for `count` records: all of them below 32, a
 * full statement of `most`, else `count` rounded down to its five highest
 * bits (500 → 496, then 4). Rows of records cannot be padded (a repeated id is
 * a duplicate), so a batch runs as at most two statements of these shapes,
 * and a connection prepares 16 shapes per doubling of the count at most.
 */
export function insertShape(count: number, most: number): number {
  if (count >= most) return most;
  if (count < 32) return count;
  const low = Math.floor(Math.log2(count)) - 4;
  return Math.floor(count / 2 ** low) * 2 ** low;
}

/** An upper bound of the bytes a value takes in a statement's execute packet. */
function boundBytes(value: unknown): number {
  if (typeof value === 'string')
    return 11 + (value.length <= 4096 ? value.length * 3 : Buffer.byteLength(value));
  if (value instanceof Uint8Array) return 11 + value.byteLength;
  return 19;
}

/** Values bound for one row of a multi-row statement, with an upper bound of their bytes. */
interface Bound<T> {
  readonly item: T;
  readonly params: readonly unknown[];
  readonly bytes: number;
}

function bound<T>(item: T, params: readonly unknown[]): Bound<T> {
  let bytes = 0;
  for (const value of params) bytes += boundBytes(value);
  return { item, params, bytes };
}

const boundSize = (b: { readonly bytes: number }) => b.bytes;

/** An index row in bound form. */
interface EncodedRow {
  readonly values: readonly StorageValue[];
  readonly id: string;
  readonly version: number;
  /** Identifies the key (columns and id), and orders rows so that concurrent writers lock keys in one order. */
  readonly key: string;
  /** An upper bound of the bytes the row's values take in a statement. */
  readonly bytes: number;
}

/** What the dialect reads of its driver: the server's limits, known after the first round trip. */
export interface ServerSource {
  readonly server: ServerInfo | undefined;
  inspect(): Promise<ServerInfo>;
}

/** What MySQL needs to know of an index table beyond the engine's description. */
interface IndexLayout {
  /** For text and bytes columns: the longest value, in bytes, the key can hold. */
  readonly maxBytes: number | undefined;
  /** True when some column is nullable, so that rows are keyed by (`__id`, `__key`). */
  readonly hashed: boolean;
}

const drizzle = new DrizzleMySqlDialect();

/** MySQL 8 and MariaDB 10.6+, through mysql2. */
export class MysqlDialect extends SqlDialect {
  readonly name = 'mysql';
  readonly maxParameters = MAX_PARAMETERS;
  /** InnoDB's consistent reads would let a gated batch write rows of a record it did not write. */
  readonly commitMode: CommitMode = 'transaction';
  /** MySQL has no `UPDATE … RETURNING`. */
  override readonly returning = false;
  readonly render: Render = (query) => drizzle.sqlToQuery(query);
  readonly read: ValueReader = valueReader;
  readonly #source: ServerSource;
  readonly #layouts = new WeakMap<IndexTable, IndexLayout>();

  constructor(source: ServerSource) {
    super();
    this.#source = source;
  }

  /** The server's packet limit, or a safe guess before it is known. */
  get #maxPacket(): number {
    return this.#source.server?.maxPacket ?? DEFAULT_PACKET;
  }

  /** Bytes a batch's values may take: the packet limit less room for the statement around them. */
  get #batchBytes(): number {
    return Math.max(64 * 1024, this.#maxPacket - 64 * 1024);
  }

  // ---- values

  bind(kind: ColumnKind, value: ColumnValue): unknown {
    return toStorage(kind, value);
  }

  override bindBytes(bytes: Uint8Array): unknown {
    return toBuffer(bytes);
  }

  /** 64-bit integers are read as text, so that no precision is lost whatever the pool's number settings. */
  override selectColumn(kind: ColumnKind, column: SQL): SQL {
    return kind === 'bigint' ? sql`CAST(${column} AS CHAR)` : column;
  }

  /** Bigints are bound as decimal strings: cast to SIGNED, they compare as 64-bit integers, not as doubles. */
  override typed(kind: ColumnKind | 'id' | 'version', placeholder: SQL): SQL {
    return kind === 'bigint' ? sql`CAST(${placeholder} AS SIGNED)` : placeholder;
  }

  override sameValue(a: SQL, b: SQL): SQL {
    return sql`${a} <=> ${b}`;
  }

  override greatest(a: SQL, b: SQL): SQL {
    return sql`GREATEST(${a}, ${b})`;
  }

  /** A row count as a decimal string: MySQL 8 refuses a double (mysql2's type for numbers) in LIMIT. */
  protected override bindLimit(limit: number): unknown {
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new ValidationError(`limit must be a non-negative integer, got ${limit}`);
    }
    return String(limit);
  }

  // ---- tables

  /** Every spec is checked before the first statement runs. */
  override async createTables(runner: Runner, specs: readonly TableSpec[]): Promise<void> {
    for (const spec of specs) if (spec.kind === 'index') checkIndexSpec(spec);
    await super.createTables(runner, specs);
  }

  createTable(spec: TableSpec): SQL[] {
    if (spec.kind === 'entity') {
      return [
        sql`CREATE TABLE IF NOT EXISTS ${ident(spec.name)} (${recordColumns()}, ${ident('note')} ${TEXT_TYPE} NULL, ${ident('pending')} TINYINT NULL, PRIMARY KEY (${ident('id')}), KEY ${ident(PENDING_KEY)} (${ident('pending')}, ${ident('id')})) ${TABLE_OPTIONS}`,
      ];
    }
    if (spec.kind === 'history') {
      return [
        sql`CREATE TABLE IF NOT EXISTS ${ident(spec.name)} (${recordColumns()}, ${ident('deleted')} TINYINT NOT NULL, PRIMARY KEY (${ident('id')}, ${ident('version')})) ${TABLE_OPTIONS}`,
      ];
    }
    checkIndexSpec(spec);
    const maxBytes = variableColumnBytes(spec.columns.map((c) => c.kind));
    const columns = spec.columns.map(
      (c) =>
        sql`${ident(c.name)} ${sql.raw(sqlType(c.kind, maxBytes))} ${sql.raw(c.nullable ? 'NULL' : 'NOT NULL')}`,
    );
    columns.push(sql`${ident(INDEX_ID_COLUMN)} VARBINARY(${sql.raw(String(ID_BYTES))}) NOT NULL`);
    columns.push(sql`${ident(INDEX_VERSION_COLUMN)} BIGINT NOT NULL`);
    const names = spec.columns.map((c) => ident(c.name));
    if (spec.columns.some((c) => c.nullable)) {
      // MySQL's unique keys let NULLs repeat: rows are keyed by the id and a hash of the values,
      // and a covering key serves the index order.
      columns.push(sql`${ident(KEY_HASH_COLUMN)} BINARY(32) NOT NULL`);
      columns.push(sql`PRIMARY KEY (${ident(INDEX_ID_COLUMN)}, ${ident(KEY_HASH_COLUMN)})`);
      columns.push(
        sql`KEY ${ident(ORDER_KEY)} (${list([...names, ident(INDEX_ID_COLUMN), ident(INDEX_VERSION_COLUMN)])})`,
      );
    } else {
      columns.push(sql`PRIMARY KEY (${list([...names, ident(INDEX_ID_COLUMN)])})`);
    }
    return [sql`CREATE TABLE IF NOT EXISTS ${ident(spec.name)} (${list(columns)}) ${TABLE_OPTIONS}`];
  }

  createMetaTable(): SQL {
    return sql`CREATE TABLE IF NOT EXISTS ${ident(META_TABLE)} (${ident('key')} VARBINARY(255) NOT NULL, ${ident('value')} TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, PRIMARY KEY (${ident('key')})) ${TABLE_OPTIONS}`;
  }

  override metaTableExists(): SQL {
    return sql`SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ${sql.raw(`'${META_TABLE}'`)}`;
  }

  protected override insertMetaStatement(): SQL {
    return sql`INSERT INTO ${ident(META_TABLE)} (${ident('key')}, ${ident('value')}) VALUES (${at(0)}, ${at(1)}) ON DUPLICATE KEY UPDATE ${ident('key')} = ${ident('key')}`;
  }

  // ---- records

  /** Ids in lists within the range optimizer's and the packet's limits, padded to few shapes. */
  protected override idChunks(ids: readonly string[]): (readonly string[])[] {
    if (ids.length <= 8) return ids.length === 0 ? [] : [ids];
    const most = MAX_IDS_PER_STATEMENT;
    const idBytes = (id: string) => 11 + id.length * 3;
    return batches(ids, most, this.#batchBytes, idBytes).map((batch) => pad(batch, most, idBytes));
  }

  /** `INSERT INTO t (…) VALUES (…), …`: no RETURNING; see {@link insertRecords}. */
  protected override insertStatement(t: EntityTable, records: readonly RecordRow[]): Statement {
    const template = t.templates.get(
      `insert:${records.length}`,
      () =>
        sql`INSERT INTO ${t.name} (${list(WRITE_COLUMNS.map(ident))}) VALUES ${tuples(records.length, WRITE_COLUMNS.length)}`,
    );
    const values: unknown[] = [];
    for (const record of records) values.push(...recordValues(record, toBuffer));
    return template.bind(values);
  }

  /** Inserts one record unless its id exists; returns whether it did. */
  async #insertOne(runner: Runner, t: EntityTable, record: RecordRow): Promise<boolean> {
    try {
      await runner.run(this.insertStatement(t, [record]));
      return true;
    } catch (error) {
      // The primary key is the table's only unique key: a duplicate entry is the id. Nothing else is hidden.
      if (errnoOf(error) === ER_DUP_ENTRY) return false;
      throw error;
    }
  }

  /**
   * Inserts records with distinct ids; returns, in order, whether each was
   * inserted (false, leaving the stored row as it is, where the id exists).
   * Records go in as multi-row INSERTs within the parameter limit and the
   * packet's byte budget. A statement that meets an existing id fails as a
   * whole (ER_DUP_ENTRY; InnoDB rolls back the statement, not the
   * transaction), and its records are then inserted one by one. `INSERT
   * IGNORE` would turn other errors (a truncated value, a NULL) into warnings.
   */
  override async insertRecords(
    runner: Runner,
    t: EntityTable,
    records: readonly RecordRow[],
  ): Promise<boolean[]> {
    if (records.length === 1) return [await this.#insertOne(runner, t, records[0]!)];
    if (this.#source.server === undefined) await this.#source.inspect();
    const most = rowsPerStatement(WRITE_COLUMNS.length, this.maxParameters);
    const inserted: boolean[] = [];
    const all = records.map((r) => bound(r, recordValues(r, toBuffer)));
    // batches() fills a batch to half the bytes it is given, leaving room for padding; these are not padded.
    for (const batch of batches(all, most, 2 * this.#batchBytes, boundSize)) {
      for (let start = 0; start < batch.length; ) {
        const rows = insertShape(batch.length - start, most);
        const chunk = batch.slice(start, start + rows);
        start += rows;
        if (rows === 1) {
          inserted.push(await this.#insertOne(runner, t, chunk[0]!.item));
          continue;
        }
        try {
          await runner.run(
            this.insertStatement(
              t,
              chunk.map((b) => b.item),
            ),
          );
          for (let i = 0; i < rows; i++) inserted.push(true);
        } catch (error) {
          // Some id of the chunk exists, and nothing of the chunk was written.
          if (errnoOf(error) !== ER_DUP_ENTRY) throw error;
          for (const b of chunk) inserted.push(await this.#insertOne(runner, t, b.item));
        }
      }
    }
    return inserted;
  }

  /**
   * Replaces a record stored at `expected`; returns whether it did. MySQL
   * counts changed rows, not matched ones, unless the connection sets
   * `CLIENT_FOUND_ROWS` (mysql2 does by default): a new row equal to the
   * stored one changes nothing, so a zero count with an unchanged version is
   * checked against the stored version.
   */
  override async updateRecord(
    runner: Runner,
    t: EntityTable,
    record: RecordRow,
    expected: number,
  ): Promise<boolean> {
    const result = await runner.run(this.updateStatement(t, record, expected));
    if (result.changes > 0) return true;
    // A write that changes the version changes the row: 0 means no match.
    if (record.version !== expected) return false;
    const [current] = await this.getRecords(runner, t, [record.id]);
    return current?.version === expected;
  }

  /**
   * Commits compare-and-set writes (see {@link SqlDialect.commit}), again
   * from the start when InnoDB chose the transaction as a deadlock victim and
   * rolled it back: a commit of several records and a `clearNotes` of the
   * same records (an async write's background work) lock their rows in
   * different orders.
   */
  override async commit(driver: Driver, tables: TableCache, work: CasCommit): Promise<boolean[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await super.commit(driver, tables, work);
      } catch (error) {
        if (errnoOf(error) !== ER_LOCK_DEADLOCK || attempt >= DEADLOCK_RETRIES) throw error;
        await backoff(attempt);
      }
    }
  }

  /**
   * Commits `'older'` writes (see {@link SqlDialect.commitNewer}), again from
   * the start when InnoDB chose the transaction as a deadlock victim and
   * rolled it back: writers of one new id wait on its insert with shared locks
   * that their updates then need exclusive.
   */
  override async commitNewer(driver: Driver, tables: TableCache, work: Commit): Promise<boolean[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await super.commitNewer(driver, tables, work);
      } catch (error) {
        if (errnoOf(error) !== ER_LOCK_DEADLOCK || attempt >= DEADLOCK_RETRIES) throw error;
        await backoff(attempt);
      }
    }
  }

  /**
   * Stores each record (distinct ids) where its id is free or the stored row
   * is older; returns per record whether it did. MySQL has no RETURNING and
   * counts one affected row per upsert whatever it did, so: the stored
   * versions are read first; the absent ids are inserted ({@link insertRecords});
   * each record the read shows older, or whose insert met an id written
   * meanwhile, is replaced by an `UPDATE` whose WHERE holds the condition
   * (so a row changed since the read is judged as it is now), one row each.
   */
  override async applyRecords(
    runner: Runner,
    t: EntityTable,
    records: readonly RecordRow[],
  ): Promise<boolean[]> {
    const stored = new Map<string, { version: number; updatedAt: number }>();
    for (const chunk of this.idChunks(records.map((r) => r.id))) {
      const template = t.templates.get(`apply-read:${chunk.length}`, () => {
        const c = (name: string) => qualified(t.spec.name, name);
        return sql`SELECT ${c('id')}, ${c('version')}, ${c('updated_at')} FROM ${t.name} WHERE ${c('id')} IN (${list(chunk.map((_, i) => at(i)))})`;
      });
      for (const row of (await runner.run(template.bind(chunk))).rows) {
        stored.set(this.read.text(row[0]), {
          version: this.read.number(row[1]),
          updatedAt: this.read.number(row[2]),
        });
      }
    }
    const applied: boolean[] = records.map(() => false);
    const absent = records.flatMap((r, i) => (stored.has(r.id) ? [] : [i]));
    const inserted =
      absent.length === 0
        ? []
        : await this.insertRecords(
            runner,
            t,
            absent.map((i) => records[i]!),
          );
    const update = new Set<number>();
    absent.forEach((i, k) => {
      if (inserted[k]) applied[i] = true;
      else update.add(i);
    });
    records.forEach((r, i) => {
      const s = stored.get(r.id);
      if (s && (s.version < r.version || (s.version === r.version && s.updatedAt < r.updatedAt)))
        update.add(i);
    });
    for (const i of [...update].sort((a, b) => a - b)) {
      applied[i] = (await runner.run(this.#applyUpdate(t, records[i]!))).changes > 0;
    }
    return applied;
  }

  /**
   * `UPDATE t SET … WHERE id = ? AND <stored row older>`: a row it matches
   * differs in version or time, so it counts whether or not the connection
   * counts found rows.
   */
  #applyUpdate(t: EntityTable, record: RecordRow): Statement {
    const n = WRITE_COLUMNS.length;
    const template = t.templates.get('apply-update', () => {
      const sets = WRITE_COLUMNS.slice(1).map((c, i) => sql`${ident(c)} = ${at(i + 1)}`);
      return sql`UPDATE ${t.name} SET ${list(sets)} WHERE ${ident('id')} = ${at(0)} AND ${this.storedOlder(t, at(n), at(n + 1))}`;
    });
    return template.bind([...recordValues(record, toBuffer), record.version, record.updatedAt]);
  }

  /**
   * `UPDATE (SELECT ? AS v0, ? AS v1 UNION ALL …) AS v STRAIGHT_JOIN t ON
   * t.id = v.v0 AND t.version = v.v1 SET note = NULL, pending = NULL`: each
   * note a point of the primary key (a long OR list would defeat the range
   * optimizer).
   */
  protected override clearStatement(t: EntityTable, n: number): SQL {
    const id = qualified(t.spec.name, 'id');
    const on = sql`${id} = ${sql`${V}.${ident('v0')}`} AND ${qualified(t.spec.name, 'version')} = ${sql`${V}.${ident('v1')}`}`;
    return positional(
      sql`UPDATE ${derivedTable(n, ['id', 'version'])} STRAIGHT_JOIN ${t.name} ON ${on} SET ${qualified(t.spec.name, 'note')} = NULL, ${qualified(t.spec.name, 'pending')} = NULL`,
      this.render,
    );
  }

  // ---- history

  /** Inserts versions unless (id, version) exists, in statements that fit the packet. */
  override async insertHistory(runner: Runner, t: HistoryTable, rows: readonly HistoryRow[]): Promise<void> {
    if (rows.length === 1) {
      await runner.run(this.historyStatement(t, rows));
      return;
    }
    const most = rowsPerStatement(HISTORY_COLUMNS.length, this.maxParameters);
    const all = rows.map((r) => bound(r, historyValues(r, toBuffer)));
    for (const batch of batches(all, most, 2 * this.#batchBytes, boundSize)) {
      for (let start = 0; start < batch.length; ) {
        const n = insertShape(batch.length - start, most);
        await runner.run(
          this.historyStatement(
            t,
            batch.slice(start, start + n).map((b) => b.item),
          ),
        );
        start += n;
      }
    }
  }

  /** `INSERT … ON DUPLICATE KEY UPDATE id = id`: a version stored already stays as it is; other errors stay errors. */
  protected override historyStatement(t: HistoryTable, rows: readonly HistoryRow[]): Statement {
    const template = t.templates.get(
      `insert:${rows.length}`,
      () =>
        sql`INSERT INTO ${t.name} (${list(HISTORY_COLUMNS.map(ident))}) VALUES ${tuples(rows.length, HISTORY_COLUMNS.length)} ON DUPLICATE KEY UPDATE ${ident('id')} = ${ident('id')}`,
    );
    const values: unknown[] = [];
    for (const row of rows) values.push(...historyValues(row, toBuffer));
    return template.bind(values);
  }

  // ---- index rows

  #layout(t: IndexTable): IndexLayout {
    let found = this.#layouts.get(t);
    if (found === undefined) {
      found = { maxBytes: variableColumnBytes(t.columns.map((c) => c.kind)), hashed: t.nullable };
      this.#layouts.set(t, found);
    }
    return found;
  }

  /**
   * Checks rows against the table and binds them; `put` refuses values longer
   * than the key holds. One row per key, with the highest version, sorted by
   * key: a statement never meets a key twice, and writers lock keys in one order.
   */
  #encode(t: IndexTable, rows: readonly IndexRow[], put: boolean): EncodedRow[] {
    const { maxBytes, hashed } = this.#layout(t);
    const n = t.columns.length;
    const byKey = new Map<string, EncodedRow>();
    for (const row of rows) {
      if (row.values.length !== n) {
        throw new ValidationError(
          `Index "${t.spec.name}" has ${n} columns, but a row for "${row.id}" has ${row.values.length} values`,
        );
      }
      const values: StorageValue[] = new Array(n);
      let bytes = 11 + row.id.length * 3 + 19 + (hashed ? 43 : 0);
      for (let i = 0; i < n; i++) {
        const c = t.columns[i]!;
        const value = toStorage(c.kind, row.values[i]!);
        if (put && maxBytes !== undefined && value !== null && FIXED_BYTES[c.kind] === undefined) {
          const size = typeof value === 'string' ? utf8Length(value, maxBytes) : (value as Buffer).length;
          if (size > maxBytes) {
            throw new ValidationError(
              `Index "${t.spec.name}" column "${c.name}": a ${c.kind} value of ${size} bytes (record "${row.id}") is longer than the ${maxBytes} bytes this MySQL index can hold (its key is limited to 3072 bytes, shared by its text and bytes columns)`,
            );
          }
        }
        values[i] = value;
        bytes += boundBytes(value);
      }
      const key = keyOf([...values, row.id]);
      const seen = byKey.get(key);
      if (seen === undefined || seen.version < row.version)
        byKey.set(key, { values, id: row.id, version: row.version, key, bytes });
    }
    const out = [...byKey.values()];
    if (out.length > 1) out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return out;
  }

  /** Makes sure the server's limits are known before statements are cut to them. */
  async #ready(): Promise<void> {
    if (this.#source.server === undefined) await this.#source.inspect();
  }

  override async putIndexRows(driver: Driver, t: IndexTable, rows: readonly IndexRow[]): Promise<void> {
    await this.#ready();
    return super.putIndexRows(driver, t, rows);
  }

  override async deleteIndexRows(driver: Driver, t: IndexTable, rows: readonly IndexRow[]): Promise<void> {
    await this.#ready();
    return super.deleteIndexRows(driver, t, rows);
  }

  /**
   * Multi-row `INSERT … ON DUPLICATE KEY UPDATE __version = GREATEST(…)`
   * within the parameter and packet limits. A table with nullable columns
   * keys its rows by (`__id`, `__key`), `__key` hashing the column values,
   * so the same upsert keeps its keys unique. Commits here are transactions,
   * never gated batches.
   */
  override putStatements(t: IndexTable, rows: readonly IndexRow[], gate?: unknown): Statement[] {
    if (gate !== undefined) throw new Error('MySQL commits in transactions: index rows are never gated');
    const { hashed } = this.#layout(t);
    const names = [...t.columns.map((c) => c.name), INDEX_ID_COLUMN, INDEX_VERSION_COLUMN];
    if (hashed) names.push(KEY_HASH_COLUMN);
    const most = rowsPerStatement(names.length, this.maxParameters);
    const alias = this.#source.server?.upsertAlias === true;
    const out: Statement[] = [];
    for (const batch of batches(this.#encode(t, rows, true), most, this.#batchBytes, boundSize)) {
      const padded = pad(batch, most, boundSize);
      const template = t.templates.get(`put:${padded.length}:${alias ? 'alias' : 'values'}`, () => {
        const version = ident(INDEX_VERSION_COLUMN);
        // MySQL 8.0.19+ names the proposed row with an alias (VALUES() is deprecated there); MariaDB has only VALUES().
        const proposed = alias ? sql`${NEW}.${version}` : sql`VALUES(${version})`;
        return sql`INSERT INTO ${t.name} (${list(names.map(ident))}) VALUES ${tuples(padded.length, names.length)}${alias ? sql` AS ${NEW}` : sql``} ON DUPLICATE KEY UPDATE ${version} = ${this.greatest(t.version, proposed)}`;
      });
      const params: unknown[] = [];
      for (const row of padded) {
        params.push(...row.values, row.id, row.version);
        if (hashed) params.push(keyHash(row.values));
      }
      out.push(template.bind(params));
    }
    return out;
  }

  /**
   * `DELETE t FROM (SELECT ? AS v0, … UNION ALL SELECT …) AS v STRAIGHT_JOIN t
   * ON key = v.key AND t.__version < v.version`: the rows as a derived table
   * (MySQL has no VALUES list that MariaDB reads too), each joined to its
   * primary key. A table with nullable columns is keyed by (`__id`, `__key`).
   */
  override deleteStatements(t: IndexTable, rows: readonly IndexRow[], gate?: unknown): Statement[] {
    if (gate !== undefined) throw new Error('MySQL commits in transactions: index rows are never gated');
    const { hashed } = this.#layout(t);
    const width = hashed ? 3 : t.columns.length + 2;
    const most = rowsPerStatement(width, this.maxParameters);
    const out: Statement[] = [];
    for (const batch of batches(this.#encode(t, rows, false), most, this.#batchBytes, boundSize)) {
      const padded = pad(batch, most, boundSize);
      const template = t.templates.get(`delete:${padded.length}`, () =>
        padded.length === 1 ? this.#deleteOneStatement(t) : this.#deleteStatement(t, padded.length),
      );
      const params: unknown[] = [];
      for (const row of padded) {
        if (hashed) params.push(row.id, keyHash(row.values), row.version);
        else params.push(...row.values, row.id, row.version);
      }
      out.push(template.bind(params));
    }
    return out;
  }

  /** The key columns of `t`'s rows as deletes bind them: the index columns and `__id`, or (`__id`, `__key`) when hashed. */
  #deleteKey(t: IndexTable): { column: SQL; kind: ColumnKind | 'id' }[] {
    return this.#layout(t).hashed
      ? [
          { column: t.id, kind: 'id' },
          { column: qualified(t.spec.name, KEY_HASH_COLUMN), kind: 'id' },
        ]
      : [...t.columns.map((c) => ({ column: c.sql, kind: c.kind })), { column: t.id, kind: 'id' as const }];
  }

  /**
   * `DELETE FROM t WHERE key = ? AND … AND __version < ?`: one row, by its
   * primary key, without the derived table (which costs MariaDB a third
   * more per delete: ~200 µs against ~145 µs, measured).
   */
  #deleteOneStatement(t: IndexTable): SQL {
    const key = this.#deleteKey(t);
    const on = key.map((k) => sql`${k.column} = ${sql.raw(placeholder(k.kind))}`);
    on.push(sql`${t.version} < ?`);
    return positional(sql`DELETE FROM ${t.name} WHERE ${sql.join(on, sql` AND `)}`, this.render);
  }

  #deleteStatement(t: IndexTable, rows: number): SQL {
    // The key's columns (bigints cast to SIGNED, so that they compare as integers), then the version.
    const key = this.#deleteKey(t);
    const v = (i: number) => sql`${V}.${ident(`v${i}`)}`;
    const on = key.map((k, i) => sql`${k.column} = ${v(i)}`);
    on.push(sql`${t.version} < ${v(key.length)}`);
    const source = derivedTable(rows, [...key.map((k) => k.kind), 'version']);
    return positional(
      sql`DELETE ${t.name} FROM ${source} STRAIGHT_JOIN ${t.name} ON ${sql.join(on, sql` AND `)}`,
      this.render,
    );
  }
}

/** A positional placeholder for a value of `kind`: bigints cast to SIGNED, so that they compare as integers. */
function placeholder(kind: ColumnKind | 'id' | 'version'): string {
  return kind === 'bigint' ? 'CAST(? AS SIGNED)' : '?';
}

/**
 * `(SELECT ? AS v0, ? AS v1, … UNION ALL SELECT ?, ?, … …) AS __waffle_v`:
 * `rows` rows of one placeholder per kind, as a derived table (a VALUES list
 * reads differently on MySQL and MariaDB), bigints cast to SIGNED. Built as
 * text, not drizzle chunks (which take seconds to render for tens of
 * thousands of values): MySQL's placeholders are positional, so a statement
 * whose only values are these binds them in order, as `at(0)`, `at(1)`… would.
 */
function derivedTable(rows: number, kinds: readonly (ColumnKind | 'id' | 'version')[]): SQL {
  const value = kinds.map(placeholder);
  const first = value.map((v, i) => `${v} AS \`v${i}\``).join(', ');
  const rest = ` UNION ALL SELECT ${value.join(', ')}`;
  return sql.raw(`(SELECT ${first}${rest.repeat(rows - 1)}) AS \`__waffle_v\``);
}

/** A template whose values are all in its text as positional placeholders (see {@link derivedTable}), checked. */
function positional(query: SQL, render: Render): SQL {
  if (render(query).params.length > 0)
    throw new Error('A positional statement must hold no other placeholder');
  return query;
}

/** The column definitions entity and history tables share: `id` to `updated_at`. */
function recordColumns(): SQL {
  return sql`${ident('id')} VARBINARY(${sql.raw(String(ID_BYTES))}) NOT NULL, ${ident('body')} ${TEXT_TYPE} NULL, ${ident('bin')} LONGBLOB NULL, ${ident('codec')} VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, ${ident('version')} BIGINT NOT NULL, ${ident('created_at')} BIGINT NOT NULL, ${ident('updated_at')} BIGINT NOT NULL`;
}
