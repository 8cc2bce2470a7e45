/**
 * Reads and writes records in an entity table and versions in a history
 * table: text bodies in `body`, binary bodies in `bin`, versions compared and
 * set in single statements.
 */
import type { HistoryRow, RecordRow } from '@waffle/core';
import {
  chunks,
  decodeHistory,
  decodeRecord,
  historySelection,
  historyValues,
  type RecordValues,
  recordSelection,
  recordValues,
  rowsPerStatement,
} from '@waffle/sql';
import { and, asc, eq, gt, inArray, type SQL, type SQLChunk, StringChunk, sql } from 'drizzle-orm';
import type { Executor } from './libsql-exec.js';
import type { EntityTable, HistoryTable } from './libsql-tables.js';
import { valueReader } from './libsql-values.js';

function selectRecords(exec: Executor, t: EntityTable) {
  return exec.db.select(recordSelection(t)).from(t.table);
}

/** Reads the records with the given ids, at most `maxParameters` ids per statement. */
export async function getRecords(
  exec: Executor,
  t: EntityTable,
  ids: readonly string[],
  maxParameters: number,
): Promise<RecordRow[]> {
  const found: RecordRow[] = [];
  for (const chunk of chunks([...new Set(ids)], maxParameters)) {
    const rows = await exec.rows(selectRecords(exec, t).where(inArray(t.id, chunk)));
    for (const row of rows) found.push(decodeRecord(row, valueReader));
  }
  return found;
}

/** Inserts a record unless its id exists; returns whether it did. */
export async function insertRecord(exec: Executor, t: EntityTable, record: RecordRow): Promise<boolean> {
  const changed = await exec.run(
    exec.db
      .insert(t.table)
      .values(recordValues(record) as never)
      .onConflictDoNothing(),
  );
  return changed === 1;
}

/** The columns `insertRecords` binds per record, in order. */
const INSERT_COLUMNS = [
  'id',
  'body',
  'bin',
  'codec',
  'version',
  'createdAt',
  'updatedAt',
  'note',
  'pending',
] as const satisfies readonly (keyof RecordValues)[];

/** The fixed text of an `insertRecords` statement on one table; only the number of tuples varies. */
interface InsertText {
  /** `INSERT INTO t (id, …, pending) VALUES (` */
  readonly head: SQLChunk;
  /** `) ON CONFLICT (id) DO NOTHING RETURNING id` */
  readonly tail: SQLChunk;
}

const insertTexts = new WeakMap<EntityTable, InsertText>();
const BETWEEN_VALUES = new StringChunk(', ');
const BETWEEN_TUPLES = new StringChunk('), (');

function insertText(t: EntityTable): InsertText {
  let text = insertTexts.get(t);
  if (text === undefined) {
    const names = sql.join(
      INSERT_COLUMNS.map((key) => sql.identifier(t[key].name)),
      sql`, `,
    );
    const id = sql.identifier(t.id.name);
    text = {
      head: sql`INSERT INTO ${t.table} (${names}) VALUES (`,
      tail: sql`) ON CONFLICT (${id}) DO NOTHING RETURNING ${id}`,
    };
    insertTexts.set(t, text);
  }
  return text;
}

/**
 * `INSERT INTO t (…) VALUES (?, …), … ON CONFLICT (id) DO NOTHING RETURNING
 * id` for `records`, every value bound. One flat list of chunks: nesting an
 * sql`` per tuple makes drizzle several times slower on big batches.
 */
function insertStatement(t: EntityTable, records: readonly RecordRow[]): SQL {
  const { head, tail } = insertText(t);
  const list: unknown[] = new Array(records.length * INSERT_COLUMNS.length * 2 + 1);
  let at = 0;
  list[at++] = head;
  records.forEach((record, i) => {
    if (i > 0) list[at++] = BETWEEN_TUPLES;
    const values = recordValues(record);
    INSERT_COLUMNS.forEach((key, j) => {
      if (j > 0) list[at++] = BETWEEN_VALUES;
      // A plain value in the list is bound as a parameter, as it is.
      list[at++] = values[key];
    });
  });
  list[at++] = tail;
  return sql.fromList(list as SQLChunk[]);
}

