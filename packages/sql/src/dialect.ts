/**
 * The dialect half of an adapter, and waffle's data operations written once
 * over it. {@link SqlDialect} holds every operation a shard performs (read
 * records, insert or compare-and-set them, scan, clear notes, history, index
 * rows, index queries with or without the records' JOIN, metadata); each one
 * builds its statement once per table and shape through drizzle and then only
 * binds values. The statements are standard SQL as SQLite and PostgreSQL read
 * it; a dialect overrides the hooks where its database differs (types and DDL,
 * null-safe keys, upserts, batch binding, placeholders, limits) and, rarely,
 * a whole operation.
 */

import { ValidationError } from '@waffle/core';
import {
  type ColumnKind,
  type ColumnValue,
  type Commit,
  type HistoryRow,
  INDEX_ID_COLUMN,
  INDEX_VERSION_COLUMN,
  type IndexHit,
  type IndexQuery,
  type IndexRow,
  type IndexRows,
  META_TABLE,
  type NoteRef,
  type Predicate,
  type RecordRow,
  type RecordWrite,
  type ScanRecords,
  type TableSpec,
} from '@waffle/core/adapter';
import { type SQL, type SQLChunk, StringChunk, sql } from 'drizzle-orm';
import { chunks, rowsPerStatement } from './batch.js';
import type { Driver, Result, Runner, Statement } from './driver.js';
import { transactionDriver } from './newer.js';
import { compileOrder, compilePredicate, flatten, orderShape } from './predicate.js';
import {
  decodeHistory,
  decodeIndexRow,
  decodeRecord,
  HISTORY_COLUMNS,
  historyValues,
  type RecordLayout,
  recordValues,
  WRITE_COLUMNS,
} from './records.js';
import {
  type EntityTable,
  type HistoryTable,
  type IndexTable,
  qualified,
  type TableCache,
} from './tables.js';
import { at, type Render, Template } from './template.js';
import type { ValueReader } from './values.js';

/** An insert (`expected` 0) or a compare-and-set (`expected` a version): a write of {@link SqlDialect.commit}. */
export type CasWrite = RecordWrite & { readonly expected: number };

/** A commit of inserts and compare-and-sets only (the shard sends `'older'` writes to {@link SqlDialect.commitNewer}). */
export type CasCommit = Commit & { readonly writes: readonly CasWrite[] };

/** How a shard's {@link SqlDialect.commit} makes its writes atomic. */
export type CommitMode =
  /** Every statement in one driver batch: index rows first, each gated on its record's stored version. */
  | 'batch'
  /** An interactive transaction: the records first, then the rows of the records written. */
  | 'transaction';

/**
 * After plain inserts of new records met a stored key, how many of the
 * table's next commits of new records go straight to the gated batch: a
 * workload that saves over existing or deleted ids does not pay a failed
 * batch each time.
 */
export const FULL_AFTER_CONFLICT = 64;

/** The values table of a batch of index rows, and an alias of an index table, in statements. */
export const V = sql.identifier('__waffle_v');
export const T = sql.identifier('__waffle_t');
const ident = (name: string) => sql.identifier(name) as unknown as SQL;
const list = (items: readonly SQL[]) => sql.join(items as SQL[], sql`, `);

/** `(?, ?, …), (…)`: `rows` tuples of `width` placeholders from `first` on. */
export function tuples(rows: number, width: number, first = 0): SQL {
  // One flat list of chunks: drizzle renders nested sql`` per value many times slower on big batches.
  const chunks: SQLChunk[] = [];
  for (let r = 0; r < rows; r++) {
    chunks.push(r === 0 ? OPEN : BETWEEN_TUPLES);
    for (let c = 0; c < width; c++) {
      if (c > 0) chunks.push(COMMA);
      chunks.push(sql.placeholder(String(first + r * width + c)));
    }
  }
  chunks.push(CLOSE);
  return sql.fromList(chunks);
}

const OPEN = new StringChunk('(');
const CLOSE = new StringChunk(')');
const COMMA = new StringChunk(', ');
const BETWEEN_TUPLES = new StringChunk('), (');

/** An index row bound for a statement: the column values, then the id, then the version (then, gated, the expected record version). */
type Encoded = unknown[];

/** A string equal for two encoded keys exactly when their keys are equal (nulls equal each other). */
export function keyOf(values: readonly unknown[]): string {
  let key = '';
  for (const v of values) {
    // Each part is tagged by its first character; strings are quoted, so no part runs into the next.
    if (typeof v === 'string') key += JSON.stringify(v);
    else if (typeof v === 'number') key += `n${v},`;
    else if (v === null || v === undefined) key += 'z,';
    else if (typeof v === 'bigint') key += `b${v},`;
    else if (typeof v === 'boolean') key += v ? 't,' : 'f,';
    else if (v instanceof Uint8Array)
      key += `x${Array.from(v, (b) => b.toString(16).padStart(2, '0')).join('')},`;
    else if (v instanceof Date) key += `d${v.getTime()},`;
    else key += `j${JSON.stringify(v)},`;
  }
  return key;
}

/**
 * The gate of a batch commit's index statements: each row is written only if
 * its record (in `entity`) is stored at the version `expected` gives its id.
 */
export interface Gate {
  readonly entity: EntityTable;
  readonly expected: ReadonlyMap<string, number>;
}

/** The rows of one index table in a commit, gated on their records' expected versions. */
interface GatedRows {
  readonly table: IndexTable;
  readonly rows: readonly IndexRow[];
}

/**
 * A dialect: how waffle's operations read in one database's SQL. Subclasses
 * give the abstract members and override the hooks their database needs.
 */
export abstract class SqlDialect {
  /** The SQL dialect's name, e.g. `sqlite`. */
  abstract readonly name: string;
  /** Most bound parameters in one statement. */
  abstract readonly maxParameters: number;
  /** How {@link commit} makes a commit atomic. */
  abstract readonly commitMode: CommitMode;
  /** Renders drizzle SQL: the dialect's quoting and placeholders. */
  abstract readonly render: Render;
  /** How result values are read back. */
  abstract readonly read: ValueReader;
  /** A column value as the driver binds it (e.g. booleans as 0/1, dates as milliseconds). */
  abstract bind(kind: ColumnKind, value: ColumnValue): unknown;
  /** Statements that create a table if it is missing, in order. */
  abstract createTable(spec: TableSpec): SQL[];
  /** The statement that creates the metadata table `__waffle_meta (key, value)` if it is missing. */
  abstract createMetaTable(): SQL;

