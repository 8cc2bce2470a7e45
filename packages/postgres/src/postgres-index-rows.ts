/**
 * Writes, deletes and reads index rows. Batches travel as one text array per
 * column, expanded by `unnest` on the server, so one prepared statement per
 * table serves a batch of any size. Keys are unique over (columns…, `__id`)
 * with nulls equal to each other (`NULLS NOT DISTINCT`), so `ON CONFLICT`
 * upserts every key; deletes match a null with `IS NULL`, which, unlike
 * `IS NOT DISTINCT FROM`, the unique index serves.
 */
import {
  INDEX_ID_COLUMN,
  INDEX_VERSION_COLUMN,
  type IndexQuery,
  type IndexRow,
  ValidationError,
} from '@waffle/core';
import { chunks, compileOrder, compilePredicate, decodeIndexRow } from '@waffle/sql';
import { type SQL, sql } from 'drizzle-orm';
import { builder, type Executor, statementOf, Template } from './postgres-exec.js';
import { sqlColumns } from './postgres-predicate.js';
import { arrayType, type IndexTable } from './postgres-tables.js';
import { arrayLiteral, keyOf, toText, valueReader } from './postgres-values.js';

const V = sql.identifier('__waffle_v');
const P = sql.placeholder;

/** A row as text: the column values, then the id, then the version. */
type Encoded = (string | null)[];

function encodeRows(t: IndexTable, rows: readonly IndexRow[]): Encoded[] {
  return rows.map((row) => {
    if (row.values.length !== t.columns.length) {
      throw new ValidationError(
        `Index "${t.spec.name}" has ${t.columns.length} columns, but a row for "${row.id}" has ${row.values.length} values`,
      );
    }
    return [...t.columns.map((c, i) => toText(c.kind, row.values[i]!)), row.id, String(row.version)];
  });
}

/** One row per key, with the highest version: PostgreSQL refuses an upsert touching one key twice. */
function dedupe(t: IndexTable, rows: readonly Encoded[]): Encoded[] {
  const n = t.columns.length;
  const byKey = new Map<string, Encoded>();
  for (const row of rows) {
    const key = keyOf(row.slice(0, n + 1));
    const seen = byKey.get(key);
    if (seen === undefined || Number(seen[n + 1]) < Number(row[n + 1])) byKey.set(key, row);
  }
  return [...byKey.values()];
}

function template(t: IndexTable, purpose: string, build: () => SQL): Template {
  let found = t.statements.get(purpose);
  if (found === undefined) {
    found = new Template(statementOf(build()));
    t.statements.set(purpose, found);
  }
  return found;
}

/** `$n::<type>[]`: one column of a batch, bound as an array literal. */
function arrayParam(name: string, type: string): SQL {
  return sql`${P(name)}::${sql.raw(type)}`;
}

/** Placeholder values: one array literal per position of the encoded rows. */
function columnsOf(rows: readonly Encoded[], positions: readonly number[]): Record<string, string> {
  const values: Record<string, string> = {};
  for (const p of positions) values[`a${p}`] = arrayLiteral(rows.map((row) => row[p]!));
  return values;
}

/**
 * Writes index rows idempotently: `INSERT … SELECT FROM unnest(…) ON CONFLICT
 * (columns…, __id) DO UPDATE SET __version = EXCLUDED.__version WHERE the
 * stored tag is older`, so an existing key keeps the larger version tag.
 * Statements carry at most `batch` rows.
 */
