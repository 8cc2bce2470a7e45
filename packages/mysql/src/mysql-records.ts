/**
 * Reads and writes records in an entity table, and versions in a history
 * table: text bodies in `body`, binary bodies in `bin`, versions compared and
 * set in single statements, notes found through the (`pending`, `id`) key.
 * Statement texts are built once per shape and run as prepared statements.
 */
import { type HistoryRow, type RecordRow, ValidationError } from '@waffle/core';
import {
  decodeHistory,
  decodeRecord,
  HISTORY_COLUMNS,
  historyValues,
  RECORD_COLUMNS,
  recordValues,
  rowsPerStatement,
} from '@waffle/sql';
import { type SQL, sql } from 'drizzle-orm';
import type { MySqlColumn, MySqlTable } from 'drizzle-orm/mysql-core';
import {
  batches,
  ER_DUP_ENTRY,
  type Executor,
  errnoOf,
  PLACEHOLDER,
  pad,
  type RunResult,
  template,
  tuples,
} from './mysql-exec.js';
import type { EntityTable, HistoryTable } from './mysql-tables.js';
import { toBuffer, valueReader } from './mysql-values.js';

/** Ids per `IN` list: MySQL's range optimizer gives up on very long lists (`range_optimizer_max_mem_size`). */
const MAX_IDS_PER_STATEMENT = 8192;

/** The columns {@link decodeRecord} reads, in its order. */
function selectList(t: EntityTable): SQL {
  return sql.join(
    RECORD_COLUMNS.map((key) => t[key]),
    sql`, `,
  );
}

/** The columns a record's write sets, after `id`. */
const WRITTEN = ['body', 'bin', 'codec', 'version', 'createdAt', 'updatedAt', 'note', 'pending'] as const;

/** The columns a record's write sets, after `id`, in the order of {@link recordParams}. */
const writtenColumns = (t: EntityTable) => WRITTEN.map((key) => t[key]);

/** Values in the order of `keys`, a binary body (`bin`) as the Buffer mysql2 binds. */
function paramsOf<V extends { bin: Uint8Array | null }>(values: V, keys: readonly (keyof V)[]): unknown[] {
  return keys.map((key) => (key === 'bin' && values.bin !== null ? toBuffer(values.bin) : values[key]));
}

/**
 * A record's values for {@link writtenColumns}: a text body goes to `body`, a
 * binary one to `bin`; `note`, and `pending` 1 while there is a note.
 */
function recordParams(record: RecordRow): unknown[] {
  return paramsOf(recordValues(record), WRITTEN);
}

/** Column names for an INSERT's column list. */
const names = (columns: readonly MySqlColumn[]) => columns.map((c) => sql.identifier(c.name));

/** `INSERT INTO t (columns…) VALUES (?, …)`. */
function insertSql(table: MySqlTable, columns: readonly MySqlColumn[]): SQL {
  return sql`INSERT INTO ${table} (${sql.join(names(columns), sql`, `)}) VALUES (${sql.join(
    columns.map(() => PLACEHOLDER),
    sql`, `,
  )})`;
}

const idBytes = (id: string) => id.length * 3;

/** Reads the records with the given ids, in batches that fit the server's limits. */
export async function getRecords(
  exec: Executor,
  t: EntityTable,
  ids: readonly string[],
  maxParameters: number,
): Promise<RecordRow[]> {
  const unique = [...new Set(ids)];
  const found: RecordRow[] = [];
  const most = Math.min(maxParameters, MAX_IDS_PER_STATEMENT);
  for (const batch of batches(unique, most, exec.batchBytes, idBytes)) {
    const params = pad(batch, most, idBytes);
    const text = template(
      t.statements,
      `get:${params.length}`,
      () =>
        sql`SELECT ${selectList(t)} FROM ${t.table} WHERE ${t.id} IN (${sql.join(
          params.map(() => PLACEHOLDER),
          sql`, `,
        )})`,
    );
    for (const row of await exec.rows({ sql: text, params })) found.push(decodeRecord(row, valueReader));
  }
  return found;
}

