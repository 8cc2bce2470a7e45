/**
 * Reads and writes records in an entity table (text bodies in `body`, binary
 * bodies in `bin`, versions compared and set in single statements, notes in
 * `note` with `pending` set beside them) and versions in a history table.
 * Every statement is built once per table (and shape) with drizzle and runs
 * as a prepared statement with its values bound.
 */
import type { HistoryRow, RecordRow } from '@waffle/core';
import {
  chunks,
  decodeHistory,
  decodeRecord,
  HISTORY_COLUMNS,
  historySelection,
  historyValues,
  type RecordValues,
  recordSelection,
  recordValues,
  rowsPerStatement,
} from '@waffle/sql';
import { and, asc, eq, gt, type SQL, type SQLWrapper, sql } from 'drizzle-orm';
import { builder, type Executor, statementOf, Template } from './postgres-exec.js';
import type { EntityTable, HistoryTable } from './postgres-tables.js';
import { arrayLiteral, toText, valueReader } from './postgres-values.js';

const P = sql.placeholder;

/** A placeholder for each column key, named after it: the values of an INSERT or UPDATE. */
function placeholders(keys: readonly string[]): Record<string, SQLWrapper> {
  return Object.fromEntries(keys.map((key) => [key, P(key)]));
}

/** The columns a record's write sets, after `id`. */
const WRITTEN = ['body', 'bin', 'codec', 'version', 'createdAt', 'updatedAt', 'note', 'pending'] as const;

function selectRecords(t: EntityTable) {
  return builder.select(recordSelection(t)).from(t.table);
}

/** The statement of `t` for `purpose`, built at first use. */
function template(
  t: { readonly statements: Map<string, Template> },
  purpose: string,
  build: () => SQLWrapper,
): Template {
  let found = t.statements.get(purpose);
  if (found === undefined) {
    found = new Template(statementOf(build()));
    t.statements.set(purpose, found);
  }
  return found;
}

/**
 * Reads the records with the given ids: `id = ANY($1)` with the ids as one
 * text array, so one prepared statement serves any number of ids; at most
 * `batch` ids per statement.
 */
export async function getRecords(
  exec: Executor,
  t: EntityTable,
  ids: readonly string[],
  batch: number,
): Promise<RecordRow[]> {
  const statement = template(t, 'get', () => selectRecords(t).where(sql`${t.id} = ANY(${P('ids')}::text[])`));
  const found: RecordRow[] = [];
  for (const chunk of chunks([...new Set(ids)], batch)) {
    const rows = await exec.rows(statement.bind({ ids: arrayLiteral(chunk) }));
    for (const row of rows) found.push(decodeRecord(row, valueReader));
  }
  return found;
}

/** Inserts a record unless its id exists; returns whether it did. */
export async function insertRecord(exec: Executor, t: EntityTable, record: RecordRow): Promise<boolean> {
  const statement = template(t, 'insert', () =>
    builder
      .insert(t.table)
      .values(placeholders(['id', ...WRITTEN]) as never)
      .onConflictDoNothing(),
  );
  return (await exec.run(statement.bind(recordValues(record)))) === 1;
}

/** The columns `insertRecords` binds, one array each, with their array types. */
const INSERT_COLUMNS = [
  ['id', 'text[]'],
  ['body', 'text[]'],
  ['bin', 'bytea[]'],
  ['codec', 'text[]'],
  ['version', 'int8[]'],
  ['createdAt', 'int8[]'],
  ['updatedAt', 'int8[]'],
  ['note', 'text[]'],
  ['pending', 'int2[]'],
] as const satisfies readonly (readonly [keyof RecordValues, string])[];

/**
 * Most characters of record data (ids, bodies, notes; binary bodies counted in
 * hex) one `insertRecords` statement carries; a larger record goes alone. It
 * keeps each array literal far below PostgreSQL's 1 GB limit of one value and
 * the client's memory per statement bounded.
 */
const INSERT_BYTES = 16 * 1024 * 1024;