  /**
   * Whether a batch commit of new records tries plain inserts first (see
   * {@link SqlDialect.plainStatements}): only where {@link uniqueViolation}
   * tells the failure of a stored key.
   */
  protected readonly insertsFirst: boolean = false;

  /**
   * True when `error`, of a batch of plain inserts, may be a stored key
   * (a unique or primary key violation): the batch wrote nothing and the
   * gated one runs. Saying true for another failure only costs that batch.
   */
  protected uniqueViolation(_error: unknown): boolean {
    return false;
  }

  /** Per entity table whose plain inserts met a stored key, the commits of new records left that take the gated batch. */
  readonly #fullCommits = new WeakMap<EntityTable, number>();

  /** Whether `INSERT … RETURNING` and `UPDATE … RETURNING` exist. */
  readonly returning: boolean = true;
  /** Whether ORDER BY needs `NULLS FIRST`/`LAST` to put nulls before every value. */
  readonly explicitNulls: boolean = false;
  /**
   * Whether one column can carry a text or a binary body as it is, so that
   * reads select `coalesce(body, bin)` instead of both (SQLite's dynamic
   * typing): one column less per record read, which a driver pays per row.
   */
  readonly foldsBody: boolean = false;

  /**
   * The record columns a statement on `t` selects, in {@link decodeRecord}'s
   * order for its layout: all of them, or, `joined`, neither id nor note;
   * `note: false` leaves the note out of a full list too.
   */
  protected recordFields(t: EntityTable, joined: boolean, note = !joined): SQL {
    const c = (name: string) => qualified(t.spec.name, name);
    const fields: SQL[] = joined ? [] : [c('id')];
    if (this.foldsBody) fields.push(sql`coalesce(${c('body')}, ${c('bin')})`);
    else fields.push(c('body'), c('bin'));
    fields.push(c('codec'), c('version'), c('created_at'), c('updated_at'));
    if (note) fields.push(c('note'));
    return list(fields);
  }

  /** The layout of the record columns {@link recordFields} selects. */
  protected recordLayout(joined: boolean, note = !joined): RecordLayout {
    return { joined, folded: this.foldsBody, note };
  }

  /** Record bytes as the driver binds them. */
  bindBytes(bytes: Uint8Array): unknown {
    return bytes;
  }

  /** A column as selected so that {@link read} reads it back (e.g. a 64-bit integer as text). */
  selectColumn(_kind: ColumnKind, column: SQL): SQL {
    return column;
  }

  /** A placeholder in a context that needs its type (PostgreSQL casts); the placeholder by default. */
  typed(_kind: ColumnKind | 'id' | 'version', placeholder: SQL): SQL {
    return placeholder;
  }

  /** `a` equals `b`, nulls equal to each other (SQLite's `IS`). */
  sameValue(a: SQL, b: SQL): SQL {
    return sql`${a} is ${b}`;
  }

  /** The larger of two integers. */
  greatest(a: SQL, b: SQL): SQL {
    return sql`max(${a}, ${b})`;
  }

  /** The statement that reads which of `keys` exist in the metadata table (`?` per key from 0). */
  metaTableExists(): SQL | undefined {
    return sql`select 1 from sqlite_master where type = 'table' and name = ${sql.raw(`'${META_TABLE}'`)}`;
  }

  // ---- records

  /** Reads the records with the given ids, at most `maxParameters` ids per statement. */
  async getRecords(
    runner: Runner,
    t: EntityTable,
    ids: readonly string[],
    note = true,
  ): Promise<RecordRow[]> {
    const found: RecordRow[] = [];
    const unique = ids.length > 1 ? [...new Set(ids)] : ids;
    for (const chunk of this.idChunks(unique)) {
      const template = t.templates.get(`get:${note}:${this.rowsShape(chunk.length)}`, () =>
        this.selectByIds(t, chunk.length, note),
      );
      const result = await runner.run(template.bind(this.bindIds(chunk)));
      const layout = this.recordLayout(false, note);
      for (const row of result.rows) found.push(decodeRecord(row, this.read, 0, layout));
    }
    return found;
  }

  /** The ids of {@link getRecords} split into the lists one statement each reads: at most `maxParameters` ids. */
  protected idChunks(ids: readonly string[]): (readonly string[])[] {
    return chunks(ids, this.maxParameters);
  }

  /**
   * The shape key of a statement for `rows` rows (or ids): the count, since
   * each count has its own placeholders; a dialect that binds a batch as
   * arrays gives one key for the counts one statement serves.
   */
  protected rowsShape(rows: number): string {
    return String(rows);
  }

  /** `select … from t where id in (…)` for `n` ids. */
  protected selectByIds(t: EntityTable, n: number, note = true): SQL {
    return sql`select ${this.recordFields(t, false, note)} from ${t.name} where ${this.idIn(t, n)}`;
  }

  /** `id = ?` or `id in (?, …)` for `n` ids, bound by {@link bindIds}. */
  protected idIn(t: EntityTable, n: number): SQL {
    const id = qualified(t.spec.name, 'id');
    return n === 1
      ? sql`${id} = ${at(0)}`
      : sql`${id} in (${list(Array.from({ length: n }, (_, i) => at(i)))})`;
  }

  /** The stored versions of the given records (tombstones included), as {@link keyOf}([id, version]) keys: ids and versions only, no bodies. */
  protected async storedVersions(
    runner: Runner,
    t: EntityTable,
    ids: readonly string[],
  ): Promise<Set<string>> {
    const found = new Set<string>();
    const unique = ids.length > 1 ? [...new Set(ids)] : ids;
    for (const chunk of this.idChunks(unique)) {
      const template = t.templates.get(`versions:${this.rowsShape(chunk.length)}`, () => {
        const fields = list([qualified(t.spec.name, 'id'), qualified(t.spec.name, 'version')]);
        return sql`select ${fields} from ${t.name} where ${this.idIn(t, chunk.length)}`;
      });
      const result = await runner.run(template.bind(this.bindIds(chunk)));
      for (const row of result.rows) found.add(keyOf([this.read.text(row[0]), this.read.number(row[1])]));
    }
    return found;
  }

  /** The values that {@link selectByIds} binds. */
  protected bindIds(ids: readonly string[]): readonly unknown[] {
    return ids;
  }

