/**
 * Writes, deletes and reads index rows. Keys are compared with `IS`, so a key
 * with nulls matches itself: SQLite's primary key does not keep such keys
 * unique, so tables with nullable columns are written with insert-if-absent
 * statements instead of `ON CONFLICT`.
 */
import {
  INDEX_ID_COLUMN,
  INDEX_VERSION_COLUMN,
  type IndexQuery,
  type IndexRow,
  ValidationError,
} from '@waffle/core';
import { chunks, compileOrder, compilePredicate, decodeIndexRow, rowsPerStatement } from '@waffle/sql';
import { type SQL, type SQLChunk, StringChunk, sql } from 'drizzle-orm';
import type { Executor } from './libsql-exec.js';
import { sqlColumns } from './libsql-predicate.js';
import type { IndexTable } from './libsql-tables.js';
import { keyOf, type StorageValue, toStorage, valueReader } from './libsql-values.js';

const V = sql.identifier('__waffle_v');
const X = sql`${sql.identifier('__waffle_x')}`;

/** A row in storage form: the column values, then the id, then the version. */
type Encoded = StorageValue[];

function encodeRows(t: IndexTable, rows: readonly IndexRow[]): Encoded[] {
  return rows.map((row) => {
    if (row.values.length !== t.columns.length) {
      throw new ValidationError(
        `Index "${t.spec.name}" has ${t.columns.length} columns, but a row for "${row.id}" has ${row.values.length} values`,
      );
    }
    return [...t.columns.map((c, i) => toStorage(c.kind, row.values[i]!)), row.id, row.version];
  });
}

/** `WITH __waffle_v(v0, v1, …) AS (VALUES (?, ?, …), …)`: the rows as a table. */
function withValues(t: IndexTable, rows: readonly Encoded[]): SQL {
  const names = Array.from({ length: t.columns.length + 2 }, (_, i) => sql.identifier(`v${i}`));
  // One flat list of chunks: nesting an sql`` per tuple makes drizzle several times slower on big batches.
  const chunks: SQLChunk[] = [sql`WITH ${V}(${sql.join(names, sql`, `)}) AS (VALUES `];
  const open = new StringChunk('(');
  const between = new StringChunk(', ');
  const close = new StringChunk(')');
  rows.forEach((row, i) => {
    if (i > 0) chunks.push(between);
    chunks.push(open);
    row.forEach((value, j) => {
      if (j > 0) chunks.push(between);
      chunks.push(sql.param(value));
    });
    chunks.push(close);
  });
  chunks.push(close);
  return sql.fromList(chunks);
}

/** `target.c0 IS v.v0 AND … AND target.__id = v.vN`: the row of `target` with a key of the values table. */
function sameKey(t: IndexTable, target: SQL): SQL {
  const n = t.columns.length;
  const parts = t.columns.map(
    (c, i) => sql`${target}.${sql.identifier(c.name)} IS ${V}.${sql.identifier(`v${i}`)}`,
  );
  parts.push(sql`${target}.${sql.identifier(INDEX_ID_COLUMN)} = ${V}.${sql.identifier(`v${n}`)}`);
  return sql.join(parts, sql` AND `);
}

/** One row per key, with the highest version, so a statement never meets a key twice. */
function dedupe(t: IndexTable, rows: readonly Encoded[]): Encoded[] {
  const n = t.columns.length;
  const byKey = new Map<string, Encoded>();
  for (const row of rows) {
    const key = keyOf(row.slice(0, n + 1));
    const seen = byKey.get(key);
    if (seen === undefined || (seen[n + 1] as number) < (row[n + 1] as number)) byKey.set(key, row);
  }
  return [...byKey.values()];
}

/** A name that means the row id in `t`, even if a user column is called `rowid`. */
function rowidName(t: IndexTable): SQL {
  const names = new Set(t.columns.map((c) => c.name.toLowerCase()));
  const free = ['rowid', '_rowid_', 'oid'].find((n) => !names.has(n));
  if (free === undefined) {
    throw new ValidationError(
      `Index "${t.spec.name}": columns rowid, _rowid_ and oid together hide SQLite's row id`,
    );
  }
  return sql.raw(free);
}

