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

/** Tags of the JSON form: an object with exactly one key, starting with `$`. */
type Tag = '$undefined' | '$number' | '$bigint' | '$date' | '$bytes' | '$object';
const TAGS: ReadonlySet<string> = new Set<Tag>([
  '$undefined',
  '$number',
  '$bigint',
  '$date',
  '$bytes',
  '$object',
]);
const NON_FINITE: ReadonlyMap<string, number> = new Map([
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['-Infinity', Number.NEGATIVE_INFINITY],
]);
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const INTEGER = /^-?(?:0|[1-9]\d*)$/;
/** An ISO 8601 date as `Date.prototype.toISOString` writes it (years may be extended). */
const ISO_DATE = /^(?:\d{4}|[+-]\d{6})-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** The single key of an object that has exactly one, starting with `$`. */
function tagOf(object: object): string | undefined {
  const keys = Object.keys(object);
  return keys.length === 1 && keys[0]!.startsWith('$') ? keys[0] : undefined;
}

/**
 * The JSON form of a value msgpack() stores (checked before): JSON values as
 * they are, and a one-key object for what JSON lacks — `{"$date": ISO}`,
 * `{"$bigint": "123"}`, `{"$bytes": base64}`, `{"$undefined": true}`,
 * `{"$number": "NaN" | "Infinity" | "-Infinity"}`; an object of the value
 * that looks like a tag (one key, starting with `$`) is wrapped as
 * `{"$object": {…}}`.
 */
function toForm(value: unknown): unknown {
  switch (typeof value) {
    case 'undefined':
      return { $undefined: true };
    case 'number':
      return Number.isFinite(value) ? value : { $number: String(value) };
    case 'bigint':
      return { $bigint: value.toString() };
    case 'object': {
      if (value === null) return null;
      if (value instanceof Date) return { $date: value.toISOString() };
      if (value instanceof Uint8Array)
        return { $bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
      if (Array.isArray(value)) {
        const out: unknown[] = [];
        // A hole is read back as undefined.
        for (let i = 0; i < value.length; i++) out.push(toForm(value[i]));
        return out;
      }
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(value)) out[key] = toForm((value as Record<string, unknown>)[key]);
      return tagOf(value) === undefined ? out : { $object: out };
    }
    default:
      return value; // strings and booleans
  }
}

/** Where a JSON form is refused: what and where, as for values (`$.a[2]`), built from the inside out. */
class FormProblem extends Error {
  readonly steps: string[] = [];
}

function within<R>(step: string, read: () => R): R {
  try {
    return read();
  } catch (error) {
    if (error instanceof FormProblem) error.steps.push(step);
    throw error;
  }
}

/** The value of a JSON form made by {@link toForm}; a {@link FormProblem} for anything else. */
function fromForm(form: unknown): unknown {
  switch (typeof form) {
    case 'string':
    case 'boolean':
      return form;
    case 'number':
      if (!Number.isFinite(form)) throw new FormProblem(`the number ${form} (JSON has none)`);
      return form;
    case 'object':
      break;
    default:
      throw new FormProblem(
        `${typeof form === 'undefined' ? 'undefined' : `a ${typeof form}`}, which JSON does not have`,
      );
  }
  if (form === null) return null;
  if (Array.isArray(form)) return form.map((item, i) => within(`[${i}]`, () => fromForm(item)));
  const proto = Object.getPrototypeOf(form);
  if (proto !== Object.prototype && proto !== null)
    throw new FormProblem('an object that is not plain, which JSON does not have');
  const tag = tagOf(form);
  if (tag === undefined) return fields(form as Record<string, unknown>);
  const payload = (form as Record<string, unknown>)[tag];
  const bad = (expected: string) =>
    new FormProblem(`a ${tag} tag holding ${JSON.stringify(payload) ?? String(payload)}, not ${expected}`);
  return within(keyStep(tag), () => {
    switch (tag) {
      case '$undefined':
        if (payload !== true) throw bad('true');
        return undefined;
      case '$number': {
        const number = typeof payload === 'string' ? NON_FINITE.get(payload) : undefined;
        if (number === undefined) throw bad('"NaN", "Infinity" or "-Infinity"');
        return number;
      }
      case '$bigint':
        if (typeof payload !== 'string' || !INTEGER.test(payload)) throw bad('an integer in a string');
        return BigInt(payload);
      case '$date': {
        const ms = typeof payload === 'string' && ISO_DATE.test(payload) ? Date.parse(payload) : Number.NaN;
        if (Number.isNaN(ms)) throw bad('a date in ISO 8601 form');
        return new Date(ms);
      }
      case '$bytes':
        if (typeof payload !== 'string' || !BASE64.test(payload)) throw bad('base64 text');
        return new Uint8Array(Buffer.from(payload, 'base64'));
      case '$object': {
        const inner = payload as object;
        if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) throw bad('an object');
        return fields(inner as Record<string, unknown>);
      }
      default:
        throw new FormProblem(
          `an unknown tag ${JSON.stringify(tag)} (known: ${[...TAGS].join(', ')}; wrap an object of one $ key in {"$object": …})`,
        );
    }
  });
}

/** A plain object of a form's fields, each read from its form. */
function fields(form: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(form)) {
    out[key] = within(keyStep(key), () => {
      // Set on a plain object, it would change the object's prototype.
      if (key === '__proto__') throw new FormProblem('a property named __proto__');
      return fromForm(form[key]);
    });
  }
  return out;
}

/**
 * The MessagePack codec (msgpackr): compact binary bodies that keep what
 * JSON loses — Dates (MessagePack timestamps), binary data (Uint8Array),
 * BigInts within 64 bits, `undefined`, NaN and ±Infinity — and refuse with a
 * {@link SerializationError} what they would change: Map, Set, class
 * instances, functions, symbols, cycles, BigInts out of range, invalid
 * Dates, lone surrogates, `__proto__` keys.
 *
 * Its JSON form (`toJSON`, `fromJSON`, used by export and import) keeps
 * those types as one-key objects: `{"$date": "2026-01-31T12:00:00.000Z"}`,
 * `{"$bigint": "9007199254740993"}`, `{"$bytes": "<base64>"}`,
 * `{"$undefined": true}`, `{"$number": "NaN"}` (or `"Infinity"`,
 * `"-Infinity"`); an object of the value with one key starting with `$` is
 * wrapped as `{"$object": {…}}`, so no value is mistaken for a tag.
 */
export function msgpack(options: MsgpackOptions = {}): Serializer {
  const codec = options.codec ?? 'msgpack';
  const packr = new Packr(OPTIONS);
  const unpackr = new Unpackr(OPTIONS);
  /** Refuses what MessagePack cannot store exactly. */
  const check = (value: unknown): void => {
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
  };
  return {
    codec,
    format: 'binary',
    encode(value: unknown): Uint8Array {
      check(value);
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
    toJSON(value: unknown): unknown {
      check(value);
      return toForm(value);
    },
    fromJSON(form: unknown): unknown {
      try {
        return fromForm(form);
      } catch (error) {
        if (!(error instanceof FormProblem)) {
          // Nesting deep enough to exhaust the stack.
          throw new SerializationError(`Not the JSON form of ${codec}: ${(error as Error).message}`, {
            cause: error,
          });
        }
        throw new SerializationError(
          `Not the JSON form of ${codec}: ${error.message} at $${error.steps.reverse().join('')}`,
        );
      }
    },
  };
}
