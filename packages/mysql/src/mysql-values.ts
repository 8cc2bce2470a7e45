/**
 * Conversions between waffle's JavaScript column values and what MySQL stores
 * and mysql2 binds and returns, independent of the pool's number settings
 * (`supportBigNumbers`, `bigNumberStrings`): integers may come back as numbers
 * or strings, binary strings as Buffers.
 */
import { createHash } from 'node:crypto';
import type { ColumnKind, ColumnValue } from '@waffle/core/adapter';
import type { ValueReader } from '@waffle/sql';

/** A value as bound to a statement: `null`, number, string (text, or a bigint in decimal) or a Buffer. */
export type StorageValue = null | number | string | Buffer;

/** A Buffer over the same memory as `bytes` (mysql2 sends only Buffers as binary data). */
export function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Converts a column value to its bound form: booleans 0/1, dates milliseconds,
 * bigints decimal strings (mysql2 would send an unsafe number as a double),
 * bytes Buffers (sent as binary, never as text in the connection's charset).
 */
export function toStorage(kind: ColumnKind, value: ColumnValue): StorageValue {
  if (value === null || value === undefined) return null;
  switch (kind) {
    case 'integer':
    case 'real':
      return (value as number) === 0 ? 0 : (value as number);
    case 'bigint':
      return String(value);
    case 'text':
      return value as string;
    case 'boolean':
      return value ? 1 : 0;
    case 'timestamp':
      return (value as Date).getTime();
    case 'bytes':
      return toBuffer(value as Uint8Array);
  }
}

/**
 * How mysql2 result values are read back as column values, whatever the
 * pool's number settings. `bigint` columns are read as `CAST(… AS CHAR)`, so
 * no precision is lost.
 */
export const valueReader: ValueReader = {
  number: toNumber,
  bigint: (raw) => (typeof raw === 'bigint' ? raw : BigInt(toText(raw))),
  text: toText,
  boolean: (raw) => toNumber(raw) !== 0,
  bytes: toBytes,
};

/** A number from a driver integer or double (a number, or a string or bigint under the big-number settings). */
export function toNumber(raw: unknown): number {
  return typeof raw === 'number' ? raw : Number(typeof raw === 'object' ? toText(raw) : raw);
}

/** A string from a driver string or binary string (UTF-8). */
export function toText(raw: unknown): string {
  if (typeof raw === 'string') return raw;
  if (raw instanceof Uint8Array) return toBuffer(raw).toString('utf8');
  return String(raw);
}

/** A plain Uint8Array (never a Buffer, never a view of the driver's packet) from a driver binary string. */
export function toBytes(raw: unknown): Uint8Array {
  if (raw instanceof Uint8Array) return new Uint8Array(raw);
  if (typeof raw === 'string') return new Uint8Array(Buffer.from(raw, 'utf8'));
  throw new TypeError(`expected binary data from the database, got ${typeof raw}`);
}

/** The UTF-8 length of a string, measured only when it could exceed `max` bytes. */
export function utf8Length(text: string, max: number): number {
  return text.length * 3 <= max ? text.length : Buffer.byteLength(text, 'utf8');
}

const TAG = { null: 0, number: 1, string: 2, bytes: 3 } as const;

/**
 * SHA-256 of an unambiguous encoding of key values (nulls included): the NOT
 * NULL shadow key that keeps the keys of an index with nullable columns unique.
 * Two keys hash alike exactly when they are equal with `<=>`, since every
 * stored form is exact (doubles by their bits, -0 as 0; text by its UTF-8 bytes).
 */
export function keyHash(values: readonly StorageValue[]): Buffer {
  const hash = createHash('sha256');
  const head = Buffer.alloc(9);
  for (const value of values) {
    if (value === null) {
      hash.update(head.subarray(0, 1).fill(TAG.null));
    } else if (typeof value === 'number') {
      head[0] = TAG.number;
      head.writeDoubleBE(value === 0 ? 0 : value, 1);
      hash.update(head);
    } else {
      const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
      head[0] = typeof value === 'string' ? TAG.string : TAG.bytes;
      head.writeUInt32BE(bytes.length, 1);
      hash.update(head.subarray(0, 5));
      hash.update(bytes);
    }
  }
  return hash.digest();
}