/**
 * A record with more characters than this is inserted by a statement of its
 * own: PostgreSQL parses array literals at some 6 ms per MiB, more than a
 * round trip costs for such a record.
 */
const SINGLE_BYTES = 8 * 1024;

/** A record's columns as the text of array elements, in {@link INSERT_COLUMNS} order. */
function insertTexts(record: RecordRow): (string | null)[] {
  const v = recordValues(record);
  return [
    v.id,
    v.body,
    v.bin === null ? null : toText('bytes', v.bin),
    v.codec,
    String(v.version),
    String(v.createdAt),
    String(v.updatedAt),
    v.note,
    v.pending === null ? null : String(v.pending),
  ];
}

/** The characters a record's texts add to a statement. */
function sizeOf(texts: readonly (string | null)[]): number {
  let size = 0;
  for (const text of texts) size += text === null ? 4 : text.length + 3;
  return size;
}

/**
 * Inserts records with distinct ids, the ones whose id exists left alone;
 * returns per record, in order, whether it was inserted. One prepared
 * statement serves any count: each column travels as one array literal,
 * expanded by `unnest` (`INSERT … SELECT * FROM unnest($1::text[], …) ON
 * CONFLICT (id) DO NOTHING RETURNING id`), so a duplicate never fails the
 * statement (nor aborts a surrounding transaction). Statements carry at most
 * as many records as would bind `maxParameters` values at one a column
 * (7,281 of 65,533) and, unless one record alone is larger,
 * {@link INSERT_BYTES} characters of data.
 */
export async function insertRecords(
  exec: Executor,
  t: EntityTable,
  records: readonly RecordRow[],
  maxParameters: number,
): Promise<boolean[]> {
  const batch = rowsPerStatement(INSERT_COLUMNS.length, maxParameters);
  const statement = template(t, 'insert-many', () => {
    const names = sql.join(
      INSERT_COLUMNS.map(([key]) => sql.identifier(t[key].name)),
      sql`, `,
    );
    const arrays = sql.join(
      INSERT_COLUMNS.map(([key, type]) => sql`${P(key)}::${sql.raw(type)}`),
      sql`, `,
    );
    return sql`INSERT INTO ${t.table} (${names}) SELECT * FROM unnest(${arrays}) ON CONFLICT (${sql.identifier(t.id.name)}) DO NOTHING RETURNING ${sql.identifier(t.id.name)}`;
  });
  const inserted = new Set<string>();
  const run = async (rows: (string | null)[][]) => {
    const values: Record<string, string> = {};
    INSERT_COLUMNS.forEach(([key], i) => {
      values[key] = arrayLiteral(rows.map((row) => row[i]!));
    });
    for (const row of await exec.rows(statement.bind(values))) inserted.add(valueReader.text(row[0]));
  };
  let chunk: (string | null)[][] = [];
  let size = 0;
  for (const record of records) {
    const texts = insertTexts(record);
    const added = sizeOf(texts);
    if (added > SINGLE_BYTES) {
      // Parsing a large array literal costs more than a statement of its own.
      if (await insertRecord(exec, t, record)) inserted.add(record.id);
      continue;
    }
    if (chunk.length > 0 && (chunk.length >= batch || size + added > INSERT_BYTES)) {
      await run(chunk);
      chunk = [];
      size = 0;
    }
    chunk.push(texts);
    size += added;
  }
  if (chunk.length > 0) await run(chunk);
  // An id inserted counts once, for its first record (ids are meant to be distinct).
  return records.map((record) => inserted.delete(record.id));
}

/** Replaces a record stored at `expectedVersion` (compare-and-set); returns whether it did. */
export async function updateRecord(
  exec: Executor,
  t: EntityTable,
  record: RecordRow,
  expectedVersion: number,
): Promise<boolean> {
  const statement = template(t, 'update', () =>
    builder
      .update(t.table)
      .set(placeholders(WRITTEN) as never)
      .where(and(eq(t.id, P('id')), eq(t.version, P('expected')))),
  );
  return (await exec.run(statement.bind({ ...recordValues(record), expected: expectedVersion }))) === 1;
}

