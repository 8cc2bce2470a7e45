/**
 * Writes, deletes and reads index rows. Upserts are multi-row
 * `INSERT … ON DUPLICATE KEY UPDATE __version = GREATEST(…)`; a table with
 * nullable columns keys its rows by (`__id`, `__key`), `__key` hashing the
 * column values, because MySQL's unique keys let NULLs repeat.
 */
import {
  INDEX_ID_COLUMN,
  INDEX_VERSION_COLUMN,
  type IndexQuery,
  type IndexRow,
  ValidationError,
} from '@waffle/core';
import { compileOrder, compilePredicate, decodeIndexRow, rowsPerStatement } from '@waffle/sql';
import { sql } from 'drizzle-orm';
import { batches, type Executor, PLACEHOLDER, pad, statementOf, template, tuples } from './mysql-exec.js';
import { sqlColumns } from './mysql-predicate.js';
import { limitParam } from './mysql-records.js';
import { type IndexTable, KEY_HASH_COLUMN } from './mysql-tables.js';
import { keyHash, keyOf, type StorageValue, toStorage, utf8Length, valueReader } from './mysql-values.js';

/** Rows per DELETE: each is an OR'd range, and MySQL's range optimizer gives up on very long lists. */
const MAX_DELETES_PER_STATEMENT = 1000;

/** A row in bound form. */
interface Encoded {
  readonly values: readonly StorageValue[];
  readonly id: string;
  readonly version: number;
  /** The key hash, for tables with nullable columns. */
  readonly hash: Buffer | undefined;
  /** Identifies the key (columns and id), and orders rows so that concurrent writers lock keys in one order. */
  readonly key: string;
  /** An upper bound of the bytes the row's values take in a statement. */
  readonly bytes: number;
}

function valueBytes(value: StorageValue): number {
  if (typeof value === 'string') return 11 + value.length * 3;
  if (value instanceof Uint8Array) return 11 + value.byteLength;
  return 19;
}

/** Checks rows against the table and converts them; `checkLengths` refuses values longer than the key holds. */
function encodeRows(t: IndexTable, rows: readonly IndexRow[], checkLengths: boolean): Encoded[] {
  return rows.map((row) => {
    if (row.values.length !== t.columns.length) {
      throw new ValidationError(
        `Index "${t.spec.name}" has ${t.columns.length} columns, but a row for "${row.id}" has ${row.values.length} values`,
      );
    }
    const values = t.columns.map((c, i) => {
      const value = toStorage(c.kind, row.values[i]!);
      if (checkLengths && c.maxBytes !== undefined && value !== null) {
        const size = typeof value === 'string' ? utf8Length(value, c.maxBytes) : (value as Buffer).length;
        if (size > c.maxBytes) {
          throw new ValidationError(
            `Index "${t.spec.name}" column "${c.name}": a ${c.kind} value of ${size} bytes (record "${row.id}") is longer than the ${c.maxBytes} bytes this MySQL index can hold (its key is limited to 3072 bytes, shared by its text and bytes columns)`,
          );
        }
      }
      return value;
    });
    let bytes = 11 + row.id.length * 3 + 19 + (t.hasNullable ? 43 : 0);
    for (const value of values) bytes += valueBytes(value);
    return {
      values,
      id: row.id,
      version: row.version,
      hash: t.hasNullable ? keyHash(values) : undefined,
      key: keyOf([...values, row.id]),
      bytes,
    };
  });
}