export async function putIndexRows(
  exec: Executor,
  t: IndexTable,
  rows: readonly IndexRow[],
  batch: number,
): Promise<void> {
  const n = t.columns.length;
  const statement = template(t, 'put', () => {
    const names = [...t.columns.map((c) => c.name), INDEX_ID_COLUMN, INDEX_VERSION_COLUMN];
    const types = [...t.columns.map((c) => arrayType(c.kind)), 'text[]', 'int8[]'];
    const arrays = sql.join(
      types.map((type, i) => arrayParam(`a${i}`, type)),
      sql`, `,
    );
    const target = sql.join(
      names.slice(0, n + 1).map((name) => sql.identifier(name)),
      sql`, `,
    );
    const version = sql.identifier(INDEX_VERSION_COLUMN);
    return sql`INSERT INTO ${t.table} (${sql.join(
      names.map((name) => sql.identifier(name)),
      sql`, `,
    )}) SELECT * FROM unnest(${arrays}) ON CONFLICT (${target}) DO UPDATE SET ${version} = EXCLUDED.${version} WHERE ${t.table}.${version} < EXCLUDED.${version}`;
  });
  const positions = Array.from({ length: n + 2 }, (_, i) => i);
  for (const chunk of chunks(dedupe(t, encodeRows(t, rows)), batch)) {
    await exec.run(statement.bind(columnsOf(chunk, positions)));
  }
}

/**
 * Deletes each row's key where the stored version tag is older than the
 * row's version: `DELETE … USING unnest(…)`, one statement per pattern of
 * null columns in the batch, each key found through the unique index.
 */
export async function deleteIndexRows(
  exec: Executor,
  t: IndexTable,
  rows: readonly IndexRow[],
  batch: number,
): Promise<void> {
  const n = t.columns.length;
  const byPattern = new Map<string, Encoded[]>();
  for (const row of encodeRows(t, rows)) {
    const pattern = row
      .slice(0, n)
      .map((v) => (v === null ? '0' : '1'))
      .join('');
    const group = byPattern.get(pattern) ?? [];
    group.push(row);
    byPattern.set(pattern, group);
  }
  for (const [pattern, group] of byPattern) {
    // The positions bound as arrays: the non-null columns, the id and the version.
    const positions = [...t.columns.keys()].filter((i) => pattern[i] === '1').concat([n, n + 1]);
    const statement = template(t, `delete:${pattern}`, () => {
      const column = (i: number) => sql`${V}.${sql.identifier(`v${i}`)}`;
      const arrays = sql.join(
        positions.map((p) =>
          arrayParam(`a${p}`, p < n ? arrayType(t.columns[p]!.kind) : p === n ? 'text[]' : 'int8[]'),
        ),
        sql`, `,
      );
      const names = sql.join(
        positions.map((p) => sql.identifier(`v${p}`)),
        sql`, `,
      );
      const conditions = t.columns.map((c, i) =>
        pattern[i] === '1' ? sql`${c.column} = ${column(i)}` : sql`${c.column} IS NULL`,
      );
      conditions.push(sql`${t.id} = ${column(n)}`, sql`${t.version} < ${column(n + 1)}`);
      return sql`DELETE FROM ${t.table} USING unnest(${arrays}) AS ${V}(${names}) WHERE ${sql.join(conditions, sql` AND `)}`;
    });
    for (const chunk of chunks(group, batch)) await exec.run(statement.bind(columnsOf(chunk, positions)));
  }
}

/**
 * Reads index rows matching the query, in its order (nulls first ascending,
 * last descending, which the unique index serves in either direction),
 * converted back to column values.
 */
export async function queryIndex(exec: Executor, t: IndexTable, query: IndexQuery): Promise<IndexRow[]> {
  const fields: Record<string, SQL> = {};
  t.columns.forEach((c, i) => {
    fields[`c${i}`] =
      c.kind === 'bigint'
        ? sql`${c.column}::text`
        : c.kind === 'timestamp'
          ? sql`(extract(epoch from ${c.column}) * 1000)::int8::text`
          : sql`${c.column}`;
  });
  fields.id = sql`${t.id}`;
  fields.version = sql`${t.version}`;
  const columns = sqlColumns(t);
  const where = query.where === undefined ? undefined : compilePredicate(columns, query.where);
  const order = compileOrder(columns, query.orderBy, true);
  const base = builder.select(fields).from(t.table).where(where);
  const statement = statementOf((order.length > 0 ? base.orderBy(...order) : base).limit(query.limit));
  const rows = await exec.rows(statement, exec.preparable(statement.sql));
  return rows.map((row) => decodeIndexRow(row, t.columns, valueReader));
}