  /** Records in ascending id order, after `after`, only those with a note when `notes`. */
  async scanRecords(runner: Runner, t: EntityTable, options: ScanRecords): Promise<RecordRow[]> {
    const after = options.after !== undefined;
    const notes = options.notes === true;
    const limitClause = this.limitClause(options.limit);
    const template = t.templates.get(`scan:${after}:${notes}${limitClause.shape}`, () => {
      const id = qualified(t.spec.name, 'id');
      const conditions: SQL[] = [];
      if (notes) conditions.push(sql`${qualified(t.spec.name, 'pending')} = 1`);
      if (after) conditions.push(sql`${id} > ${at(1)}`);
      const where = conditions.length > 0 ? sql` where ${sql.join(conditions, sql` and `)}` : sql``;
      return sql`select ${this.recordFields(t, false)} from ${t.name}${where} order by ${id} limit ${limitClause.sql()}`;
    });
    const limit = this.bindLimit(options.limit);
    const values = after ? [limit, options.after] : [limit];
    const result = await runner.run(template.bind(values));
    const layout = this.recordLayout(false);
    return result.rows.map((row) => decodeRecord(row, this.read, 0, layout));
  }

  /**
   * Whether a LIMIT is written into the statement as a literal (one statement
   * per row count) instead of bound. PostgreSQL keeps one plan for a prepared
   * statement only when the generic plan costs about what a custom one does;
   * with the row count bound it cannot know that the LIMIT is small, so it
   * plans the statement again on every call (0.3-0.5 ms, more than the
   * query's own execution).
   */
  readonly inlinesLimit: boolean = false;

  /** A LIMIT's placeholder. */
  protected limit(placeholder: SQL): SQL {
    return placeholder;
  }

