/**
 * Reading driver values back into waffle's column types. Drivers return the
 * same kind in different forms (numbers, strings, bigints, buffers, by their
 * settings); each adapter says how it reads each form, the dispatch is here.
 */
import type { ColumnKind, ColumnValue } from '@waffle/core/adapter';

/** How one driver's result values are read as JavaScript values. */
export interface ValueReader {
  number(raw: unknown): number;
  bigint(raw: unknown): bigint;
  text(raw: unknown): string;
  boolean(raw: unknown): boolean;
  bytes(raw: unknown): Uint8Array;
}

/** Converts a non-null result value back to its column type (`null` and `undefined` read as `null`). */
export function readColumn(read: ValueReader, kind: ColumnKind, raw: unknown): ColumnValue {
  if (raw === null || raw === undefined) return null;
  switch (kind) {
    case 'integer':
    case 'real':
      return read.number(raw);
    case 'bigint':
      return read.bigint(raw);
    case 'text':
      return read.text(raw);
    case 'boolean':
      return read.boolean(raw);
    case 'timestamp':
      return new Date(read.number(raw));
    case 'bytes':
      return read.bytes(raw);
  }
}

/** A number from a driver integer or real (a number, or a numeric string or bigint). */
export function toNumber(raw: unknown): number {
  return typeof raw === 'number' ? raw : Number(raw);
}