/** Inserts a record unless its id exists; returns whether it did. */
export async function insertRecord(exec: Executor, t: EntityTable, record: RecordRow): Promise<boolean> {
  const text = template(t.statements, 'insert', () => insertSql(t.table, [t.id, ...writtenColumns(t)]));
  try {
    await exec.run({ sql: text, params: [record.id, ...recordParams(record)] });
    return true;
  } catch (error) {
    // The primary key is the table's only unique key: a duplicate entry is the id. Nothing else is hidden.
    if (errnoOf(error) === ER_DUP_ENTRY) return false;
    throw error;
  }
}

/** A record in bound form: its values for `id` and {@link writtenColumns}, and an upper bound of their bytes in a statement. */
interface BoundRecord {
  readonly record: RecordRow;
  readonly params: readonly unknown[];
  readonly bytes: number;
}

/** An upper bound of the bytes a value takes in a statement's execute packet (as the executor counts them, long strings exactly). */
function boundBytes(value: unknown): number {
  if (typeof value === 'string') {
    return 11 + (value.length <= 4096 ? value.length * 3 : Buffer.byteLength(value));
  }
  if (value instanceof Uint8Array) return 11 + value.byteLength;
  return 19;
}

/** A record's values in the order of an INSERT's columns (`id`, then {@link writtenColumns}). */
function bindRecord(record: RecordRow): BoundRecord {
  const params = [record.id, ...recordParams(record)];
  let bytes = 0;
  for (const value of params) bytes += boundBytes(value);
  return { record, params, bytes };
}

/**
 * The rows of the next INSERT for `count` records: all of them up to 8, a
 * full statement of `most`, else the largest power of two below `count`.
 * Rows cannot be padded (a repeated id is a duplicate), so a batch runs as a
 * few statements of these shapes: few prepared statements per connection
 * (`max_prepared_stmt_count` is counted over the whole server).
 */
function insertShape(count: number, most: number): number {
  if (count >= most) return most;
  if (count <= 8) return count;
  return 2 ** Math.floor(Math.log2(count));
}

/**
 * Inserts records with distinct ids; returns, in order, whether each was
 * inserted (false, leaving the stored row as it is, where the id exists).
 * Records go in as multi-row `INSERT INTO t (…) VALUES (…), (…)` statements
 * within the parameter limit and the packet's byte budget. A statement that
 * meets an existing id fails as a whole (ER_DUP_ENTRY; InnoDB rolls back the
 * statement, not the transaction), and its records are then inserted one by
 * one with {@link insertRecord}. `INSERT IGNORE` would hide other errors too.
 */
export async function insertRecords(
  exec: Executor,
  t: EntityTable,
  records: readonly RecordRow[],
  maxParameters: number,
): Promise<boolean[]> {
  const columns = [t.id, ...writtenColumns(t)];
  const most = rowsPerStatement(columns.length, maxParameters);
  const inserted: boolean[] = [];
  // batches() fills a batch to half the bytes it is given, leaving room for padding; these are not padded.
  for (const batch of batches(records.map(bindRecord), most, 2 * exec.batchBytes, (r) => r.bytes)) {
    for (let start = 0; start < batch.length; ) {
      const rows = insertShape(batch.length - start, most);
      const chunk = batch.slice(start, start + rows);
      start += rows;
      if (rows === 1) {
        inserted.push(await insertRecord(exec, t, chunk[0]!.record));
        continue;
      }
      const text = template(
        t.statements,
        `insert:${rows}`,
        () =>
          sql`INSERT INTO ${t.table} (${sql.join(names(columns), sql`, `)}) VALUES ${tuples(rows, columns.length)}`,
      );
      try {
        await exec.run({ sql: text, params: chunk.flatMap((r) => r.params) });
        for (let i = 0; i < rows; i++) inserted.push(true);
      } catch (error) {
        // The primary key is the table's only unique key: some id of the chunk exists, and nothing of the chunk was written.
        if (errnoOf(error) !== ER_DUP_ENTRY) throw error;
        for (const r of chunk) inserted.push(await insertRecord(exec, t, r.record));
      }
    }
  }
  return inserted;
}