/** One row per key, with the highest version, sorted by key: a statement never meets a key twice. */
function dedupe(rows: readonly Encoded[]): Encoded[] {
  const byKey = new Map<string, Encoded>();
  for (const row of rows) {
    const seen = byKey.get(row.key);
    if (seen === undefined || seen.version < row.version) byKey.set(row.key, row);
  }
  return [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

const rowBytes = (row: Encoded) => row.bytes;

/** Writes index rows idempotently; an existing key keeps the larger version tag. */
export async function putIndexRows(
  exec: Executor,
  t: IndexTable,
  rows: readonly IndexRow[],
  maxParameters: number,
): Promise<void> {
  const encoded = dedupe(encodeRows(t, rows, true));
  const names = [...t.columns.map((c) => c.name), INDEX_ID_COLUMN, INDEX_VERSION_COLUMN];
  if (t.hasNullable) names.push(KEY_HASH_COLUMN);
  const most = rowsPerStatement(names.length, maxParameters);
  const alias = exec.server.upsertAlias;
  for (const batch of batches(encoded, most, exec.batchBytes, rowBytes)) {
    const padded = pad(batch, most, rowBytes);
    const text = template(t.statements, `put:${padded.length}:${alias ? 'alias' : 'values'}`, () => {
      const columns = sql.join(
        names.map((n) => sql.identifier(n)),
        sql`, `,
      );
      const version = sql.identifier(INDEX_VERSION_COLUMN);
      // MySQL 8.0.19+ names the proposed row with an alias (VALUES() is deprecated there); MariaDB has only VALUES().
      const proposed = alias ? sql`${sql.identifier('__new')}.${version}` : sql`VALUES(${version})`;
      return sql`INSERT INTO ${t.table} (${columns}) VALUES ${tuples(padded.length, names.length)}${alias ? sql` AS ${sql.identifier('__new')}` : sql``} ON DUPLICATE KEY UPDATE ${version} = GREATEST(${t.version}, ${proposed})`;
    });
    const params: unknown[] = [];
    for (const row of padded) {
      params.push(...row.values, row.id, row.version);
      if (row.hash) params.push(row.hash);
    }
    await exec.run({ sql: text, params });
  }
}

/** Deletes each row's key where the stored version tag is older than the row's version. */
export async function deleteIndexRows(
  exec: Executor,
  t: IndexTable,
  rows: readonly IndexRow[],
  maxParameters: number,
): Promise<void> {
  const encoded = dedupe(encodeRows(t, rows, false));
  const width = t.hasNullable ? 3 : t.columns.length + 2;
  const most = Math.min(rowsPerStatement(width, maxParameters), MAX_DELETES_PER_STATEMENT);
  for (const batch of batches(encoded, most, exec.batchBytes, rowBytes)) {
    const padded = pad(batch, most, rowBytes);
    const text = template(t.statements, `delete:${padded.length}`, () => {
      // The key's columns compared for equality (bigints as integers), then the version: each disjunct is one point of the primary key.
      const key = t.hasNullable
        ? [sql`${t.id} = ${PLACEHOLDER}`, sql`${sql.identifier(KEY_HASH_COLUMN)} = ${PLACEHOLDER}`]
        : [
            ...t.columns.map((c) =>
              c.kind === 'bigint'
                ? sql`${c.column} = CAST(${PLACEHOLDER} AS SIGNED)`
                : sql`${c.column} = ${PLACEHOLDER}`,
            ),
            sql`${t.id} = ${PLACEHOLDER}`,
          ];
      const one = sql`(${sql.join([...key, sql`${t.version} < ${PLACEHOLDER}`], sql` AND `)})`;
      // The multi-table form takes an index hint: without it the optimizer weighs every OR'd range
      // against the secondary key too, which costs more than the delete itself on long lists.
      return sql`DELETE ${t.table} FROM ${t.table} FORCE INDEX (PRIMARY) WHERE ${sql.join(
        padded.map(() => one),
        sql` OR `,
      )}`;
    });
    const params: unknown[] = [];
    for (const row of padded) {
      if (row.hash) params.push(row.id, row.hash, row.version);
      else params.push(...row.values, row.id, row.version);
    }
    await exec.run({ sql: text, params });
  }
}

/** Reads index rows matching the query, in its order, converted back to column values. */
export async function queryIndex(exec: Executor, t: IndexTable, query: IndexQuery): Promise<IndexRow[]> {
  const fields = t.columns.map((c) =>
    c.kind === 'bigint' ? sql`CAST(${c.column} AS CHAR)` : sql`${c.column}`,
  );
  fields.push(sql`${t.id}`, sql`${t.version}`);
  const columns = sqlColumns(t);
  const where = query.where === undefined ? undefined : compilePredicate(columns, query.where);
  const order = compileOrder(columns, query.orderBy);
  const statement = sql`SELECT ${sql.join(fields, sql`, `)} FROM ${t.table}${where ? sql` WHERE ${where}` : sql``}${
    order.length > 0 ? sql` ORDER BY ${sql.join(order, sql`, `)}` : sql``
  } LIMIT ${limitParam(query.limit)}`;
  const rows = await exec.rows(statementOf(statement));
  return rows.map((row) => decodeIndexRow(row, t.columns, valueReader));
}
