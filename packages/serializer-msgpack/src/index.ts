import { SerializationError, type Serializer } from '@waffle/core';
import { C1, Packr, Unpackr } from 'msgpackr';

/** Options of {@link msgpack}. */
export interface MsgpackOptions {
  /** The codec tag stored with each row (default `msgpack`). */
  readonly codec?: string;
}

const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;
/** Nesting below which {@link fits} does not look for cycles (a cycle nests without end). */
const FAST_DEPTH = 256;

/** `String.prototype.isWellFormed` (Node 20+; not in TypeScript's ES2023 lib). */
const wellFormed = (s: string) => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/** What MessagePack cannot hold, and the path to it, built from the inside out. */
interface Problem {
  readonly what: string;
  readonly steps: string[];
}

const problem = (what: string): Problem => ({ what, steps: [] });
const article = (name: string) => (/^[aeio]/i.test(name) ? 'an' : 'a'); // a URL, a Uint8Array
const keyStep = (key: string) => (/^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`);

function kindOf(object: object): string {
  const name = (object.constructor as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' && name !== ''
    ? `${article(name)} ${name}`
    : 'an object of an anonymous class';
}

/**
 * Whether `value` certainly fits, checked fast (no paths, no cycle tracking):
 * `false` means a problem, or nesting deep enough to be a cycle, and sends the
 * encoder to {@link findProblem} for the details.
 */
function fits(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
      return wellFormed(value);
    case 'number':
    case 'boolean':
    case 'undefined':
      return true;
    case 'bigint':
      return value >= INT64_MIN && value <= UINT64_MAX;
    case 'object': {
      if (value === null) return true;
      if (depth > FAST_DEPTH) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) if (!fits(value[i], depth + 1)) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto === Object.prototype || proto === null) {
        for (const key in value) {
          if (key === '__proto__' || !wellFormed(key)) return false;
          if (!fits((value as Record<string, unknown>)[key], depth + 1)) return false;
        }
        return true;
      }
      return value instanceof Date ? !Number.isNaN(value.getTime()) : value instanceof Uint8Array;
    }
    default:
      return false;
  }
}

/**
 * Finds the first part of `value` that msgpack() cannot store exactly (what
 * the encoder would silently drop or change: Map, Set, class instances,
 * functions, `__proto__` keys, lone surrogates, BigInts out of 64 bits,
 * invalid Dates, cycles). Paths are only built on the way out of a problem.
 */
function findProblem(value: unknown, ancestors: Set<object>): Problem | undefined {
  switch (typeof value) {
    case 'string':
      return wellFormed(value) ? undefined : problem('a string with a lone surrogate');
    case 'number':
    case 'boolean':
    case 'undefined':
      return undefined;
    case 'bigint':
      return value >= INT64_MIN && value <= UINT64_MAX
        ? undefined
        : problem('a BigInt outside the 64-bit range');
    case 'function':
      return problem('a function');
    case 'symbol':
      return problem('a symbol');
  }
  if (value === null) return undefined;
  const object = value as object;
  // An invalid Date would need msgpackr's own form of the timestamp extension, which other readers refuse.
  if (object instanceof Date) return Number.isNaN(object.getTime()) ? problem('an invalid Date') : undefined;
  if (object instanceof Uint8Array) return undefined;
  if (ancestors.has(object)) return problem('a circular reference');
  if (Array.isArray(object)) {
    ancestors.add(object);
    for (let i = 0; i < object.length; i++) {
      const found = findProblem(object[i], ancestors);
      if (found) {
        found.steps.push(`[${i}]`);
        return found;
      }
    }
    ancestors.delete(object);
    return undefined;
  }
  const proto = Object.getPrototypeOf(object);
  if (proto !== Object.prototype && proto !== null) return problem(kindOf(object));
  ancestors.add(object);
  for (const key of Object.keys(object)) {
    const found =
      key === '__proto__'
        ? problem('a property named __proto__')
        : !wellFormed(key)
          ? problem('a property name with a lone surrogate')
          : findProblem((object as Record<string, unknown>)[key], ancestors);
    if (found) {
      found.steps.push(keyStep(key));
      return found;
    }
  }
  ancestors.delete(object);
  return undefined;
}

/** Standard MessagePack: maps for objects (no msgpackr records), int64 for BigInts, timestamps for Dates. */
const OPTIONS = {
  useRecords: false,
  variableMapSize: true,
  mapsAsObjects: true,
  moreTypes: false,
  structuredClone: false,
  int64AsType: 'bigint',
  copyBuffers: true,
} as const;

/**
 * The MessagePack codec (msgpackr): compact binary bodies that keep what
 * JSON loses — Dates (MessagePack timestamps), binary data (Uint8Array),
 * BigInts within 64 bits, `undefined`, NaN and ±Infinity — and refuse with a
 * {@link SerializationError} what they would change: Map, Set, class
 * instances, functions, symbols, cycles, BigInts out of range, invalid
 * Dates, lone surrogates, `__proto__` keys.
 */
export function msgpack(options: MsgpackOptions = {}): Serializer {
  const codec = options.codec ?? 'msgpack';
  const packr = new Packr(OPTIONS);
  const unpackr = new Unpackr(OPTIONS);
  return {
    codec,
    format: 'binary',
    encode(value: unknown): Uint8Array {
      let found: Problem | undefined;
      try {
        found = fits(value, 0) ? undefined : findProblem(value, new Set());
      } catch (error) {
        // Nesting deep enough to exhaust the stack.
        throw new SerializationError(`MessagePack cannot represent this value: ${(error as Error).message}`, {
          cause: error,
        });
      }
      if (found) {
        throw new SerializationError(
          `MessagePack cannot represent ${found.what} at $${found.steps.reverse().join('')}`,
        );
      }
      try {
        // A fresh, plain Uint8Array: msgpackr returns a Buffer view of a shared slab.
        return new Uint8Array(packr.pack(value));
      } catch (error) {
        throw new SerializationError(`MessagePack cannot represent this value: ${(error as Error).message}`, {
          cause: error,
        });
      }
    },
    decode(body: string | Uint8Array): unknown {
      if (!(body instanceof Uint8Array)) {
        throw new SerializationError(
          `Stored body is not valid ${codec}: MessagePack bodies are bytes, not text`,
        );
      }
      // A plain view of our own (no copy): binary values come back as plain Uint8Arrays, not Buffers,
      // and msgpackr caches its DataView on this view rather than on the caller's body.
      const bytes = new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
      let value: unknown;
      try {
        value = unpackr.unpack(bytes);
      } catch (error) {
        throw new SerializationError(`Stored body is not valid ${codec}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      if (value === C1)
        throw new SerializationError(`Stored body is not valid ${codec}: the never-used byte 0xC1`);
      return value;
    },
  };
}