/** The first number of an UPDATE's info text, `Rows matched: 1  Changed: 0  Warnings: 0` (translated with the server's language). */
function matchedRows(info: string): number | undefined {
  const match = /\d+/.exec(info);
  return match ? Number(match[0]) : undefined;
}

/**
 * Whether an UPDATE … WHERE id = ? AND version = ? found its row, though it
 * may have changed nothing: MySQL counts changed rows unless the connection
 * sets `CLIENT_FOUND_ROWS`, so a zero count is checked against the rows
 * matched in the info text, or failing that, against the stored version.
 */
async function updateFound(
  exec: Executor,
  t: EntityTable,
  result: RunResult,
  id: string,
  version: number,
): Promise<boolean> {
  if (result.affectedRows > 0) return true;
  const matched = matchedRows(result.info);
  if (matched !== undefined) return matched > 0;
  const [current] = await getRecords(exec, t, [id], 1);
  return current?.version === version;
}

/**
 * Replaces a record stored at `expectedVersion`; returns whether it did.
 * MySQL counts changed rows, not matched ones, unless the connection sets
 * `CLIENT_FOUND_ROWS` (mysql2 does by default): a new row equal to the stored
 * one changes nothing, so a zero count is checked against the rows matched.
 */
export async function updateRecord(
  exec: Executor,
  t: EntityTable,
  record: RecordRow,
  expectedVersion: number,
): Promise<boolean> {
  const text = template(t.statements, 'update', () => {
    const set = writtenColumns(t).map((c) => sql`${sql.identifier(c.name)} = ${PLACEHOLDER}`);
    return sql`UPDATE ${t.table} SET ${sql.join(set, sql`, `)} WHERE ${t.id} = ${PLACEHOLDER} AND ${t.version} = ${PLACEHOLDER}`;
  });
  const result = await exec.run({
    sql: text,
    params: [...recordParams(record), record.id, expectedVersion],
  });
  if (result.affectedRows > 0) return true;
  // The version changes in every update core makes, so only a caller writing the same version can see 0 for a match.
  if (record.version !== expectedVersion) return false;
  return updateFound(exec, t, result, record.id, expectedVersion);
}

/**
 * Sets the note (and `pending`) of the record stored at `version` to NULL;
 * returns whether the record is at `version`, also when its note was already
 * clear (an UPDATE that changes nothing, see {@link updateFound}).
 */
export async function clearNote(
  exec: Executor,
  t: EntityTable,
  id: string,
  version: number,
): Promise<boolean> {
  const text = template(
    t.statements,
    'clearNote',
    () =>
      sql`UPDATE ${t.table} SET ${sql.identifier(t.note.name)} = NULL, ${sql.identifier(t.pending.name)} = NULL WHERE ${t.id} = ${PLACEHOLDER} AND ${t.version} = ${PLACEHOLDER}`,
  );
  const result = await exec.run({ sql: text, params: [id, version] });
  return updateFound(exec, t, result, id, version);
}

/** Deletes a record (only at `expectedVersion` when given); returns whether one went. */
export async function deleteRecord(
  exec: Executor,
  t: EntityTable,
  id: string,
  expectedVersion: number | undefined,
): Promise<boolean> {
  const checked = expectedVersion !== undefined;
  const text = template(
    t.statements,
    checked ? 'delete:version' : 'delete',
    () =>
      sql`DELETE FROM ${t.table} WHERE ${t.id} = ${PLACEHOLDER}${checked ? sql` AND ${t.version} = ${PLACEHOLDER}` : sql``}`,
  );
  const result = await exec.run({ sql: text, params: checked ? [id, expectedVersion] : [id] });
  return result.affectedRows > 0;
}

