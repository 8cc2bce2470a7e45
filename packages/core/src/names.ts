import { ValidationError } from './errors.js';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Longest entity name: 63 (PostgreSQL's identifier limit) less room for the
 * suffixes waffle appends to an entity's own tables.
 */
export const MAX_ENTITY_NAME = 48;
/** Longest index or column name. */
export const MAX_NAME = 63;

/**
 * Checks a name used as an SQL identifier: ASCII letters, digits and `_`, not
 * starting with a digit, not starting with `__` (reserved for waffle's own
 * tables and columns), at most `max` characters. Throws {@link ValidationError}.
 */
export function checkName(kind: string, name: unknown, max = MAX_NAME): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new ValidationError(
      `Invalid ${kind} name ${JSON.stringify(name)}: a name must be a non-empty string`,
    );
  }
  if (!NAME.test(name)) {
    throw new ValidationError(
      `Invalid ${kind} name ${JSON.stringify(name)}: use ASCII letters, digits and _, not starting with a digit`,
    );
  }
  if (name.startsWith('__')) {
    throw new ValidationError(
      `Invalid ${kind} name "${name}": names starting with __ are reserved for waffle`,
    );
  }
  if (name.length > max) {
    throw new ValidationError(
      `Invalid ${kind} name "${name}": ${name.length} characters, at most ${max} allowed`,
    );
  }
  return name;
}

/** Longest record id, in UTF-8 bytes. */
export const MAX_ID_BYTES = 255;

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const utf8 = new TextEncoder();

/** True when `text` has no lone surrogate, so it can be stored as UTF-8. */
export function isWellFormed(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

/**
 * True when `id` has no control character and no surrogate at all, found by
 * one pass over its char codes (most ids, uuids among them); false sends it
 * to the exact checks, which accept well-formed surrogate pairs.
 */
function plainId(id: string): boolean {
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || (c >= 0xd800 && c <= 0xdfff)) return false;
  }
  return true;
}

/** Checks a record id: a non-empty, well-formed string of at most 255 UTF-8 bytes without control characters. */
export function checkId(id: unknown): string {
  if (typeof id !== 'string' || id.length === 0) {
    throw new ValidationError(`Invalid record id ${describe(id)}: an id must be a non-empty string`);
  }
  if (!plainId(id) && (CONTROL.test(id) || !isWellFormed(id))) {
    throw new ValidationError(
      `Invalid record id ${JSON.stringify(id)}: control characters and lone surrogates are not allowed`,
    );
  }
  // At most 3 bytes of UTF-8 per UTF-16 unit: measure only an id that could be too long.
  if (id.length * 3 > MAX_ID_BYTES && utf8.encode(id).length > MAX_ID_BYTES) {
    throw new ValidationError(
      `Invalid record id "${id.slice(0, 40)}…": longer than ${MAX_ID_BYTES} bytes of UTF-8`,
    );
  }
  return id;
}

/** A short description of an unexpected value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'bigint') return `${value}n (bigint)`;
  if (typeof value === 'string')
    return `${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)} (string)`;
  if (value instanceof Date)
    return `Date(${Number.isNaN(value.getTime()) ? 'invalid' : value.toISOString()})`;
  if (value instanceof Uint8Array) return `Uint8Array(${value.length})`;
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return `${String(value)} (${typeof value})`;
}