/** Writes index rows idempotently; an existing key keeps the larger version tag. */
export async function putIndexRows(
  exec: Executor,
  t: IndexTable,
  rows: readonly IndexRow[],
  maxParameters: number,
): Promise<void> {
  const encoded = encodeRows(t, rows);
  const size = rowsPerStatement(t.columns.length + 2, maxParameters);
  const version = sql.identifier(INDEX_VERSION_COLUMN);
  const vVersion = sql`${V}.${sql.identifier(`v${t.columns.length + 1}`)}`;
  if (!t.hasNullable) {
    const target = [...t.columns.map((c) => c.column), t.id];
    const names = [...t.columns.map((c) => c.name), INDEX_ID_COLUMN, INDEX_VERSION_COLUMN];
    for (const chunk of chunks(encoded, size)) {
      const values = chunk.map((r) => Object.fromEntries(names.map((name, i) => [name, r[i]])));
      await exec.run(
        exec.db
          .insert(t.table)
          .values(values as never)
          .onConflictDoUpdate({
            target,
            set: { [INDEX_VERSION_COLUMN]: sql`excluded.${version}` } as never,
            setWhere: sql`${t.version} < excluded.${version}`,
          }),
      );
    }
    return;
  }
  const columns = sql.join(
    [...t.columns.map((c) => sql.identifier(c.name)), sql.identifier(INDEX_ID_COLUMN), version],
    sql`, `,
  );
  const vColumns = sql.join(
    Array.from({ length: t.columns.length + 2 }, (_, i) => sql`${V}.${sql.identifier(`v${i}`)}`),
    sql`, `,
  );
  for (const chunk of chunks(dedupe(t, encoded), size)) {
    const values = withValues(t, chunk);
    // Insert the missing keys first, then raise older versions: correct in any interleaving with other writers.
    await exec.run(
      sql`${values} INSERT INTO ${t.table} (${columns}) SELECT ${vColumns} FROM ${V} WHERE NOT EXISTS (SELECT 1 FROM ${t.table} AS ${X} WHERE ${sameKey(t, X)})`,
    );
    await exec.run(
      sql`${values} UPDATE ${t.table} SET ${version} = ${vVersion} FROM ${V} WHERE ${sameKey(t, sql`${t.table}`)} AND ${t.version} < ${vVersion}`,
    );
  }
}

/** Deletes each row's key where the stored version tag is older than the row's version. */
export async function deleteIndexRows(
  exec: Executor,
  t: IndexTable,
  rows: readonly IndexRow[],
  maxParameters: number,
): Promise<void> {
  const rowid = rowidName(t);
  const vVersion = sql`${V}.${sql.identifier(`v${t.columns.length + 1}`)}`;
  for (const chunk of chunks(encodeRows(t, rows), rowsPerStatement(t.columns.length + 2, maxParameters))) {
    // CROSS JOIN keeps the values table outside, so each row is found through the primary key.
    await exec.run(
      sql`${withValues(t, chunk)} DELETE FROM ${t.table} WHERE ${rowid} IN (SELECT ${X}.${rowid} FROM ${V} CROSS JOIN ${t.table} AS ${X} ON ${sameKey(t, X)} AND ${X}.${sql.identifier(INDEX_VERSION_COLUMN)} < ${vVersion})`,
    );
  }
}

/** Reads index rows matching the query, in its order, converted back to column values. */
export async function queryIndex(exec: Executor, t: IndexTable, query: IndexQuery): Promise<IndexRow[]> {
  const fields: Record<string, SQL> = {};
  t.columns.forEach((c, i) => {
    fields[`c${i}`] = c.kind === 'bigint' ? sql`CAST(${c.column} AS TEXT)` : sql`${c.column}`;
  });
  fields.id = sql`${t.id}`;
  fields.version = sql`${t.version}`;
  const where = query.where === undefined ? undefined : compilePredicate(sqlColumns(t), query.where);
  const order = compileOrder(sqlColumns(t), query.orderBy);
  const base = exec.db.select(fields).from(t.table).where(where);
  const rows = await exec.rows((order.length > 0 ? base.orderBy(...order) : base).limit(query.limit));
  return rows.map((row) => decodeIndexRow(row, t.columns, valueReader));
}