/** Deletes a record (only at `expectedVersion` when given); returns whether one went. */
export async function deleteRecord(
  exec: Executor,
  t: EntityTable,
  id: string,
  expectedVersion: number | undefined,
): Promise<boolean> {
  if (expectedVersion === undefined) {
    const statement = template(t, 'delete', () => builder.delete(t.table).where(eq(t.id, P('id'))));
    return (await exec.run(statement.bind({ id }))) > 0;
  }
  const statement = template(t, 'delete-at', () =>
    builder.delete(t.table).where(and(eq(t.id, P('id')), eq(t.version, P('expected')))),
  );
  return (await exec.run(statement.bind({ id, expected: expectedVersion }))) > 0;
}

/**
 * Up to `limit` records with ids above `after` (and matching `filter`), in
 * ascending id (code point) order; statements cached under `purpose`.
 */
async function scan(
  exec: Executor,
  t: EntityTable,
  purpose: string,
  filter: SQL | undefined,
  after: string | undefined,
  limit: number,
): Promise<RecordRow[]> {
  const statement =
    after === undefined
      ? template(t, purpose, () => selectRecords(t).where(filter).orderBy(asc(t.id)).limit(P('limit')))
      : template(t, `${purpose}-after`, () =>
          selectRecords(t)
            .where(and(filter, gt(t.id, P('after'))))
            .orderBy(asc(t.id))
            .limit(P('limit')),
        );
  return (await exec.rows(statement.bind({ after, limit }))).map((row) => decodeRecord(row, valueReader));
}

/** Up to `limit` records with ids above `after`, in ascending id (code point) order. */
export function scanRecords(
  exec: Executor,
  t: EntityTable,
  after: string | undefined,
  limit: number,
): Promise<RecordRow[]> {
  return scan(exec, t, 'scan', undefined, after, limit);
}

/**
 * Clears the note of the record stored at `version`; returns whether the
 * record is there at that version (PostgreSQL counts matched rows, so an
 * already clear note counts too).
 */
export async function clearNote(
  exec: Executor,
  t: EntityTable,
  id: string,
  version: number,
): Promise<boolean> {
  const statement = template(t, 'clear-note', () =>
    builder
      .update(t.table)
      .set({ note: sql`NULL`, pending: sql`NULL` } as never)
      .where(and(eq(t.id, P('id')), eq(t.version, P('version')))),
  );
  return (await exec.run(statement.bind({ id, version }))) > 0;
}

/**
 * Up to `limit` records whose note is set, with ids above `after`, in
 * ascending id order: a range of the notes index on (`pending`, `id`).
 */
export function scanNotes(
  exec: Executor,
  t: EntityTable,
  after: string | undefined,
  limit: number,
): Promise<RecordRow[]> {
  return scan(exec, t, 'notes', sql`${t.pending} = 1`, after, limit);
}

/** Inserts a version unless (id, version) exists; returns whether it did. */
export async function insertHistory(exec: Executor, h: HistoryTable, row: HistoryRow): Promise<boolean> {
  const statement = template(h, 'insert', () =>
    builder
      .insert(h.table)
      .values(placeholders(HISTORY_COLUMNS) as never)
      .onConflictDoNothing(),
  );
  return (await exec.run(statement.bind(historyValues(row)))) === 1;
}

/** The versions of `id` in ascending version order (only `version` when given). */
export async function getHistory(
  exec: Executor,
  h: HistoryTable,
  id: string,
  version: number | undefined,
): Promise<HistoryRow[]> {
  const select = () => builder.select(historySelection(h)).from(h.table);
  const statement =
    version === undefined
      ? template(h, 'get', () =>
          select()
            .where(eq(h.id, P('id')))
            .orderBy(asc(h.version)),
        )
      : template(h, 'get-version', () => select().where(and(eq(h.id, P('id')), eq(h.version, P('version')))));
  return (await exec.rows(statement.bind({ id, version }))).map((row) => decodeHistory(row, valueReader));
}