/**
 * Inserts records with distinct ids, leaving those whose id exists alone;
 * returns per record, in order, whether it was inserted. Each statement is one
 * multi-row `INSERT … ON CONFLICT (id) DO NOTHING RETURNING id` of as many
 * records as `maxParameters` allows (full chunks of one size, then the rest),
 * so a duplicate never fails the statement nor a surrounding transaction.
 */
export async function insertRecords(
  exec: Executor,
  t: EntityTable,
  records: readonly RecordRow[],
  maxParameters: number,
): Promise<boolean[]> {
  const inserted = new Set<string>();
  for (const chunk of chunks(records, rowsPerStatement(INSERT_COLUMNS.length, maxParameters))) {
    for (const row of await exec.rows(insertStatement(t, chunk))) inserted.add(valueReader.text(row[0]));
  }
  // An id inserted counts once, for its first record (ids are meant to be distinct).
  return records.map((record) => inserted.delete(record.id));
}

/** Replaces a record (its note included) stored at `expectedVersion`; returns whether it did. */
export async function updateRecord(
  exec: Executor,
  t: EntityTable,
  record: RecordRow,
  expectedVersion: number,
): Promise<boolean> {
  const { id: _id, ...values } = recordValues(record);
  const changed = await exec.run(
    exec.db
      .update(t.table)
      .set(values as never)
      .where(and(eq(t.id, record.id), eq(t.version, expectedVersion))),
  );
  return changed === 1;
}

/** Deletes a record (only at `expectedVersion` when given); returns whether one went. */
export async function deleteRecord(
  exec: Executor,
  t: EntityTable,
  id: string,
  expectedVersion: number | undefined,
): Promise<boolean> {
  const where =
    expectedVersion === undefined ? eq(t.id, id) : and(eq(t.id, id), eq(t.version, expectedVersion));
  return (await exec.run(exec.db.delete(t.table).where(where))) > 0;
}

/** Up to `limit` records with ids above `after`, in ascending id (code point) order. */
export function scanRecords(
  exec: Executor,
  t: EntityTable,
  after: string | undefined,
  limit: number,
): Promise<RecordRow[]> {
  return scan(exec, t, undefined, after, limit);
}

/** Up to `limit` records with ids above `after` (and matching `filter`), in ascending id order. */
async function scan(
  exec: Executor,
  t: EntityTable,
  filter: SQL | undefined,
  after: string | undefined,
  limit: number,
): Promise<RecordRow[]> {
  const query = selectRecords(exec, t)
    .where(and(filter, after === undefined ? undefined : gt(t.id, after)))
    .orderBy(asc(t.id))
    .limit(limit);
  return (await exec.rows(query)).map((row) => decodeRecord(row, valueReader));
}

/**
 * Sets the note of the record stored at `version` to null; returns whether
 * the record was there (SQLite counts matched rows, so an already clear note is true).
 */
export async function clearNote(
  exec: Executor,
  t: EntityTable,
  id: string,
  version: number,
): Promise<boolean> {
  const changed = await exec.run(
    exec.db
      .update(t.table)
      .set({ note: null, pending: null } as never)
      .where(and(eq(t.id, id), eq(t.version, version))),
  );
  return changed === 1;
}

/** Up to `limit` records with a note and an id above `after`, in ascending id order, through the pending index. */
export function scanNotes(
  exec: Executor,
  t: EntityTable,
  after: string | undefined,
  limit: number,
): Promise<RecordRow[]> {
  return scan(exec, t, eq(t.pending, 1), after, limit);
}

/** Inserts a version unless (id, version) exists; returns whether it did. */
export async function insertHistory(exec: Executor, t: HistoryTable, row: HistoryRow): Promise<boolean> {
  const changed = await exec.run(
    exec.db
      .insert(t.table)
      .values(historyValues(row) as never)
      .onConflictDoNothing(),
  );
  return changed === 1;
}

/** The stored versions of `id` (only `version` when given), in ascending version order. */
export async function getHistory(
  exec: Executor,
  t: HistoryTable,
  id: string,
  version: number | undefined,
): Promise<HistoryRow[]> {
  const query = exec.db
    .select(historySelection(t))
    .from(t.table)
    .where(and(eq(t.id, id), version === undefined ? undefined : eq(t.version, version)))
    .orderBy(asc(t.version));
  return (await exec.rows(query)).map((row) => decodeHistory(row, valueReader));
}
