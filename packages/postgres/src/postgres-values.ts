/**
 * Conversions between waffle's JavaScript column values and PostgreSQL, made
 * so that they hold whatever type configuration a caller's postgres.js client
 * has: values are bound in forms every serializer passes through, arrays are
 * sent as literal text, and results are read from forms no parser changes
 * (int8 as text, timestamps as epoch milliseconds) or converted from any form
 * a parser may give (numbers, strings, bigints, Buffers).
 */
import type { ColumnKind, ColumnValue } from '@waffle/core/adapter';
import { toNumber, type ValueReader } from '@waffle/sql';

/** A value as bound to a statement. */
export type StorageValue = null | number | string | boolean | Uint8Array;

/** PostgreSQL type of each column kind. */
export const PG_TYPE: Record<ColumnKind, string> = {
  integer: 'int4',
  bigint: 'int8',
  real: 'float8',
  text: 'text',
  boolean: 'bool',
  timestamp: 'timestamptz',
  bytes: 'bytea',
};

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/**
 * Converts a column value to a bound parameter: bigints as decimal text and
 * timestamps as ISO 8601 UTC text (the server reads both by the column's
 * type), booleans and bytes as themselves (postgres.js serializes them by the
 * parameter's type), the rest as numbers and strings.
 */
export function toStorage(kind: ColumnKind, value: ColumnValue): StorageValue {
  if (value === null || value === undefined) return null;
  switch (kind) {
    case 'bigint':
      return String(value);
    case 'timestamp':
      return (value as Date).toISOString();
    default:
      return value as number | string | boolean | Uint8Array;
  }
}

/** Bytes as PostgreSQL's `bytea` input text: `\\x` and hex digits. */
export function hexBytes(bytes: Uint8Array): string {
  return `\\x${hex(bytes)}`;
}

/**
 * A bound value (of {@link toStorage}, or a record's) as the text of one
 * array element, which the element type's input function reads.
 */
export function elementText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (value instanceof Uint8Array) return hexBytes(value);
  return String(value);
}

const ARRAY_SPECIAL = /["\\]/g;

/**
 * A PostgreSQL array literal of text elements (`{"a","b\"c",NULL}`), bound to
 * a parameter of an array type (`$1::int4[]`). postgres.js passes a string
 * through unchanged whether or not it knows the array type (a client without
 * `fetch_types` does not), and the server reads it with the type's input
 * function. A constant array (not a text cast to one) lets the planner see its
 * size and hash a long `= ANY(…)` list.
 */
export function arrayLiteral(items: readonly (string | null)[]): string {
  let out = '{';
  for (let i = 0; i < items.length; i++) {
    if (i > 0) out += ',';
    const item = items[i];
    if (item === null || item === undefined) out += 'NULL';
    // Most elements (ids, numbers) have nothing to escape: a scan is cheaper than a replace.
    else if (item.includes('"') || item.includes('\\')) out += `"${item.replace(ARRAY_SPECIAL, '\\$&')}"`;
    else out += `"${item}"`;
  }
  return `${out}}`;
}

/**
 * How postgres.js result values are read back as column values, whatever
 * parsers the client has. Queries read `bigint` columns as text and
 * `timestamp` columns as epoch milliseconds, so no precision depends on them.
 */
export const valueReader: ValueReader = {
  number: toNumber,
  bigint: (raw) => (typeof raw === 'bigint' ? raw : BigInt(String(raw))),
  text: String,
  boolean: toBoolean,
  bytes: toBytes,
};

/** A boolean from a driver value (`true`, or the text `t` / `true` when no parser ran). */
export function toBoolean(raw: unknown): boolean {
  return raw === true || raw === 't' || raw === 'true';
}

/** A plain Uint8Array (never a Buffer) from a driver bytea: bytes, or the `\x…` hex text when no parser ran. */
export function toBytes(raw: unknown): Uint8Array {
  if (raw instanceof Uint8Array) return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength).slice();
  if (typeof raw === 'string' && raw.startsWith('\\x'))
    return new Uint8Array(Buffer.from(raw.slice(2), 'hex'));
  throw new TypeError(`expected a bytea from the database, got ${typeof raw}`);
}
