/**
 * Reads and writes records in an entity table: text bodies in `body`, binary
 * bodies in `bin`, versions compared and set in single statements.
 */
import type { RecordRow } from '@waffle/core';
import { chunks, decodeRecord, recordSelection, recordValues } from '@waffle/sql';
import { and, asc, eq, gt, inArray } from 'drizzle-orm';
import type { Executor } from './libsql-exec.js';
import type { EntityTable } from './libsql-tables.js';
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

/** Replaces a record stored at `expectedVersion`; returns whether it did. */
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
export async function scanRecords(
  exec: Executor,
  t: EntityTable,
  after: string | undefined,
  limit: number,
): Promise<RecordRow[]> {
  const query = selectRecords(exec, t)
    .where(after === undefined ? undefined : gt(t.id, after))
    .orderBy(asc(t.id))
    .limit(limit);
  return (await exec.rows(query)).map((row) => decodeRecord(row, valueReader));
}