  /**
   * The LIMIT of a statement whose values start with its row count: the
   * placeholder of value 0, or with {@link inlinesLimit} the count itself
   * (then value 0 is not sent), built only with a new template; `shape`
   * tells the templates apart.
   */
  protected limitClause(limit: number): { readonly sql: () => SQL; readonly shape: string } {
    if (!this.inlinesLimit) return { sql: () => this.limit(at(0)), shape: '' };
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new ValidationError(`limit must be a non-negative integer, got ${limit}`);
    }
    return { sql: () => sql.raw(String(limit)), shape: `:${limit}` };
  }

  /** A LIMIT's row count as the driver binds it. */
  protected bindLimit(limit: number): unknown {
    return limit;
  }

  /**
   * Inserts records with distinct ids, leaving those whose id exists alone;
   * returns per record, in order, whether it was inserted: multi-row
   * `insert … on conflict (id) do nothing returning id`.
   */
  async insertRecords(runner: Runner, t: EntityTable, records: readonly RecordRow[]): Promise<boolean[]> {
    return this.#written(runner, records, (chunk) => this.insertStatement(t, chunk));
  }

  /**
   * Runs `statement` on `records` in chunks within the parameter limit, each
   * returning the ids it wrote; returns per record whether its id was written.
   * An id counts once, for its first record (ids are meant to be distinct).
   */
  async #written(
    runner: Runner,
    records: readonly RecordRow[],
    statement: (chunk: readonly RecordRow[]) => Statement,
  ): Promise<boolean[]> {
    const written = new Set<string>();
    for (const chunk of chunks(records, rowsPerStatement(WRITE_COLUMNS.length, this.maxParameters))) {
      const result = await runner.run(statement(chunk));
      for (const row of result.rows) written.add(this.read.text(row[0]));
    }
    return records.map((record) => written.delete(record.id));
  }

  /** The statement inserting `records`, returning the ids inserted. */
  protected insertStatement(t: EntityTable, records: readonly RecordRow[]): Statement {
    return this.#insertRows(t, records, 'insert', () => sql`do nothing returning ${ident('id')}`);
  }

  /**
   * `insert into t (…) values (…), … on conflict (id) <onConflict>` of
   * `records`, built once per `shape` and count.
   */
  #insertRows(
    t: EntityTable,
    records: readonly RecordRow[],
    shape: string,
    onConflict: () => SQL,
  ): Statement {
    const template = t.templates.get(
      `${shape}:${records.length}`,
      () =>
        sql`insert into ${t.name} (${list(WRITE_COLUMNS.map(ident))}) values ${tuples(records.length, WRITE_COLUMNS.length)} on conflict (${ident('id')}) ${onConflict()}`,
    );
    const values: unknown[] = [];
    for (const record of records) values.push(...recordValues(record, (b) => this.bindBytes(b)));
    return template.bind(values);
  }

  /** The compare-and-set of one record: replaces it (note included) if stored at `expected`. */
  protected updateStatement(t: EntityTable, record: RecordRow, expected: number): Statement {
    const template = t.templates.get('update', () => {
      const sets = WRITE_COLUMNS.slice(1).map((c, i) => sql`${ident(c)} = ${at(i + 1)}`);
      return sql`update ${t.name} set ${list(sets)} where ${ident('id')} = ${at(0)} and ${ident('version')} = ${at(WRITE_COLUMNS.length)}`;
    });
    return template.bind([...recordValues(record, (b) => this.bindBytes(b)), expected]);
  }

  /** Replaces a record stored at `expected`; returns whether it did. */
  async updateRecord(runner: Runner, t: EntityTable, record: RecordRow, expected: number): Promise<boolean> {
    return (await runner.run(this.updateStatement(t, record, expected))).changes === 1;
  }

  /**
   * Clears the notes of the records stored at the given versions; returns per
   * note whether its record is at that version: one `update … returning`, or,
   * where there is no RETURNING, a read and then an update of the notes found
   * at their versions. (The other order would answer "moved on" for a note
   * it cleared when a write commits between the update and the read; a
   * record read at a version keeps its note until a newer write replaces it.)
   */
  async clearNotes(runner: Runner, t: EntityTable, notes: readonly NoteRef[]): Promise<boolean[]> {
    let at = new Set<string>();
    let clear = notes;
    if (!this.returning) {
      at = await this.storedVersions(
        runner,
        t,
        notes.map((n) => n.id),
      );
      clear = notes.filter((note) => at.has(keyOf([note.id, note.version])));
    }
    for (const chunk of chunks(clear, rowsPerStatement(2, this.maxParameters))) {
      const template = t.templates.get(`clear:${chunk.length}`, () => this.clearStatement(t, chunk.length));
      const values: unknown[] = [];
      for (const note of chunk) values.push(note.id, note.version);
      const result = await runner.run(template.bind(values));
      if (this.returning) {
        for (const row of result.rows) at.add(keyOf([this.read.text(row[0]), this.read.number(row[1])]));
      }
    }
    return notes.map((note) => at.has(keyOf([note.id, note.version])));
  }

  /** `update t set note = null, pending = null where (id, version) in (values …) returning id, version`. */
  protected clearStatement(t: EntityTable, n: number): SQL {
    const returning = this.returning ? sql` returning ${ident('id')}, ${ident('version')}` : sql``;
    return sql`update ${t.name} set ${ident('note')} = null, ${ident('pending')} = null where (${ident('id')}, ${ident('version')}) in (values ${tuples(n, 2)})${returning}`;
  }

  // ---- history

  /** Inserts versions unless (id, version) exists. */
  async insertHistory(runner: Runner, t: HistoryTable, rows: readonly HistoryRow[]): Promise<void> {
    for (const chunk of chunks(rows, rowsPerStatement(HISTORY_COLUMNS.length, this.maxParameters))) {
      await runner.run(this.historyStatement(t, chunk));
    }
  }

  /** The statement inserting versions, ignoring those stored already. */
  protected historyStatement(t: HistoryTable, rows: readonly HistoryRow[]): Statement {
    const template = t.templates.get(
      `insert:${rows.length}`,
      () =>
        sql`insert into ${t.name} (${list(HISTORY_COLUMNS.map(ident))}) values ${tuples(rows.length, HISTORY_COLUMNS.length)} on conflict do nothing`,
    );
    const values: unknown[] = [];
    for (const row of rows) values.push(...historyValues(row, (b) => this.bindBytes(b)));
    return template.bind(values);
  }

  /** The stored versions of `id` (only `version` when given), in ascending version order. */
  async getHistory(
    runner: Runner,
    t: HistoryTable,
    id: string,
    version: number | undefined,
  ): Promise<HistoryRow[]> {
    const one = version !== undefined;
    const template = t.templates.get(`get:${one}`, () => {
      const where = one ? sql` and ${ident('version')} = ${at(1)}` : sql``;
      return sql`select ${list(HISTORY_COLUMNS.map(ident))} from ${t.name} where ${ident('id')} = ${at(0)}${where} order by ${ident('version')}`;
    });
    const result = await runner.run(template.bind(one ? [id, version] : [id]));
    return result.rows.map((row) => decodeHistory(row, this.read));
  }

  // ---- index rows

  /** Index rows bound as values: the columns, the id, the version; one per key, with the highest version. */
  protected encodeRows(
    t: IndexTable,
    rows: readonly IndexRow[],
    gate?: ReadonlyMap<string, number>,
  ): Encoded[] {
    const n = t.columns.length;
    const encoded: Encoded[] = new Array(rows.length);
    // Two rows can share a key only if they share a record id: only then are keys compared.
    const ids = new Set<string>();
    let repeated = false;
    rows.forEach((row, r) => {
      checkWidth(t, row);
      const values: Encoded = new Array(n + 2);
      for (let i = 0; i < n; i++) values[i] = this.bind(t.columns[i]!.kind, row.values[i]!);
      values[n] = row.id;
      values[n + 1] = row.version;
      if (gate) values.push(gate.get(row.id) ?? 0);
      encoded[r] = values;
      if (!repeated) {
        repeated = ids.has(row.id);
        ids.add(row.id);
      }
    });
    if (!repeated) return encoded;
    const byKey = new Map<string, Encoded>();
    for (const values of encoded) {
      const key = keyOf(values.slice(0, n + 1));
      const seen = byKey.get(key);
      if (seen === undefined || (seen[n + 1] as number) < (values[n + 1] as number)) byKey.set(key, values);
    }
    return [...byKey.values()];
  }

  /**
   * `with __waffle_v(v0, v1, …) as (values (…), …)`: encoded rows as a table
   * whose columns are `v0…`: the index columns, the id, the version, and the
   * expected version of a gated commit.
   */
  protected valuesTable(_t: IndexTable, rows: number, width: number): SQL {
    const names = Array.from({ length: width }, (_, i) => ident(`v${i}`));
    return sql`with ${V}(${list(names)}) as (values ${tuples(rows, width)})`;
  }

  /** `v.v<i>`. */
  protected v(i: number): SQL {
    return sql`${V}.${ident(`v${i}`)}`;
  }

  /** The key of `target` (an index table or its alias) equals the key of the values table's row. */
  protected sameKey(t: IndexTable, target: (column: string) => SQL): SQL {
    const n = t.columns.length;
    const parts = t.columns.map((c, i) =>
      c.nullable ? this.sameValue(target(c.name), this.v(i)) : sql`${target(c.name)} = ${this.v(i)}`,
    );
    parts.push(sql`${target(INDEX_ID_COLUMN)} = ${this.v(n)}`);
    return sql.join(parts, sql` and `);
  }

  /**
   * The condition of a gated commit: the record of the values table's row is
   * stored at its expected version (absent for 0), as it is before the commit.
   */
  protected gateCondition(t: IndexTable, entity: EntityTable): SQL {
    const n = t.columns.length;
    const stored = sql`(select ${qualified(entity.spec.name, 'version')} from ${entity.name} where ${qualified(entity.spec.name, 'id')} = ${this.v(n)})`;
    return sql`coalesce(${stored}, 0) = ${this.v(n + 2)}`;
  }

  /**
   * The statements that write index rows idempotently (an existing key keeps
   * the larger version tag), gated on `entity` when given: an upsert on the
   * key, or, where nulls keep keys from being unique (nullable columns), an
   * update of the older tags and an insert of the keys not there.
   */
  putStatements(t: IndexTable, rows: readonly IndexRow[], gate?: Gate): Statement[] {
    const out: Statement[] = [];
    this.#chunked(t, rows, gate, (chunk, width, shape) => {
      const values = chunk.flat();
      out.push(
        t.templates
          .get(`put:${shape}`, () => this.putStatement(t, chunk.length, width, gate?.entity))
          .bind(values),
      );
      if (t.nullable) {
        const insert = t.templates.get(`put:${shape}:insert`, () =>
          this.insertAbsentStatement(t, chunk.length, width, gate?.entity),
        );
        out.push(insert.bind(values));
      }
    });
    return out;
  }

  /**
   * Index rows encoded (see {@link encodeRows}) and cut into chunks of one
   * statement each: `each` gets a chunk, the values per row, and the shape
   * key of its statement (row count and gate).
   */
  #chunked(
    t: IndexTable,
    rows: readonly IndexRow[],
    gate: Gate | undefined,
    each: (chunk: Encoded[], width: number, shape: string) => void,
  ): void {
    const width = t.columns.length + (gate ? 3 : 2);
    for (const chunk of chunks(
      this.encodeRows(t, rows, gate?.expected),
      rowsPerStatement(width, this.maxParameters),
    )) {
      each(chunk, width, `${chunk.length}:${gate ? gate.entity.spec.name : ''}`);
    }
  }

  /** Upserts the values table's rows (for nullable tables: updates the older tags of existing keys). */
  protected putStatement(t: IndexTable, rows: number, width: number, entity?: EntityTable): SQL {
    const n = t.columns.length;
    const names = [...t.columns.map((c) => c.name), INDEX_ID_COLUMN, INDEX_VERSION_COLUMN];
    const version = ident(INDEX_VERSION_COLUMN);
    const gate = entity ? sql` and ${this.gateCondition(t, entity)}` : sql``;
    if (t.nullable) {
      const target = (column: string) => qualified(t.spec.name, column);
      // UPDATE … FROM: the database probes the table's key for each row of the values table.
      return sql`${this.valuesTable(t, rows, width)} update ${t.name} set ${version} = ${this.v(n + 1)} from ${V} where ${this.sameKey(t, target)} and ${t.version} < ${this.v(n + 1)}${gate}`;
    }
    const columns = list(names.map((_, i) => this.v(i)));
    const key = list(names.slice(0, n + 1).map(ident));
    return sql`${this.valuesTable(t, rows, width)} insert into ${t.name} (${list(names.map(ident))}) select ${columns} from ${V} where true${gate} on conflict (${key}) do update set ${version} = ${this.greatest(t.version, sql`excluded.${version}`)}`;
  }

  /** Inserts the values table's rows whose key is absent (nullable tables). */
  protected insertAbsentStatement(t: IndexTable, rows: number, width: number, entity?: EntityTable): SQL {
    const names = [...t.columns.map((c) => c.name), INDEX_ID_COLUMN, INDEX_VERSION_COLUMN];
    const target = (column: string) => sql`${T}.${ident(column)}`;
    const gate = entity ? sql` and ${this.gateCondition(t, entity)}` : sql``;
    return sql`${this.valuesTable(t, rows, width)} insert into ${t.name} (${list(names.map(ident))}) select ${list(names.map((_, i) => this.v(i)))} from ${V} where not exists (select 1 from ${t.name} as ${T} where ${this.sameKey(t, target)})${gate}`;
  }

  /** The statements that delete each row's key where the stored tag is older than the row's version (gated when `entity` is given). */
  deleteStatements(t: IndexTable, rows: readonly IndexRow[], gate?: Gate): Statement[] {
    const out: Statement[] = [];
    this.#chunked(t, rows, gate, (chunk, width, shape) => {
      const template = t.templates.get(`delete:${shape}`, () =>
        this.deleteStatement(t, chunk.length, width, gate?.entity),
      );
      out.push(template.bind(chunk.flat()));
    });
    return out;
  }

  /** `delete from t where exists (select 1 from v where key matches and t.__version < v.version)`. */
  protected deleteStatement(t: IndexTable, rows: number, width: number, entity?: EntityTable): SQL {
    const n = t.columns.length;
    const target = (column: string) => qualified(t.spec.name, column);
    const gate = entity ? sql` and ${this.gateCondition(t, entity)}` : sql``;
    return sql`${this.valuesTable(t, rows, width)} delete from ${t.name} where exists (select 1 from ${V} where ${this.sameKey(t, target)} and ${t.version} < ${this.v(n + 1)}${gate})`;
  }

  /** Writes index rows idempotently. */
  async putIndexRows(driver: Driver, t: IndexTable, rows: readonly IndexRow[]): Promise<void> {
    await this.runAll(driver, this.putStatements(t, rows));
  }

  /** Deletes index rows where their tag is older. */
  async deleteIndexRows(driver: Driver, t: IndexTable, rows: readonly IndexRow[]): Promise<void> {
    await this.runAll(driver, this.deleteStatements(t, rows));
  }

  /** Runs one statement alone, several as one batch. */
  protected async runAll(driver: Driver, statements: readonly Statement[]): Promise<Result[]> {
    if (statements.length === 0) return [];
    if (statements.length === 1) return [await driver.run(statements[0]!)];
    return driver.batch(statements);
  }

  // ---- index queries

  /**
   * Reads index rows matching the query, in its order, converted back to
   * column values; with `records`, each with its stored record (a LEFT JOIN).
   */
  async queryIndex(
    runner: Runner,
    t: IndexTable,
    query: IndexQuery,
    records?: EntityTable,
  ): Promise<IndexHit[]> {
    const flat = flatten(query.where);
    const limit = this.limitClause(query.limit);
    const shape = `q:${records?.spec.name ?? ''}:${flat.shape}:${orderShape(query.orderBy)}${limit.shape}`;
    const template = t.templates.get(shape, () => this.queryStatement(t, query, limit.sql(), records));
    const values: unknown[] = [this.bindLimit(query.limit)];
    for (const { kind, value } of flat.values) values.push(this.bind(kind, value));
    const bound = template.bind(values);
    const result = await runner.run({ sql: bound.sql, params: bound.params, dynamic: true });
    const n = t.columns.length;
    const layout = this.recordLayout(true);
    // A stored record's codec is never null: a null one is a row without its record (LEFT JOIN).
    const codec = n + 2 + (layout.folded ? 1 : 2);
    return result.rows.map((row) => {
      const hit = decodeIndexRow(row, t.columns, this.read) as IndexHit & { record?: RecordRow | null };
      if (records) {
        const present = row[codec] !== null && row[codec] !== undefined;
        hit.record = present ? decodeRecord(row, this.read, n + 2, layout, hit.id) : null;
      }
      return hit;
    });
  }

  /** The index query's statement; its first value is the limit, then the predicate's values. */
  protected queryStatement(t: IndexTable, query: IndexQuery, limit: SQL, records?: EntityTable): SQL {
    let next = 1;
    const where =
      query.where === undefined
        ? undefined
        : compilePredicate(t.view, query.where, (kind) => this.typed(kind, at(next++)));
    const fields = [...t.columns.map((c) => this.selectColumn(c.kind, c.sql)), t.id, t.version];
    const join = records
      ? sql` left join ${records.name} on ${qualified(records.spec.name, 'id')} = ${t.id}`
      : sql``;
    if (records) fields.push(this.recordFields(records, true));
    const whereSql = where ? sql` where ${where}` : sql``;
    const order =
      query.orderBy.length > 0
        ? sql` order by ${compileOrder(t.view, query.orderBy, this.explicitNulls)}`
        : sql``;
    return sql`select ${list(fields)} from ${t.name}${join}${whereSql}${order} limit ${limit}`;
  }

  /** The number of distinct record ids among the rows matching `where`. */
  async countIndex(runner: Runner, t: IndexTable, where: Predicate | undefined): Promise<number> {
    const flat = flatten(where);
    const template = t.templates.get(`count:${flat.shape}`, () => {
      let next = 0;
      const condition =
        where === undefined
          ? sql``
          : sql` where ${compilePredicate(t.view, where, (kind) => this.typed(kind, at(next++)))}`;
      return sql`select count(distinct ${t.id}) from ${t.name}${condition}`;
    });
    const values: unknown[] = [];
    for (const { kind, value } of flat.values) values.push(this.bind(kind, value));
    const bound = template.bind(values);
    const result = await runner.run({ sql: bound.sql, params: bound.params, dynamic: true });
    return this.read.number(result.rows[0]?.[0] ?? 0);
  }

  /** The rows of an index table, or the live records (tombstones left out) of an entity table. */
  async countRows(runner: Runner, t: EntityTable | IndexTable): Promise<number> {
    const template = t.templates.get('count-rows', () =>
      t.spec.kind === 'entity'
        ? sql`select count(*) from ${t.name} where ${qualified(t.spec.name, 'codec')} <> ''`
        : sql`select count(*) from ${t.name}`,
    );
    const result = await runner.run(template.bind([]));
    return this.read.number(result.rows[0]?.[0] ?? 0);
  }

  // ---- commits

  /**
   * Writes records (inserts and compare-and-sets; `'older'` writes go to
   * {@link commitNewer}), and the index rows and history of those written,
   * atomically; returns per write whether it happened. See {@link CommitMode}.
   */
  async commit(driver: Driver, tables: TableCache, work: CasCommit): Promise<boolean[]> {
    const entity = tables.entity(work.table);
    const put = (work.put ?? [])
      .filter((g: IndexRows) => g.rows.length > 0)
      .map((g: IndexRows) => ({ table: tables.index(g.table), rows: g.rows }));
    const del = (work.delete ?? [])
      .filter((g: IndexRows) => g.rows.length > 0)
      .map((g: IndexRows) => ({ table: tables.index(g.table), rows: g.rows }));
    const history = work.history ? tables.history(work.history) : undefined;
    if (put.length === 0 && del.length === 0 && history === undefined && work.writes.length === 1) {
      // One record alone: one statement is atomic by itself.
      const [w] = work.writes;
      if (w!.expected === 0) return this.insertRecords(driver, entity, [w!.row]);
      return [await this.updateRecord(driver, entity, w!.row, w!.expected)];
    }
    return this.commitMode === 'batch'
      ? this.commitBatch(driver, entity, work.writes, put, del, history)
      : this.commitTransaction(driver, entity, work.writes, put, del, history);
  }

  /**
   * One batch: the index rows and history first, each gated on its record
   * being stored at the expected version (what the record's own statement,
   * last, checks), so that rows of a record not written are not written
   * either. Correct where a write transaction sees no other writer (SQLite).
   */
  protected async commitBatch(
    driver: Driver,
    entity: EntityTable,
    writes: readonly CasWrite[],
    put: readonly GatedRows[],
    del: readonly GatedRows[],
    history: HistoryTable | undefined,
  ): Promise<boolean[]> {
    if (del.length === 0 && this.tryPlain(entity, writes)) {
      try {
        await driver.batch(this.plainStatements(entity, writes, put, history));
        return writes.map(() => true);
      } catch (error) {
        // The batch wrote nothing (one transaction): the gated one tells which records exist.
        this.plainFailed(entity, error);
      }
    }
    const expected = new Map(writes.map((w) => [w.row.id, w.expected]));
    const gate = { entity, expected };
    const statements: Statement[] = [];
    for (const g of put) statements.push(...this.putStatements(g.table, g.rows, gate));
    for (const g of del) statements.push(...this.deleteStatements(g.table, g.rows, gate));
    if (history) statements.push(...this.gatedHistoryStatements(history, entity, writes));
    const first = statements.length;
    const inserts = writes.filter((w) => w.expected === 0);
    for (const chunk of chunks(inserts, rowsPerStatement(WRITE_COLUMNS.length, this.maxParameters))) {
      statements.push(
        this.insertStatement(
          entity,
          chunk.map((w) => w.row),
        ),
      );
    }
    const updates = writes.filter((w) => w.expected !== 0);
    for (const w of updates) statements.push(this.updateStatement(entity, w.row, w.expected));
    const results = (await driver.batch(statements)).slice(first);
    const won = new Set<RecordWrite>();
    const inserted = new Set<string>();
    const insertResults = results.length - updates.length;
    for (let i = 0; i < insertResults; i++)
      for (const row of results[i]!.rows) inserted.add(this.read.text(row[0]));
    for (const w of inserts) if (inserted.delete(w.row.id)) won.add(w);
    updates.forEach((w, i) => {
      if (results[insertResults + i]!.changes === 1) won.add(w);
    });
    return writes.map((w) => won.has(w));
  }

  /**
   * Whether a commit of `writes` on `entity` tries plain inserts first
   * ({@link plainStatements}, or a dialect's own single statement): the
   * dialect can tell a unique violation ({@link insertsFirst}),
   * every write is a new record, and the table has not had a conflict in its
   * last {@link FULL_AFTER_CONFLICT} such commits.
   */
  protected tryPlain(entity: EntityTable, writes: readonly RecordWrite[]): boolean {
    if (!this.insertsFirst) return false;
    for (const w of writes) if (w.expected !== 0) return false;
    const full = this.#fullCommits.get(entity);
    if (full === undefined) return true;
    if (full <= 1) this.#fullCommits.delete(entity);
    else this.#fullCommits.set(entity, full - 1);
    return false;
  }

  /**
   * After plain inserts of `entity` failed with `error`: rethrows it unless
   * it is a stored key ({@link uniqueViolation}); then the table's next
   * {@link FULL_AFTER_CONFLICT} commits of new records go to the full form.
   */
  protected plainFailed(entity: EntityTable, error: unknown): void {
    if (!this.uniqueViolation(error)) throw error;
    this.#fullCommits.set(entity, FULL_AFTER_CONFLICT);
  }

  /**
   * A batch commit of new records only, as an application writes them by
   * hand: the records' plain multi-row inserts (no `on conflict`, nothing
   * returned), then their index rows, neither gated on the records nor
   * upserted (nullable tables, whose keys a plain insert cannot keep unique,
   * through their ungated put statements), then the history. Either all of
   * it is written, or a stored key fails the batch, which then wrote
   * nothing, and {@link commitBatch} runs the gated batch instead.
   */
  protected plainStatements(
    entity: EntityTable,
    writes: readonly CasWrite[],
    put: readonly GatedRows[],
    history: HistoryTable | undefined,
  ): Statement[] {
    const statements: Statement[] = [];
    for (const chunk of chunks(writes, rowsPerStatement(WRITE_COLUMNS.length, this.maxParameters))) {
      const template = entity.templates.get(
        `plain:${chunk.length}`,
        () =>
          sql`insert into ${entity.name} (${list(WRITE_COLUMNS.map(ident))}) values ${tuples(chunk.length, WRITE_COLUMNS.length)}`,
      );
      const values: unknown[] = [];
      for (const w of chunk) values.push(...recordValues(w.row, (b) => this.bindBytes(b)));
      statements.push(template.bind(values));
    }
    for (const g of put) {
      const t = g.table;
      if (t.nullable) {
        statements.push(...this.putStatements(t, g.rows));
        continue;
      }
      const width = t.columns.length + 2;
      const names = [...t.columns.map((c) => c.name), INDEX_ID_COLUMN, INDEX_VERSION_COLUMN];
      for (const chunk of chunks(this.encodeRows(t, g.rows), rowsPerStatement(width, this.maxParameters))) {
        const template = t.templates.get(
          `plain:${chunk.length}`,
          () => sql`insert into ${t.name} (${list(names.map(ident))}) values ${tuples(chunk.length, width)}`,
        );
        statements.push(template.bind(chunk.flat()));
      }
    }
    if (history) {
      const rows = writes.map((w) => historyOf(w.row));
      for (const chunk of chunks(rows, rowsPerStatement(HISTORY_COLUMNS.length, this.maxParameters))) {
        statements.push(this.historyStatement(history, chunk));
      }
    }
    return statements;
  }

  /** History rows of `writes`, each gated like index rows. */
  protected gatedHistoryStatements(
    t: HistoryTable,
    entity: EntityTable,
    writes: readonly CasWrite[],
  ): Statement[] {
    const width = HISTORY_COLUMNS.length + 1;
    const out: Statement[] = [];
    for (const chunk of chunks(writes, rowsPerStatement(width, this.maxParameters))) {
      const template = t.templates.get(`gated:${chunk.length}:${entity.spec.name}`, () => {
        const names = Array.from({ length: width }, (_, i) => ident(`v${i}`));
        const stored = sql`(select ${qualified(entity.spec.name, 'version')} from ${entity.name} where ${qualified(entity.spec.name, 'id')} = ${this.v(0)})`;
        return sql`with ${V}(${list(names)}) as (values ${tuples(chunk.length, width)}) insert into ${t.name} (${list(HISTORY_COLUMNS.map(ident))}) select ${list(HISTORY_COLUMNS.map((_, i) => this.v(i)))} from ${V} where coalesce(${stored}, 0) = ${this.v(width - 1)} on conflict do nothing`;
      });
      const values: unknown[] = [];
      for (const w of chunk)
        values.push(...historyValues(historyOf(w.row), (b) => this.bindBytes(b)), w.expected);
      out.push(template.bind(values));
    }
    return out;
  }

  /** One interactive transaction: the records first, then the index rows and history of those written. */
  protected commitTransaction(
    driver: Driver,
    entity: EntityTable,
    writes: readonly CasWrite[],
    put: readonly GatedRows[],
    del: readonly GatedRows[],
    history: HistoryTable | undefined,
  ): Promise<boolean[]> {
    // Rows of the wrong width are refused before any SQL, as in a batch.
    for (const g of put) for (const row of g.rows) checkWidth(g.table, row);
    for (const g of del) for (const row of g.rows) checkWidth(g.table, row);
    return driver.transaction(async (tx) => {
      const won = new Map<RecordWrite, boolean>();
      const inserts = writes.filter((w) => w.expected === 0);
      if (inserts.length > 0) {
        const inserted = await this.insertRecords(
          tx,
          entity,
          inserts.map((w) => w.row),
        );
        inserts.forEach((w, i) => {
          won.set(w, inserted[i]!);
        });
      }
      for (const w of writes) {
        if (w.expected !== 0) won.set(w, await this.updateRecord(tx, entity, w.row, w.expected));
      }
      const ids = new Set(writes.filter((w) => won.get(w)).map((w) => w.row.id));
      for (const g of put) {
        for (const s of this.putStatements(
          g.table,
          g.rows.filter((r) => ids.has(r.id)),
        ))
          await tx.run(s);
      }
      for (const g of del) {
        for (const s of this.deleteStatements(
          g.table,
          g.rows.filter((r) => ids.has(r.id)),
        ))
          await tx.run(s);
      }
      if (history) {
        const rows = writes.filter((w) => won.get(w)).map((w) => historyOf(w.row));
        if (rows.length > 0) await this.insertHistory(tx, history, rows);
      }
      return writes.map((w) => won.get(w) === true);
    });
  }

  // ---- apply if newer

  /**
   * Writes records "if newer" (every write `'older'`, ids distinct: checked by
   * the shard before), and the index rows and history of those applied, in
   * one transaction: the records first ({@link applyRecords}), then the rows
   * and history of the records applied, through the dialect's own index
   * statements. One record alone, with nothing else, is one statement.
   */
  async commitNewer(driver: Driver, tables: TableCache, work: Commit): Promise<boolean[]> {
    const entity = tables.entity(work.table);
    const rows = work.writes.map((w) => w.row);
    const groups = (all: readonly IndexRows[] | undefined) =>
      (all ?? [])
        .filter((g) => g.rows.length > 0)
        .map((g) => ({ table: tables.index(g.table), rows: g.rows }));
    const put = groups(work.put);
    const del = groups(work.delete);
    const history = work.history ? tables.history(work.history) : undefined;
    // Rows of the wrong width are refused before any SQL.
    for (const g of [...put, ...del]) for (const row of g.rows) checkWidth(g.table, row);
    if (put.length === 0 && del.length === 0 && history === undefined && rows.length === 1) {
      return this.applyRecords(driver, entity, rows);
    }
    return driver.transaction(async (tx) => {
      const applied = await this.applyRecords(tx, entity, rows);
      const ids = new Set(rows.filter((_, i) => applied[i]).map((r) => r.id));
      if (ids.size === 0) return applied;
      const inTx = transactionDriver(driver.name, tx);
      for (const g of put) {
        const mine = g.rows.filter((r) => ids.has(r.id));
        if (mine.length > 0) await this.putIndexRows(inTx, g.table, mine);
      }
      for (const g of del) {
        const mine = g.rows.filter((r) => ids.has(r.id));
        if (mine.length > 0) await this.deleteIndexRows(inTx, g.table, mine);
      }
      if (history) await this.insertHistory(tx, history, rows.filter((_, i) => applied[i]).map(historyOf));
      return applied;
    });
  }

  /**
   * Stores each record (distinct ids) where its id is free or the stored row
   * is older (a lower version, or the same version and an earlier
   * `updated_at`); returns per record, in order, whether it did. An upsert
   * whose update is conditional, returning the ids it wrote ({@link applyStatement}).
   */
  async applyRecords(runner: Runner, t: EntityTable, records: readonly RecordRow[]): Promise<boolean[]> {
    return this.#written(runner, records, (chunk) => this.applyStatement(t, chunk));
  }

  /**
   * `insert … values … on conflict (id) do update set … where <stored row older>
   * returning id`: a row whose update's condition is false is neither written
   * nor returned.
   */
  protected applyStatement(t: EntityTable, records: readonly RecordRow[]): Statement {
    return this.#insertRows(t, records, 'apply', () => {
      const excluded = (c: string) => sql`excluded.${ident(c)}`;
      const sets = WRITE_COLUMNS.slice(1).map((c) => sql`${ident(c)} = ${excluded(c)}`);
      return sql`do update set ${list(sets)} where ${this.storedOlder(t, excluded('version'), excluded('updated_at'))} returning ${ident('id')}`;
    });
  }

  /** The row stored in `t` is older than a row of `version` and `updatedAt`: the condition of an `'older'` write. */
  protected storedOlder(t: EntityTable, version: SQL, updatedAt: SQL): SQL {
    const stored = (c: string) => qualified(t.spec.name, c);
    return sql`(${stored('version')} < ${version} or (${stored('version')} = ${version} and ${stored('updated_at')} < ${updatedAt}))`;
  }

  // ---- tables and metadata

  /** Creates the tables that do not exist yet, and the metadata table. */
  async createTables(runner: Runner, specs: readonly TableSpec[]): Promise<void> {
    for (const spec of specs) {
      for (const statement of this.createTable(spec)) await runner.run(this.plain(statement));
    }
    await runner.run(this.plain(this.createMetaTable()));
  }

  /**
   * Drops the tables of `specs` that exist, after deleting their metadata
   * entries (a table without its entry is recreated by `create()`; an entry
   * without its table would pass the identity check and fail every query).
   */
  async dropTables(driver: Driver, specs: readonly TableSpec[]): Promise<void> {
    await this.deleteMeta(
      driver,
      specs.map((spec) => spec.name),
    );
    for (const statement of this.dropStatements(specs)) await driver.run(this.plain(statement));
  }

  /** `DROP TABLE IF EXISTS` of each table. */
  protected dropStatements(specs: readonly TableSpec[]): SQL[] {
    return specs.map((spec) => sql`drop table if exists ${ident(spec.name)}`);
  }

  /** Deletes the metadata entries of `keys` (nothing when the metadata table does not exist). */
  protected async deleteMeta(runner: Runner, keys: readonly string[]): Promise<void> {
    const exists = this.metaTableExists();
    if (exists && (await runner.run(this.plain(exists))).rows.length === 0) return;
    for (const chunk of chunks([...new Set(keys)], this.maxParameters)) {
      const template = this.metaTemplate(
        `delete:${chunk.length}`,
        () =>
          sql`delete from ${ident(META_TABLE)} where ${ident('key')} in (${list(chunk.map((_, i) => at(i)))})`,
      );
      await runner.run(template.bind(chunk));
    }
  }

  /** A statement without values. */
  protected plain(query: SQL): Statement {
    const rendered = this.render(query);
    return { sql: rendered.sql, params: rendered.params };
  }

  readonly #meta = new Map<string, Template>();

  /** A metadata statement, built once. */
  protected metaTemplate(shape: string, build: () => SQL): Template {
    let found = this.#meta.get(shape);
    if (found === undefined) {
      found = new Template(this.render, build());
      this.#meta.set(shape, found);
    }
    return found;
  }

  /** Reads metadata entries; an empty map when the metadata table does not exist yet. */
  async readMeta(runner: Runner, keys: readonly string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    if (keys.length === 0) return found;
    const exists = this.metaTableExists();
    if (exists && (await runner.run(this.plain(exists))).rows.length === 0) return found;
    for (const chunk of chunks([...new Set(keys)], this.maxParameters)) {
      const template = this.metaTemplate(
        `read:${chunk.length}`,
        () =>
          sql`select ${ident('key')}, ${ident('value')} from ${ident(META_TABLE)} where ${ident('key')} in (${list(chunk.map((_, i) => at(i)))})`,
      );
      for (const row of (await runner.run(template.bind(chunk))).rows)
        found.set(String(row[0]), String(row[1]));
    }
    return found;
  }

  /** Stores `value` under `key` unless the key exists; returns the value stored now. */
  async writeMeta(runner: Runner, key: string, value: string): Promise<string> {
    await runner.run(this.plain(this.createMetaTable()));
    await runner.run(this.metaTemplate('write', () => this.insertMetaStatement()).bind([key, value]));
    const read = this.metaTemplate(
      'read:1',
      () =>
        sql`select ${ident('key')}, ${ident('value')} from ${ident(META_TABLE)} where ${ident('key')} in (${at(0)})`,
    );
    const rows = (await runner.run(read.bind([key]))).rows;
    return String(rows[0]?.[1]);
  }

  /** Replaces the value of `key` with `value` if it is `expected` now; returns whether it did. */
  async replaceMeta(runner: Runner, key: string, expected: string, value: string): Promise<boolean> {
    const exists = this.metaTableExists();
    if (exists && (await runner.run(this.plain(exists))).rows.length === 0) return false;
    const update = this.metaTemplate(
      'replace',
      () =>
        sql`update ${ident(META_TABLE)} set ${ident('value')} = ${at(0)} where ${ident('key')} = ${at(1)} and ${ident('value')} = ${at(2)}`,
    );
    const result = await runner.run(update.bind([value, key, expected]));
    return result.changes > 0;
  }

  /** Inserts a metadata entry unless its key exists. */
  protected insertMetaStatement(): SQL {
    return sql`insert into ${ident(META_TABLE)} (${ident('key')}, ${ident('value')}) values (${at(0)}, ${at(1)}) on conflict do nothing`;
  }
}

/** Refuses an index row whose number of values differs from its table's columns. */
function checkWidth(t: IndexTable, row: IndexRow): void {
  if (row.values.length !== t.columns.length) {
    throw new ValidationError(
      `Index "${t.spec.name}" has ${t.columns.length} columns, but a row for "${row.id}" has ${row.values.length} values`,
    );
  }
}

/** The history row of a written record row (an empty codec is a deletion's tombstone). */
export function historyOf(row: RecordRow): HistoryRow {
  return {
    id: row.id,
    version: row.version,
    codec: row.codec,
    body: row.body,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    deleted: row.codec === '',
  };
}
