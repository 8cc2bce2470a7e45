/**
 * Conversions between waffle's JavaScript column values and their SQLite
 * storage form, independent of the client's `intMode` (integers may come back
 * as numbers, bigints or strings) and of its blob type (ArrayBuffer or Buffer).
 */
import type { ColumnKind, ColumnValue } from '@waffle/core/adapter';
import { toNumber, type ValueReader } from '@waffle/sql';

/** A value as bound to a statement: `null`, number, bigint, string or bytes. */
export type StorageValue = null | number | bigint | string | Uint8Array;

/** Converts a column value to what SQLite stores: booleans 0/1, dates milliseconds. */
export function toStorage(kind: ColumnKind, value: ColumnValue): StorageValue {
  if (value === null || value === undefined) return null;
  switch (kind) {
    case 'boolean':
      return value ? 1 : 0;
    case 'timestamp':
      return (value as Date).getTime();
    case 'bigint':
      return typeof value === 'bigint' ? value : BigInt(value as number);
    case 'bytes':
      return value as Uint8Array;
    default:
      return value as number | string;
  }
}

/**
 * How libSQL result values are read back as column values, whatever the
 * client's `intMode`. `bigint` columns are read as `CAST(… AS TEXT)` so that
 * no precision is lost.
 */
export const valueReader: ValueReader = {
  number: toNumber,
  bigint: (raw) => (typeof raw === 'bigint' ? raw : BigInt(raw as string | number)),
  text: String,
  boolean: (raw) => toNumber(raw) !== 0,
  bytes: toBytes,
};

/** A plain Uint8Array (never a Buffer) from a driver blob. */
export function toBytes(raw: unknown): Uint8Array {
  if (raw instanceof ArrayBuffer) return new Uint8Array(raw);
  if (ArrayBuffer.isView(raw)) return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength).slice();
  throw new TypeError(`expected a blob from the database, got ${typeof raw}`);
}
