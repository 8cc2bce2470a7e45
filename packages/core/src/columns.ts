import { ValidationError } from './errors.js';
import { describe, isWellFormed } from './names.js';

/** The column types an index can hold. Each adapter maps them to its dialect. */
export type ColumnKind = 'integer' | 'bigint' | 'real' | 'text' | 'boolean' | 'timestamp' | 'bytes';

/** The JavaScript value of each column type, as mappers return and predicates take it. */
export interface ColumnValues {
  integer: number;
  bigint: bigint;
  real: number;
  text: string;
  boolean: boolean;
  timestamp: Date;
  bytes: Uint8Array;
}

/** A stored value of any column type (`null` only in nullable columns). */
export type ColumnValue = ColumnValues[ColumnKind] | null;

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** Timestamps are kept to the millisecond; this range fits every dialect's native type. */
// Not Date.UTC(1, 0, 1): Date.UTC maps years 0..99 to 1900..1999, which would give 1901-01-01.
const TIMESTAMP_MIN = Date.parse('0001-01-01T00:00:00.000Z');
const TIMESTAMP_MAX = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * An index column's type. Created by {@link integer}, {@link bigint}, {@link real},
 * {@link text}, {@link boolean}, {@link timestamp} and {@link bytes}; columns are
 * NOT NULL unless made {@link ColumnType.nullable}.
 */
export class ColumnType<K extends ColumnKind = ColumnKind, N extends boolean = boolean> {
  /** @internal */
  constructor(
    readonly kind: K,
    readonly isNullable: N,
  ) {}

  /** The same type, also accepting `null`. */
  nullable(): ColumnType<K, true> {
    return new ColumnType(this.kind, true);
  }

  /**
   * Checks and normalises one value for this column (`-0` becomes `0`, a safe
   * integer number becomes a bigint for `bigint()`, a Buffer a plain Uint8Array).
   * `where` names the value in the error message.
   */
  normalize(value: unknown, where: string): ColumnValue {
    if (value === null) {
      if (this.isNullable) return null;
      throw new ValidationError(
        `${where}: null in a column that is not nullable (declare it with .nullable())`,
      );
    }
    const bad = (why: string) =>
      new ValidationError(`${where}: expected ${this.kind}${why ? ` (${why})` : ''}, got ${describe(value)}`);
    switch (this.kind) {
      case 'integer':
        if (typeof value !== 'number' || !Number.isInteger(value)) throw bad('');
        if (value < INT32_MIN || value > INT32_MAX) throw bad('32-bit signed integer');
        return value === 0 ? 0 : value;
      case 'bigint': {
        let v: bigint;
        if (typeof value === 'bigint') v = value;
        else if (typeof value === 'number' && Number.isSafeInteger(value)) v = BigInt(value);
        else throw bad('a bigint, or a number that is a safe integer');
        if (v < INT64_MIN || v > INT64_MAX) throw bad('64-bit signed integer');
        return v;
      }
      case 'real':
        if (typeof value !== 'number' || !Number.isFinite(value)) throw bad('a finite number');
        return value === 0 ? 0 : value;
      case 'text':
        if (typeof value !== 'string') throw bad('');
        if (value.includes('\u0000') || !isWellFormed(value)) throw bad('no NUL character or lone surrogate');
        return value;
      case 'boolean':
        if (typeof value !== 'boolean') throw bad('');
        return value;
      case 'timestamp':
        if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw bad('a valid Date');
        if (value.getTime() < TIMESTAMP_MIN || value.getTime() > TIMESTAMP_MAX) throw bad('years 1 to 9999');
        return value;
      case 'bytes':
        if (!(value instanceof Uint8Array)) throw bad('a Uint8Array');
        return value.constructor === Uint8Array
          ? value
          : new Uint8Array(value.buffer, value.byteOffset, value.length);
    }
  }

  /**
   * Orders two non-null values of this type the way every adapter's database
   * orders them: numbers numerically, text by Unicode code point (binary
   * collation), bytes bytewise, false before true, dates by time.
   */
  compare(a: ColumnValue, b: ColumnValue): number {
    return compareValues(this.kind, a, b);
  }
}

/** Orders two values of one column kind; `null` sorts before every other value. */
export function compareValues(kind: ColumnKind, a: ColumnValue, b: ColumnValue): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  switch (kind) {
    case 'integer':
    case 'real':
      return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
    case 'bigint':
      return (a as bigint) < (b as bigint) ? -1 : (a as bigint) > (b as bigint) ? 1 : 0;
    case 'text':
      return compareText(a as string, b as string);
    case 'boolean':
      return Number(a) - Number(b);
    case 'timestamp':
      return Math.sign((a as Date).getTime() - (b as Date).getTime());
    case 'bytes':
      return compareBytes(a as Uint8Array, b as Uint8Array);
  }
}

/**
 * Compares strings by Unicode code point, which is the order of UTF-8 bytes
 * and so of every database's binary collation. JavaScript's `<` compares
 * UTF-16 code units instead, which differs for characters above U+FFFF.
 */
export function compareText(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Move surrogates (D800-DFFF) above E000-FFFF so units order as code points.
    if (x >= 0xd800) x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
    if (y >= 0xd800) y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    return x - y;
  }
  return a.length - b.length;
}

/** Compares byte arrays lexicographically (memcmp, then length). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** True when two non-null values of one kind are equal. */
export function sameValue(kind: ColumnKind, a: ColumnValue, b: ColumnValue): boolean {
  return compareValues(kind, a, b) === 0;
}

/** A 32-bit signed integer column (JavaScript `number`). */
export const integer = (): ColumnType<'integer', false> => new ColumnType('integer', false);
/** A 64-bit signed integer column (JavaScript `bigint`; safe-integer numbers are accepted). */
export const bigint = (): ColumnType<'bigint', false> => new ColumnType('bigint', false);
/** A double-precision column (finite JavaScript `number`). */
export const real = (): ColumnType<'real', false> => new ColumnType('real', false);
/** A text column, compared by code point (binary collation). */
export const text = (): ColumnType<'text', false> => new ColumnType('text', false);
/** A boolean column. */
export const boolean = (): ColumnType<'boolean', false> => new ColumnType('boolean', false);
/** A timestamp column with millisecond precision (JavaScript `Date`, years 1 to 9999). */
export const timestamp = (): ColumnType<'timestamp', false> => new ColumnType('timestamp', false);
/** A binary column (JavaScript `Uint8Array`). */
export const bytes = (): ColumnType<'bytes', false> => new ColumnType('bytes', false);
