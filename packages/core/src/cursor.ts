import { fromBase64, fromUtf8, toBase64, utf8 } from './base64.js';
import type { ColumnKind, ColumnValue } from './columns.js';
import { ValidationError } from './errors.js';
import type { KeyPart } from './order.js';

/**
 * Encodes the sort key of the last record of a page as an opaque cursor. The
 * cursor also names the query's order, so that it cannot resume another query.
 */
export function encodeCursor(
  signature: string,
  parts: readonly KeyPart[],
  key: readonly ColumnValue[],
): string {
  const values = parts.map((p, i) => encodeValue(p.ref.type.kind, key[i]!));
  return toBase64(utf8(JSON.stringify([signature, values])), true);
}

/** Decodes a cursor made by {@link encodeCursor} for the same order; throws {@link ValidationError} otherwise. */
export function decodeCursor(cursor: unknown, signature: string, parts: readonly KeyPart[]): ColumnValue[] {
  const invalid = (why: string) => new ValidationError(`Invalid cursor passed as "after": ${why}`);
  if (typeof cursor !== 'string' || cursor.length === 0)
    throw invalid('expected the non-empty string of page().next');
  let decoded: unknown;
  try {
    decoded = JSON.parse(fromUtf8(fromBase64(cursor) ?? new Uint8Array([0xff])));
  } catch {
    throw invalid('not a cursor made by page()');
  }
  if (!Array.isArray(decoded) || decoded.length !== 2 || !Array.isArray(decoded[1])) {
    throw invalid('not a cursor made by page()');
  }
  if (decoded[0] !== signature) {
    throw invalid(
      `it was made by a query with another index or order (${String(decoded[0])}, not ${signature})`,
    );
  }
  const values = decoded[1] as unknown[];
  if (values.length !== parts.length) throw invalid('wrong number of key values');
  return parts.map((p, i) => {
    const value = decodeValue(p.ref.type.kind, values[i]);
    // A record id is never null: a key with none is no key page() wrote (and has nothing after it).
    if (value === undefined || (value === null && p.position < 0))
      throw invalid(`bad value for ${p.ref.name}`);
    return value;
  });
}

/** A column value as JSON (bigints as strings, timestamps as milliseconds, bytes as base64). */
export function encodeValue(kind: ColumnKind, value: ColumnValue): unknown {
  if (value === null) return null;
  switch (kind) {
    case 'bigint':
      return String(value);
    case 'timestamp':
      return (value as Date).getTime();
    case 'bytes':
      return toBase64(value as Uint8Array);
    default:
      return value;
  }
}

/** The column value of {@link encodeValue}'s JSON, or `undefined` when it is not one of `kind`. */
export function decodeValue(kind: ColumnKind, value: unknown): ColumnValue | undefined {
  if (value === null) return null;
  switch (kind) {
    case 'integer':
    case 'real':
      return typeof value === 'number' ? value : undefined;
    case 'text':
      return typeof value === 'string' ? value : undefined;
    case 'boolean':
      return typeof value === 'boolean' ? value : undefined;
    case 'bigint':
      return typeof value === 'string' && /^-?\d+$/.test(value) ? BigInt(value) : undefined;
    case 'timestamp':
      return typeof value === 'number' ? new Date(value) : undefined;
    case 'bytes':
      return typeof value === 'string' ? fromBase64(value) : undefined;
  }
}
