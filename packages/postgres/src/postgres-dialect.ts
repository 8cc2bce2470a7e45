/**
 * PostgreSQL's dialect of waffle's operations. The statements are
 * `@waffle/sql`'s except where PostgreSQL does better:
 *
 * - batches travel as one array per column, expanded by `unnest` on the
 *   server, so one prepared statement per table serves any number of rows
 *   (a single row is bound as scalars, which costs the server less);
 * - a commit is ONE statement of data-modifying CTEs: the records inserted
 *   and/or compare-and-set, then the index rows put and deleted and the
 *   history inserted for the records written (the ids the first CTEs
 *   returned), so a save with its index rows is one round trip;
 * - index keys are unique with nulls equal (`NULLS NOT DISTINCT`), so every
 *   put is an `ON CONFLICT` upsert; deletes match a null with `IS NULL`, one
 *   statement per pattern of nulls, so that the unique index serves them;
 * - DDL runs in a transaction under an advisory lock: `CREATE TABLE IF NOT
 *   EXISTS` run at the same moment by two sessions can still fail.
 */
import { createHash } from 'node:crypto';
import { QueryError } from '@waffle/core';
import {
  type ColumnKind,
  type ColumnValue,
  type Commit,
  INDEX_ID_COLUMN,
  INDEX_VERSION_COLUMN,
  type IndexRow,
  type IndexRows,
  META_TABLE,
  type NoteRef,
  type RecordWrite,
  type TableSpec,
} from '@waffle/core/adapter';
import {
  at,
  type CommitMode,
  chunks,
  type Driver,
  type EntityTable,
  type HistoryTable,
  type IndexTable,
  keyOf,
  qualified,
  type Render,
  type Result,
  type Runner,
  recordValues,
  rowsPerStatement,
  SqlDialect,
  type Statement,
  type TableCache,
  type ValueReader,
  WRITE_COLUMNS,
} from '@waffle/sql';
import { type SQL, sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { PostgresStatement } from './postgres-driver.js';
import { arrayLiteral, elementText, hexBytes, PG_TYPE, toStorage, valueReader } from './postgres-values.js';

/** PostgreSQL keeps identifiers of at most 63 bytes (NAMEDATALEN - 1) and silently truncates longer ones. */
export const MAX_IDENTIFIER = 63;

/**
 * The name of a key (`pk`), unique index (`key`) or notes index (`pending`) of
 * `table`: `__<kind>_<table>` when it fits in 63 bytes, else
 * `__<kind>h_<prefix>_<16 hex of SHA-256(table)>`, exactly 63 bytes. Names
 * starting with `__` are reserved by waffle, so a key name never meets a
 * table's; the two forms differ in their prefix, so a shortened name never
 * meets a plain one.
 */
export function keyName(kind: 'pk' | 'key' | 'pending', table: string): string {
  const plain = `__${kind}_${table}`;
  if (Buffer.byteLength(plain) <= MAX_IDENTIFIER) return plain;
  const hash = createHash('sha256').update(table).digest('hex').slice(0, 16);
  const prefix = `__${kind}h_`;
  return `${prefix}${table.slice(0, MAX_IDENTIFIER - prefix.length - hash.length - 1)}_${hash}`;
}

/** Column type in DDL of each column kind: text in code point order, timestamps to the millisecond. */
const COLUMN_TYPE: Record<ColumnKind, string> = {
  integer: 'int4',
  bigint: 'int8',
  real: 'float8',
  text: 'text COLLATE "C"',
  boolean: 'boolean',
  timestamp: 'timestamptz(3)',
  bytes: 'bytea',
};

const WRITE_TYPES = ['text', 'text', 'bytea', 'text', 'int8', 'int8', 'int8', 'text', 'int2'];
/** The columns of a history row, all but `deleted` taken from the record written. */
const HISTORY_FROM_RECORD = ['id', 'body', 'bin', 'codec', 'version', 'created_at', 'updated_at'];

/**
 * Most records one commit statement binds. Records are bound as scalars (a
 * text parameter costs PostgreSQL and postgres.js far less than an array
 * literal of JSON bodies, whose quotes must be escaped and parsed back), in
 * `VALUES` lists of 1, 2, 4, … rows (the rest padded with nulls), so a
 * table has a few prepared statements whatever the counts. The columns equal
 * in all of several records inserted together (in a `saveMany` of new
 * records, all but the id and the body) are bound once: a statement of 500
 * records binds ~1,000 values instead of ~4,500, which cut its cost by ~18%.
 */
const MAX_RECORDS = 512;
/** Most characters of record data one commit statement carries; a larger commit takes several, in one transaction. */
const STATEMENT_CHARS = 16 * 1024 * 1024;

/** The advisory lock (two int4 keys: 'wafl' as a big-endian int4, and 1) that serializes waffle's DDL on one database. */
const DDL_LOCK = sql`SELECT pg_advisory_xact_lock(2002871916, 1)`;
/** SQLSTATEs of a lost race between two creators: unique violation, duplicate table, object or schema. */
const RACE = new Set(['23505', '42P07', '42710', '42P06']);
/** SQLSTATE of a unique violation: a plain insert of a commit met a stored key. */
const UNIQUE_VIOLATION = '23505';
/** SQLSTATE of a statement on a table that does not exist. */
const UNDEFINED_TABLE = '42P01';

const V = sql.identifier('__waffle_v');
const W = sql.identifier('__waffle_w');
const ident = (name: string) => sql.identifier(name) as unknown as SQL;
const list = (items: readonly SQL[]) => sql.join(items as SQL[], sql`, `);
/** `__waffle_v.v<i>`: a column of a statement's rows. */
const v = (i: number) => sql`${V}.${ident(`v${i}`)}`;

/** The SQLSTATE of a driver failure wrapped in a waffle error. */
function sqlState(error: unknown): string | undefined {
  const code = ((error as { cause?: unknown } | null)?.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The rows of a statement as a table `__waffle_v(v0, v1, …)` of the given
 * types, whose values are bound from placeholder `first` on: one row as
 * scalars (`(VALUES ($1::text, …))`), several as one array each
 * (`unnest($1::text[], …)`).
 */
function rowsSql(types: readonly string[], first: number, many: boolean): SQL {
  const names = list(types.map((_, i) => ident(`v${i}`)));
  const values = list(types.map((type, i) => sql`${at(first + i)}::${sql.raw(many ? `${type}[]` : type)}`));
  return many ? sql`unnest(${values}) AS ${V}(${names})` : sql`(VALUES (${values})) AS ${V}(${names})`;
}

/**
 * `(VALUES ($1::text, …), ($10, …), …) AS __waffle_v(v0, …)`: `rows` rows of
 * the given types (cast in the first row, which types the others), bound as
 * scalars from placeholder `first` on. Bytes are bound as their `\\x…` hex
 * text (`$3::text::bytea` in every row): postgres.js keys its prepared
 * statements by the parameters' JavaScript types too, and serializes a
 * parameter the server calls `bytea` as bytes, so every parameter of a
 * record is a string, a number or null, and one text is prepared once.
 */
function valuesSql(types: readonly string[], first: number, rows: number): SQL {
  const width = types.length;
  const tuples: SQL[] = new Array(rows);
  for (let r = 0; r < rows; r++) {
    const values = types.map((type, c) => {
      const placeholder = at(first + r * width + c);
      if (type === 'bytea') return sql`${placeholder}::text::bytea`;
      return r === 0 ? sql`${placeholder}::${sql.raw(type)}` : placeholder;
    });
    tuples[r] = sql`(${list(values)})`;
  }
  return sql`(VALUES ${list(tuples)}) AS ${V}(${list(types.map((_, i) => ident(`v${i}`)))})`;
}

/** The rows of a `VALUES` list for `n` records: 1, 2, 4, … */
function recordRows(n: number): number {
  return n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n));
}

/** Binds records for {@link valuesSql}: each row's values, then null rows up to {@link recordRows}. */
function bindRecords(rows: readonly (readonly unknown[])[], width: number, out: unknown[]): void {
  for (const row of rows) for (let c = 0; c < width; c++) out.push(row[c]);
  for (let i = (recordRows(rows.length) - rows.length) * width; i > 0; i--) out.push(null);
}

/**
 * The columns (a bit per column of {@link WRITE_COLUMNS}) whose value is the
 * same in every one of several records inserted together, bound once instead
 * of once per record: in a `saveMany` of new records, all but the id and the
 * body. Never the id; none for a single record.
 */
function sharedColumns(rows: readonly (readonly unknown[])[]): number {
  if (rows.length < 2) return 0;
  const first = rows[0]!;
  let shared = 0;
  for (let c = 1; c < first.length; c++) {
    const value = first[c];
    if (typeof value === 'string' && value.length > 64) continue;
    let same = true;
    for (let r = 1; r < rows.length && same; r++) same = rows[r]![c] === value;
    if (same) shared |= 1 << c;
  }
  return shared;
}

/** Binds inserted records for {@link PostgresDialect.commitSql}: their own columns row by row (padded as {@link bindRecords}), then the shared ones. */
function bindInserts(rows: readonly (readonly unknown[])[], shared: number, out: unknown[]): void {
  if (shared === 0) {
    bindRecords(rows, WRITE_COLUMNS.length, out);
    return;
  }
  const own: number[] = [];
  for (let c = 0; c < WRITE_COLUMNS.length; c++) if ((shared & (1 << c)) === 0) own.push(c);
  for (const row of rows) for (const c of own) out.push(row[c]);
  for (let i = (recordRows(rows.length) - rows.length) * own.length; i > 0; i--) out.push(null);
  for (let c = 0; c < WRITE_COLUMNS.length; c++) if ((shared & (1 << c)) !== 0) out.push(rows[0]![c]);
}

/** Binds rows for {@link rowsSql}: the one row's values, or one array literal per column. */
function bindRows(rows: readonly (readonly unknown[])[], width: number, out: unknown[]): void {
  if (rows.length === 1) {
    const row = rows[0]!;
    for (let c = 0; c < width; c++) out.push(row[c]);
    return;
  }
  for (let c = 0; c < width; c++) out.push(arrayLiteral(rows.map((row) => elementText(row[c]))));
}

/** The characters a record adds to a statement. */
function sizeOf(w: RecordWrite): number {
  const body = w.row.body;
  return (
    (typeof body === 'string' ? body.length : body.byteLength * 2) +
    (w.row.note?.length ?? 0) +
    w.row.id.length
  );
}

/** Index rows bound for a statement: the column values, the id, the version. */
type Encoded = unknown[];

/** Index rows of one table to put in a commit. */
interface PutPart {
  readonly table: IndexTable;
  readonly rows: readonly Encoded[];
}

/**
 * Index rows of one table to delete in a commit, all with nulls in the same
 * columns (`pattern`: `1` where a value is bound, `0` where it is null),
 * bound as the values of `positions` (the non-null columns, the id, the version).
 */
interface DeletePart {
  readonly table: IndexTable;
  readonly pattern: string;
  readonly positions: readonly number[];
  readonly rows: readonly Encoded[];
}

const drizzleDialect = new PgDialect();

/** PostgreSQL (15 or later: unique keys use `NULLS NOT DISTINCT`). */
export class PostgresDialect extends SqlDialect {
  readonly name = 'postgres';
  /** postgres.js refuses statements with 65,534 or more parameters (the protocol counts them in 16 bits). */
  readonly maxParameters = 65533;
  /** Unused: {@link commit} is one statement (several, in one transaction, for a very large commit). */
  readonly commitMode: CommitMode = 'transaction';
  readonly render: Render = (query) => drizzleDialect.sqlToQuery(query);
  readonly read: ValueReader = valueReader;
  override readonly explicitNulls = true;
  override readonly inlinesLimit = true;
  /** A commit of new records is one plain statement first (no `ON CONFLICT`, nothing returned). */
  protected override readonly insertsFirst = true;
  /** A number per index table, for short shape keys. */
  readonly #tableIds = new WeakMap<IndexTable, number>();
  #nextTableId = 0;

  bind(kind: ColumnKind, value: ColumnValue): unknown {
    return toStorage(kind, value);
  }

  /** Read back exactly whatever parsers the client has: 64-bit integers as text, timestamps as epoch milliseconds. */
  override selectColumn(kind: ColumnKind, column: SQL): SQL {
    if (kind === 'bigint') return sql`${column}::text`;
    if (kind === 'timestamp') return sql`(extract(epoch from ${column}) * 1000)::int8::text`;
    return column;
  }

  override sameValue(a: SQL, b: SQL): SQL {
    return sql`${a} IS NOT DISTINCT FROM ${b}`;
  }

  override greatest(a: SQL, b: SQL): SQL {
    return sql`GREATEST(${a}, ${b})`;
  }

  #tableId(t: IndexTable): number {
    let id = this.#tableIds.get(t);
    if (id === undefined) {
      id = this.#nextTableId++;
      this.#tableIds.set(t, id);
    }
    return id;
  }

  // ---- records

  /** One id is `= $1`; more are `= ANY($1::text[])`, one prepared statement for any count. */
  protected override rowsShape(rows: number): string {
    return rows === 1 ? '1' : 'n';
  }

  protected override selectByIds(t: EntityTable, n: number, note = true): SQL {
    if (n === 1) return super.selectByIds(t, 1, note);
    return sql`select ${this.recordFields(t, false, note)} from ${t.name} where ${qualified(t.spec.name, 'id')} = ANY(${at(0)}::text[])`;
  }

  protected override bindIds(ids: readonly string[]): readonly unknown[] {
    return ids.length === 1 ? ids : [arrayLiteral(ids)];
  }

  /** Clears notes with one statement for any count: `UPDATE … FROM unnest(ids, versions) … RETURNING id, version`. */
  override async clearNotes(runner: Runner, t: EntityTable, notes: readonly NoteRef[]): Promise<boolean[]> {
    const cleared = new Set<string>();
    for (const chunk of chunks(notes, this.maxParameters)) {
      const many = chunk.length > 1;
      const template = t.templates.get(`clear:${many ? 'n' : '1'}`, () => {
        const id = qualified(t.spec.name, 'id');
        const version = qualified(t.spec.name, 'version');
        return sql`UPDATE ${t.name} SET ${ident('note')} = NULL, ${ident('pending')} = NULL FROM ${rowsSql(['text', 'int8'], 0, many)} WHERE ${id} = ${v(0)} AND ${version} = ${v(1)} RETURNING ${id}, ${version}`;
      });
      const values: unknown[] = [];
      bindRows(
        chunk.map((note) => [note.id, note.version]),
        2,
        values,
      );
      const result = await runner.run(template.bind(values));
      for (const row of result.rows) cleared.add(keyOf([this.read.text(row[0]), this.read.number(row[1])]));
    }
    return notes.map((note) => cleared.has(keyOf([note.id, note.version])));
  }

  // ---- index rows

  /** A single row needs no deduplication (the common case: one row per index per save). */
  protected override encodeRows(t: IndexTable, rows: readonly IndexRow[]): unknown[][] {
    const row = rows[0];
    const n = t.columns.length;
    if (rows.length !== 1 || row!.values.length !== n) return super.encodeRows(t, rows);
    const encoded: unknown[] = new Array(n + 2);
    for (let i = 0; i < n; i++) encoded[i] = toStorage(t.columns[i]!.kind, row!.values[i]!);
    encoded[n] = row!.id;
    encoded[n + 1] = row!.version;
    return [encoded];
  }

  /** `ON CONFLICT (columns…, __id) DO UPDATE`: an existing key keeps the larger version tag (and is not rewritten otherwise). */
  #upsert(t: IndexTable): SQL {
    const key = list([...t.columns.map((c) => ident(c.name)), ident(INDEX_ID_COLUMN)]);
    const version = ident(INDEX_VERSION_COLUMN);
    return sql`ON CONFLICT (${key}) DO UPDATE SET ${version} = EXCLUDED.${version} WHERE ${t.version} < EXCLUDED.${version}`;
  }

  /** The types of an index table's rows as bound: the columns', then the id's and the version's. */
  #rowTypes(t: IndexTable): string[] {
    return [...t.columns.map((c) => PG_TYPE[c.kind]), 'text', 'int8'];
  }

  /** `INSERT INTO t (columns…, __id, __version) SELECT * FROM <rows from first> [WHERE <filter>] ON CONFLICT …`. */
  #putSql(t: IndexTable, first: number, many: boolean, filter?: SQL, upsert = true): SQL {
    const names = list([
      ...t.columns.map((c) => ident(c.name)),
      ident(INDEX_ID_COLUMN),
      ident(INDEX_VERSION_COLUMN),
    ]);
    const where = filter ? sql` WHERE ${filter}` : sql``;
    return sql`INSERT INTO ${t.name} (${names}) SELECT * FROM ${rowsSql(this.#rowTypes(t), first, many)}${where}${upsert ? sql` ${this.#upsert(t)}` : sql``}`;
  }

  /** `DELETE FROM t USING <rows from first> WHERE key matches AND t.__version < version [AND <filter>]`. */
  #deleteSql(
    t: IndexTable,
    part: Pick<DeletePart, 'pattern' | 'positions'>,
    first: number,
    many: boolean,
    filter?: (id: SQL) => SQL,
  ): SQL {
    const n = t.columns.length;
    const types = part.positions.map((p) =>
      p < n ? PG_TYPE[t.columns[p]!.kind] : p === n ? 'text' : 'int8',
    );
    const conditions: SQL[] = [];
    let j = 0;
    t.columns.forEach((c, i) => {
      conditions.push(part.pattern[i] === '1' ? sql`${c.sql} = ${v(j++)}` : sql`${c.sql} IS NULL`);
    });
    conditions.push(sql`${t.id} = ${v(j)}`, sql`${t.version} < ${v(j + 1)}`);
    if (filter) conditions.push(filter(v(j)));
    return sql`DELETE FROM ${t.name} USING ${rowsSql(types, first, many)} WHERE ${sql.join(conditions, sql` AND `)}`;
  }

  /** Rows to delete grouped by their pattern of nulls, each bound as the values of its positions. */
  #deleteParts(t: IndexTable, encoded: readonly Encoded[]): DeletePart[] {
    const n = t.columns.length;
    const byPattern = new Map<string, Encoded[]>();
    for (const row of encoded) {
      let pattern = '';
      for (let i = 0; i < n; i++) pattern += row[i] === null ? '0' : '1';
      const group = byPattern.get(pattern);
      if (group === undefined) byPattern.set(pattern, [row]);
      else group.push(row);
    }
    return [...byPattern].map(([pattern, rows]) => {
      const positions: number[] = [];
      for (let i = 0; i < n; i++) if (pattern[i] === '1') positions.push(i);
      positions.push(n, n + 1);
      return { table: t, pattern, positions, rows: rows.map((row) => positions.map((p) => row[p])) };
    });
  }

  /** Writes index rows idempotently: `INSERT … SELECT * FROM unnest(…) ON CONFLICT … DO UPDATE`, one prepared statement for any count. */
  override async putIndexRows(driver: Driver, t: IndexTable, rows: readonly IndexRow[]): Promise<void> {
    const width = t.columns.length + 2;
    const statements: Statement[] = [];
    for (const chunk of chunks(this.encodeRows(t, rows), rowsPerStatement(width, this.maxParameters))) {
      const many = chunk.length > 1;
      const template = t.templates.get(`put:${many ? 'n' : '1'}`, () => this.#putSql(t, 0, many));
      const values: unknown[] = [];
      bindRows(chunk, width, values);
      statements.push(template.bind(values));
    }
    await this.runAll(driver, statements);
  }

  /** Deletes index rows where their tag is older: `DELETE … USING unnest(…)`, one statement per pattern of nulls. */
  override async deleteIndexRows(driver: Driver, t: IndexTable, rows: readonly IndexRow[]): Promise<void> {
    const statements: Statement[] = [];
    for (const part of this.#deleteParts(t, this.encodeRows(t, rows))) {
      const width = part.positions.length;
      for (const chunk of chunks(part.rows, rowsPerStatement(width, this.maxParameters))) {
        const many = chunk.length > 1;
        const template = t.templates.get(`delete:${part.pattern}:${many ? 'n' : '1'}`, () =>
          this.#deleteSql(t, part, 0, many),
        );
        const values: unknown[] = [];
        bindRows(chunk, width, values);
        statements.push(template.bind(values));
      }
    }
    await this.runAll(driver, statements);
  }

  // ---- commits

  /**
   * Writes records, and the index rows and history of those written, in one
   * statement of data-modifying CTEs (see {@link commitStatement}); a commit
   * of records too large for one statement runs as several, in one transaction.
   */
  override async commit(driver: Driver, tables: TableCache, work: Commit): Promise<boolean[]> {
    const entity = tables.entity(work.table);
    const history = work.history ? tables.history(work.history) : undefined;
    const put: PutPart[] = [];
    for (const g of work.put ?? []) {
      if (g.rows.length === 0) continue;
      const t = tables.index(g.table);
      put.push({ table: t, rows: this.encodeRows(t, g.rows) });
    }
    const del: DeletePart[] = [];
    for (const g of (work.delete ?? []) as readonly IndexRows[]) {
      if (g.rows.length === 0) continue;
      const t = tables.index(g.table);
      del.push(...this.#deleteParts(t, this.encodeRows(t, g.rows)));
    }
    const writes = work.writes;
    const groups = writes.length === 1 ? [writes] : this.#commitGroups(writes);
    let results: Result[];
    if (groups.length === 1) {
      if (del.length === 0 && this.tryPlain(entity, writes)) {
        try {
          await driver.run(this.commitStatement(entity, writes, put, del, history, true));
          return writes.map(() => true);
        } catch (error) {
          // Nothing was written (one statement): the full statement tells which records exist.
          this.plainFailed(entity, error);
        }
      }
      results = [await driver.run(this.commitStatement(entity, writes, put, del, history))];
    } else {
      results = await driver.batch(
        groups.map((group) => {
          const ids = new Set(group.map((w) => w.row.id));
          const putOf = put
            .map((p) => ({
              table: p.table,
              rows: p.rows.filter((row) => ids.has(row[p.table.columns.length] as string)),
            }))
            .filter((p) => p.rows.length > 0);
          const delOf = del
            .map((d) => ({
              ...d,
              rows: d.rows.filter((row) => ids.has(row[d.positions.length - 2] as string)),
            }))
            .filter((d) => d.rows.length > 0);
          return this.commitStatement(entity, group, putOf, delOf, history);
        }),
      );
    }
    const written = new Set<string>();
    for (const result of results) for (const row of result.rows) written.add(this.read.text(row[0]));
    // An id written counts once, for its first write (ids are meant to be distinct).
    return writes.map((w) => written.delete(w.row.id));
  }

  /** A unique violation: the plain statement met a stored key and wrote nothing. */
  protected override uniqueViolation(error: unknown): boolean {
    return sqlState(error) === UNIQUE_VIOLATION;
  }

  /** The writes of a commit as the groups that get a statement each: at most {@link MAX_RECORDS} records and {@link STATEMENT_CHARS} (unless one record alone is larger). */
  #commitGroups(writes: readonly RecordWrite[]): RecordWrite[][] {
    const groups: RecordWrite[][] = [];
    let group: RecordWrite[] = [];
    let size = 0;
    for (const w of writes) {
      const added = sizeOf(w);
      if (group.length > 0 && (group.length >= MAX_RECORDS || size + added > STATEMENT_CHARS)) {
        groups.push(group);
        group = [];
        size = 0;
      }
      group.push(w);
      size += added;
    }
    if (group.length > 0) groups.push(group);
    return groups;
  }

  /**
   * One statement that commits `writes` with their index rows and history:
   *
   * ```sql
   * WITH __waffle_wi AS (INSERT INTO t … SELECT * FROM (VALUES ($1::text, …), …) AS v WHERE v.id IS NOT NULL
   *                      ON CONFLICT (id) DO NOTHING RETURNING id),
   *      __waffle_wu AS (UPDATE t SET … FROM (VALUES …) AS v WHERE t.id = v.id AND t.version = v.expected RETURNING t.id),
   *      __waffle_w AS (SELECT * FROM __waffle_wi UNION ALL SELECT * FROM __waffle_wu),
   *      __waffle_p0 AS (INSERT INTO ix … SELECT * FROM unnest(…) WHERE id IN (SELECT id FROM __waffle_w) ON CONFLICT …),
   *      __waffle_d0 AS (DELETE FROM ix USING unnest(…) WHERE … AND id IN (SELECT id FROM __waffle_w)),
   *      __waffle_h AS (INSERT INTO h SELECT … FROM __waffle_w ON CONFLICT DO NOTHING)
   * SELECT id FROM __waffle_w
   * ```
   *
   * Each part is there only when the commit has rows for it. Records are
   * bound as scalars in `VALUES` lists of 1, 2, 4, … rows; index rows as
   * scalars when one, else as one array per column. The template is built
   * once per shape (the parts and their sizes); each call binds values only.
   *
   * `plain`, for a commit of new records only (no deletes): the same inserts
   * without `ON CONFLICT` and without returning ids, as an application
   * writes them by hand. Either it writes every record and index row, or a
   * stored key fails it (SQLSTATE 23505) and, one statement, it wrote
   * nothing; {@link commit} then runs the full statement. An `ON CONFLICT`
   * insert probes each key before a speculative insert it confirms after,
   * and the ids returned are rows sent and read: 500 new records took
   * ~15% longer that way (measured by replay).
   */
  protected commitStatement(
    entity: EntityTable,
    writes: readonly RecordWrite[],
    put: readonly PutPart[],
    del: readonly DeletePart[],
    history: HistoryTable | undefined,
    plain = false,
  ): Statement {
    const inserts: unknown[][] = [];
    const updates: unknown[][] = [];
    for (const w of writes) {
      const values = recordValues(w.row, hexBytes);
      if (w.expected === 0) inserts.push(values);
      else {
        values.push(w.expected);
        updates.push(values);
      }
    }
    const form = (rows: number) => (rows === 0 ? '' : rows === 1 ? '1' : 'n');
    const insertRows = inserts.length === 0 ? 0 : recordRows(inserts.length);
    const updateRows = updates.length === 0 ? 0 : recordRows(updates.length);
    const shared = sharedColumns(inserts);
    let shape = `${plain ? 'plain' : 'commit'}:${insertRows}:${shared}:${updateRows}:${history?.spec.name ?? ''}`;
    for (const p of put) shape += `|p${this.#tableId(p.table)}${form(p.rows.length)}`;
    for (const d of del) shape += `|d${this.#tableId(d.table)}:${d.pattern}${form(d.rows.length)}`;
    const template = entity.templates.get(shape, () =>
      this.commitSql(
        entity,
        { rows: insertRows, shared },
        updateRows,
        put.map((p) => ({ table: p.table, rows: p.rows.length })),
        del.map((d) => ({ table: d.table, pattern: d.pattern, positions: d.positions, rows: d.rows.length })),
        history,
        plain,
      ),
    );
    const values: unknown[] = [];
    if (inserts.length > 0) bindInserts(inserts, shared, values);
    if (updates.length > 0) bindRecords(updates, WRITE_COLUMNS.length + 1, values);
    for (const p of put) bindRows(p.rows, p.table.columns.length + 2, values);
    for (const d of del) bindRows(d.rows, d.positions.length, values);
    return template.bind(values);
  }

  /**
   * The SQL of {@link commitStatement} for `VALUES` lists of `inserts` and
   * `updates` rows and index parts of the given row counts (placeholders in
   * the order it binds them).
   */
  protected commitSql(
    entity: EntityTable,
    { rows: inserts, shared }: { rows: number; shared: number },
    updates: number,
    put: readonly { table: IndexTable; rows: number }[],
    del: readonly { table: IndexTable; pattern: string; positions: readonly number[]; rows: number }[],
    history: HistoryTable | undefined,
    plain = false,
  ): SQL {
    let next = 0;
    /** The statements of the commit, each with the name of its CTE. */
    const parts: { name: SQL | typeof W; body: SQL }[] = [];
    const written = history ? HISTORY_FROM_RECORD : ['id'];
    const both = inserts > 0 && updates > 0;
    if (inserts > 0) {
      // Columns equal in every record are bound once, after the rows.
      const own = WRITE_TYPES.map((_, c) => c).filter((c) => (shared & (1 << c)) === 0);
      const rows = valuesSql(
        own.map((c) => WRITE_TYPES[c]!),
        next,
        inserts,
      );
      next += own.length * inserts;
      const fields = WRITE_TYPES.map((type, c) => {
        if ((shared & (1 << c)) === 0) return v(own.indexOf(c));
        return type === 'bytea' ? sql`${at(next++)}::text::bytea` : sql`${at(next++)}::${sql.raw(type)}`;
      });
      // Padding rows (null ids) are not inserted.
      const real = inserts > 1 ? sql` WHERE ${v(0)} IS NOT NULL` : sql``;
      const returning = sql` RETURNING ${list(written.map(ident))}`;
      // A plain insert returns rows only for the history to copy, never to the client.
      const tail = plain
        ? history
          ? returning
          : sql``
        : sql` ON CONFLICT (${ident('id')}) DO NOTHING${returning}`;
      parts.push({
        name: both ? ident('__waffle_wi') : W,
        body: sql`INSERT INTO ${entity.name} (${list(WRITE_COLUMNS.map(ident))}) SELECT ${list(fields)} FROM ${rows}${real}${tail}`,
      });
    }
    if (updates > 0) {
      // Padding rows (null ids) match no record.
      const rows = valuesSql([...WRITE_TYPES, 'int8'], next, updates);
      next += (WRITE_TYPES.length + 1) * updates;
      const sets = WRITE_COLUMNS.slice(1).map((c, i) => sql`${ident(c)} = ${v(i + 1)}`);
      const column = (c: string) => qualified(entity.spec.name, c);
      parts.push({
        name: both ? ident('__waffle_wu') : W,
        body: sql`UPDATE ${entity.name} SET ${list(sets)} FROM ${rows} WHERE ${column('id')} = ${v(0)} AND ${column('version')} = ${v(WRITE_COLUMNS.length)} RETURNING ${list(written.map(column))}`,
      });
    }
    if (both) {
      parts.push({
        name: W,
        body: sql`SELECT * FROM ${ident('__waffle_wi')} UNION ALL SELECT * FROM ${ident('__waffle_wu')}`,
      });
    }
    const isWritten = (id: SQL) => sql`${id} IN (SELECT ${ident('id')} FROM ${W})`;
    put.forEach((p, k) => {
      // A plain commit writes all its rows or fails: no filter, no upsert.
      const filter = plain ? undefined : isWritten(v(p.table.columns.length));
      parts.push({
        name: ident(`__waffle_p${k}`),
        body: this.#putSql(p.table, next, p.rows > 1, filter, !plain),
      });
      next += p.table.columns.length + 2;
    });
    del.forEach((d, k) => {
      parts.push({
        name: ident(`__waffle_d${k}`),
        body: this.#deleteSql(d.table, d, next, d.rows > 1, isWritten),
      });
      next += d.positions.length;
    });
    if (history) {
      const columns = [...HISTORY_FROM_RECORD, 'deleted'];
      parts.push({
        name: ident('__waffle_h'),
        body: sql`INSERT INTO ${history.name} (${list(columns.map(ident))}) SELECT ${list(HISTORY_FROM_RECORD.map(ident))}, CASE WHEN ${ident('codec')} = '' THEN 1 ELSE 0 END FROM ${W} ON CONFLICT DO NOTHING`,
      });
    }
    const ctes = (of: typeof parts) => list(of.map((part) => sql`${part.name} AS (${part.body})`));
    if (plain) {
      // Its last statement is the statement itself, and nothing comes back.
      const last = parts[parts.length - 1]!.body;
      return parts.length === 1 ? last : sql`WITH ${ctes(parts.slice(0, -1))} ${last}`;
    }
    return sql`WITH ${ctes(parts)} SELECT ${ident('id')} FROM ${W}`;
  }

  // ---- tables and metadata

  /**
   * The DDL of one table spec: `CREATE TABLE IF NOT EXISTS`, and
   *
   * - for an entity table, the notes index on (`pending`, `id`), which scans of
   *   notes read in id order; partial, over the rows with a note only, so a
   *   write that leaves none (most of them) adds no entry to it and an update
   *   that keeps `pending` null can be a HOT update; it comes last, so a
   *   table that has it is complete (see {@link createTables});
   * - for an index table, its unique index over (columns…, `__id`), every column
   *   `NULLS FIRST` so that one index serves ascending order forwards and
   *   descending order backwards (nulls first ascending, last descending, as
   *   waffle orders), and `NULLS NOT DISTINCT` when a column is nullable, so that
   *   keys with nulls stay unique and can be upserted with `ON CONFLICT`;
   * - for a history table, its key (`id`, `version`).
   */
  createTable(spec: TableSpec): SQL[] {
    const table = ident(spec.name);
    const record = sql`${ident('id')} text COLLATE "C" NOT NULL, ${ident('body')} text NULL, ${ident('bin')} bytea NULL, ${ident('codec')} text NOT NULL, ${ident('version')} int8 NOT NULL, ${ident('created_at')} int8 NOT NULL, ${ident('updated_at')} int8 NOT NULL`;
    if (spec.kind === 'entity') {
      return [
        sql`CREATE TABLE IF NOT EXISTS ${table} (${record}, ${ident('note')} text NULL, ${ident('pending')} int2 NULL, CONSTRAINT ${ident(keyName('pk', spec.name))} PRIMARY KEY (${ident('id')}))`,
        sql`CREATE INDEX IF NOT EXISTS ${ident(keyName('pending', spec.name))} ON ${table} (${ident('pending')}, ${ident('id')}) WHERE ${ident('pending')} IS NOT NULL`,
      ];
    }
    if (spec.kind === 'history') {
      return [
        sql`CREATE TABLE IF NOT EXISTS ${table} (${record}, ${ident('deleted')} int2 NOT NULL, CONSTRAINT ${ident(keyName('pk', spec.name))} PRIMARY KEY (${ident('id')}, ${ident('version')}))`,
      ];
    }
    const columns = spec.columns.map(
      (c) =>
        sql`${ident(c.name)} ${sql.raw(COLUMN_TYPE[c.kind])} ${sql.raw(c.nullable ? 'NULL' : 'NOT NULL')}`,
    );
    const key = list(
      [...spec.columns.map((c) => ident(c.name)), ident(INDEX_ID_COLUMN)].map((c) => sql`${c} NULLS FIRST`),
    );
    const nullsNotDistinct = spec.columns.some((c) => c.nullable) ? sql` NULLS NOT DISTINCT` : sql``;
    return [
      sql`CREATE TABLE IF NOT EXISTS ${table} (${list([...columns, sql`${ident(INDEX_ID_COLUMN)} text COLLATE "C" NOT NULL`, sql`${ident(INDEX_VERSION_COLUMN)} int8 NOT NULL`])})`,
      sql`CREATE UNIQUE INDEX IF NOT EXISTS ${ident(keyName('key', spec.name))} ON ${table} (${key})${nullsNotDistinct}`,
    ];
  }

  createMetaTable(): SQL {
    return sql`CREATE TABLE IF NOT EXISTS ${ident(META_TABLE)} (${ident('key')} text COLLATE "C" NOT NULL, ${ident('value')} text NOT NULL, CONSTRAINT ${ident(keyName('pk', META_TABLE))} PRIMARY KEY (${ident('key')}))`;
  }

  /** A statement run once, unprepared. */
  #once(query: SQL): PostgresStatement {
    return { ...this.plain(query), prepare: false };
  }

  /**
   * Runs DDL in one transaction under the DDL advisory lock, with notices
   * ("already exists, skipping") silenced; `plan` decides the statements by
   * querying the catalog under the lock. Retried once if it still lost a race
   * (with a creator that does not take the lock).
   */
  async #ddl(driver: Driver, plan: (tx: Runner) => Promise<readonly SQL[]>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await driver.transaction(async (tx) => {
          await tx.run(this.#once(sql`SET LOCAL client_min_messages TO warning`));
          await tx.run(this.#once(DDL_LOCK));
          for (const statement of await plan(tx)) await tx.run(this.#once(statement));
        });
        return;
      } catch (error) {
        if (attempt >= 2 || !RACE.has(sqlState(error) ?? '')) throw error;
      }
    }
  }

  /**
   * Creates every table of `specs` that does not exist yet, and the metadata
   * table; adds to an entity table of an earlier version the columns and index
   * it lacks. An entity table whose notes index exists is complete and left
   * alone: `ALTER TABLE` locks a table against readers even when it adds nothing.
   */
  override async createTables(driver: Driver, specs: readonly TableSpec[]): Promise<void> {
    const notes = (spec: TableSpec) => keyName('pending', spec.name);
    const entities = specs.filter((spec) => spec.kind === 'entity');
    await this.#ddl(driver, async (tx) => {
      const missing = new Set<string>();
      if (entities.length > 0) {
        // The names that no table or index of the current schema (where CREATE TABLE puts a table) bears.
        const query = sql`SELECT w.relname FROM unnest(${arrayLiteral(entities.map(notes))}::text[]) AS w(relname) WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS s ON s.oid = c.relnamespace WHERE s.nspname = current_schema() AND c.relname = w.relname)`;
        for (const row of (await tx.run(this.#once(query))).rows) missing.add(String(row[0]));
      }
      const wanted = specs.filter((spec) => spec.kind !== 'entity' || missing.has(notes(spec)));
      return [...wanted.flatMap((spec) => this.createTable(spec)), this.createMetaTable()];
    });
  }

  /** Deletes the tables' metadata entries and drops them, in one transaction under the DDL lock. */
  override async dropTables(driver: Driver, specs: readonly TableSpec[]): Promise<void> {
    await this.#ddl(driver, async (tx) => {
      const statements: SQL[] = [];
      if ((await tx.run(this.#once(this.metaTableExists()))).rows.length > 0) {
        const keys = arrayLiteral(specs.map((spec) => spec.name));
        statements.push(sql`DELETE FROM ${ident(META_TABLE)} WHERE ${ident('key')} = ANY(${keys}::text[])`);
      }
      return [...statements, ...this.dropStatements(specs)];
    });
  }

  override metaTableExists(): SQL {
    return sql`SELECT 1 WHERE to_regclass(${sql.raw(`'${META_TABLE}'`)}) IS NOT NULL`;
  }

  /**
   * Stores `value` under `key` unless the key exists; returns the value stored
   * now. The metadata table is created (under the DDL lock) only when the
   * insert finds it missing.
   */
  override async writeMeta(driver: Driver, key: string, value: string): Promise<string> {
    const insert = this.metaTemplate('write', () => this.insertMetaStatement()).bind([key, value]);
    try {
      await driver.run(insert);
    } catch (error) {
      if (sqlState(error) !== UNDEFINED_TABLE) throw error;
      await this.#ddl(driver, async () => [this.createMetaTable()]);
      await driver.run(insert);
    }
    // A new statement, so a new snapshot: it sees the row of a writer that won the race.
    const select = this.metaTemplate(
      'value',
      () => sql`SELECT ${ident('value')} FROM ${ident(META_TABLE)} WHERE ${ident('key')} = ${at(0)}`,
    ).bind([key]);
    const rows = (await driver.run(select)).rows;
    if (rows.length === 0) {
      throw new QueryError(`${META_TABLE}: key "${key}" is missing right after it was written`, {
        sql: select.sql,
        params: select.params,
        shard: driver.name,
      });
    }
    return String(rows[0]![0]);
  }
}