/** Checks a row count for `LIMIT`, bound as a decimal string (MySQL 8 refuses a double there). */
export function limitParam(limit: number): string {
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new ValidationError(`limit must be a positive integer, got ${limit}`);
  }
  return String(limit);
}

/**
 * Up to `limit` records with ids above `after`, in ascending id (byte, hence
 * code point) order; with `pending`, only those with a note, read through the
 * (`pending`, `id`) key. Statements cached under `purpose`.
 */
async function scan(
  exec: Executor,
  t: EntityTable,
  purpose: string,
  pending: boolean,
  after: string | undefined,
  limit: number,
): Promise<RecordRow[]> {
  const first = after === undefined;
  const text = template(t.statements, first ? purpose : `${purpose}:after`, () => {
    const where = [
      ...(pending ? [sql`${t.pending} = ${PLACEHOLDER}`] : []),
      ...(first ? [] : [sql`${t.id} > ${PLACEHOLDER}`]),
    ];
    return sql`SELECT ${selectList(t)} FROM ${t.table}${where.length > 0 ? sql` WHERE ${sql.join(where, sql` AND `)}` : sql``} ORDER BY ${t.id} LIMIT ${PLACEHOLDER}`;
  });
  const params = [...(pending ? [1] : []), ...(first ? [] : [after]), limitParam(limit)];
  return (await exec.rows({ sql: text, params })).map((row) => decodeRecord(row, valueReader));
}

/** Up to `limit` records with ids above `after`, in ascending id (byte, hence code point) order. */
export function scanRecords(
  exec: Executor,
  t: EntityTable,
  after: string | undefined,
  limit: number,
): Promise<RecordRow[]> {
  return scan(exec, t, 'scan', false, after, limit);
}

/** Up to `limit` records with a note and an id above `after`, in ascending id order, read through the (`pending`, `id`) key. */
export function scanNotes(
  exec: Executor,
  t: EntityTable,
  after: string | undefined,
  limit: number,
): Promise<RecordRow[]> {
  return scan(exec, t, 'notes', true, after, limit);
}

/** The columns of a history table, in the order {@link decodeHistory} reads them and {@link historyParams} gives them. */
const historyList = (t: HistoryTable) => HISTORY_COLUMNS.map((key) => t[key]);

/** A version's values for {@link historyList}. */
function historyParams(row: HistoryRow): unknown[] {
  return paramsOf(historyValues(row), HISTORY_COLUMNS);
}

/** Inserts a version into a history table unless (`id`, `version`) exists; returns whether it did. */
export async function insertHistory(exec: Executor, t: HistoryTable, row: HistoryRow): Promise<boolean> {
  const text = template(t.statements, 'insert', () => insertSql(t.table, historyList(t)));
  try {
    await exec.run({ sql: text, params: historyParams(row) });
    return true;
  } catch (error) {
    // The primary key (id, version) is the table's only unique key. Nothing else is hidden.
    if (errnoOf(error) === ER_DUP_ENTRY) return false;
    throw error;
  }
}

/** The stored versions of `id` in ascending version order (only `version` when given). */
export async function getHistory(
  exec: Executor,
  t: HistoryTable,
  id: string,
  version: number | undefined,
): Promise<HistoryRow[]> {
  const one = version !== undefined;
  const text = template(
    t.statements,
    one ? 'get:version' : 'get',
    () =>
      sql`SELECT ${sql.join([...historyList(t)], sql`, `)} FROM ${t.table} WHERE ${t.id} = ${PLACEHOLDER}${one ? sql` AND ${t.version} = ${PLACEHOLDER}` : sql``} ORDER BY ${t.version}`,
  );
  const params = one ? [id, version] : [id];
  return (await exec.rows({ sql: text, params })).map((row) => decodeHistory(row, valueReader));
}
