/**
 * Reads and writes records in an entity table: text bodies in `body`, binary
 * bodies in `bin`, versions compared and set in single statements. Statement
 * texts are built once per shape and run as prepared statements.
 */
import { type RecordRow, ValidationError } from '@waffle/core';
import { decodeRecord, recordValues } from '@waffle/sql';
import { type SQL, sql } from 'drizzle-orm';
import { batches, ER_DUP_ENTRY, type Executor, errnoOf, PLACEHOLDER, pad, template } from './mysql-exec.js';
import type { EntityTable } from './mysql-tables.js';
import { toBuffer, valueReader } from './mysql-values.js';

/** Ids per `IN` list: MySQL's range optimizer gives up on very long lists (`range_optimizer_max_mem_size`). */
const MAX_IDS_PER_STATEMENT = 8192;

function selectList(t: EntityTable): SQL {
  return sql.join([t.id, t.body, t.bin, t.codec, t.version, t.createdAt, t.updatedAt], sql`, `);
}

/** `body`, `bin`: a text body goes to `body`, a binary one (as a Buffer) to `bin`. */
function bodies(record: RecordRow): [string | null, Buffer | null] {
  const { body, bin } = recordValues(record);
  return [body, bin === null ? null : toBuffer(bin)];
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
  const text = template(t.statements, 'insert', () => {
    const columns = [t.id, t.body, t.bin, t.codec, t.version, t.createdAt, t.updatedAt].map((c) =>
      sql.identifier(c.name),
    );
    return sql`INSERT INTO ${t.table} (${sql.join(columns, sql`, `)}) VALUES (${sql.join(
      columns.map(() => PLACEHOLDER),
      sql`, `,
    )})`;
  });
  const [body, bin] = bodies(record);
  try {
    await exec.run({
      sql: text,
      params: [record.id, body, bin, record.codec, record.version, record.createdAt, record.updatedAt],
    });
    return true;
  } catch (error) {
    // The primary key is the table's only unique key: a duplicate entry is the id. Nothing else is hidden.
    if (errnoOf(error) === ER_DUP_ENTRY) return false;
    throw error;
  }
}

/** The first number of an UPDATE's info text, `Rows matched: 1  Changed: 0  Warnings: 0` (translated with the server's language). */
function matchedRows(info: string): number | undefined {
  const match = /\d+/.exec(info);
  return match ? Number(match[0]) : undefined;
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
    const set = [t.body, t.bin, t.codec, t.version, t.createdAt, t.updatedAt].map(
      (c) => sql`${sql.identifier(c.name)} = ${PLACEHOLDER}`,
    );
    return sql`UPDATE ${t.table} SET ${sql.join(set, sql`, `)} WHERE ${t.id} = ${PLACEHOLDER} AND ${t.version} = ${PLACEHOLDER}`;
  });
  const [body, bin] = bodies(record);
  const result = await exec.run({
    sql: text,
    params: [
      body,
      bin,
      record.codec,
      record.version,
      record.createdAt,
      record.updatedAt,
      record.id,
      expectedVersion,
    ],
  });
  if (result.affectedRows > 0) return true;
  // The version changes in every update core makes, so only a caller writing the same version can see 0 for a match.
  if (record.version !== expectedVersion) return false;
  const matched = matchedRows(result.info);
  if (matched !== undefined) return matched > 0;
  const [current] = await getRecords(exec, t, [record.id], 1);
  return current?.version === expectedVersion;
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

/** Up to `limit` records with ids above `after`, in ascending id (byte, hence code point) order. */
export async function scanRecords(
  exec: Executor,
  t: EntityTable,
  after: string | undefined,
  limit: number,
): Promise<RecordRow[]> {
  const first = after === undefined;
  const text = template(
    t.statements,
    first ? 'scan' : 'scan:after',
    () =>
      sql`SELECT ${selectList(t)} FROM ${t.table}${first ? sql`` : sql` WHERE ${t.id} > ${PLACEHOLDER}`} ORDER BY ${t.id} LIMIT ${PLACEHOLDER}`,
  );
  const params = first ? [limitParam(limit)] : [after, limitParam(limit)];
  return (await exec.rows({ sql: text, params })).map((row) => decodeRecord(row, valueReader));
}
