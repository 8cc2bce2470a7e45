import { SerializationError, type Serializer } from '@waffle/core';
import SuperJSON from 'superjson';

/** Options of {@link superjson}. */
export interface SuperjsonOptions {
  /** The codec tag stored with each row (default `superjson`). */
  readonly codec?: string;
}

/** The typed arrays superjson stores (as JSON arrays of numbers) and reads back with their class. */
const TYPED_ARRAYS: ReadonlySet<unknown> = new Set([
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
]);
/** Keys superjson refuses (a prototype pollution guard). */
const REFUSED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

const utf8 = new TextDecoder('utf-8', { fatal: true });
const article = (name: string) => (/^[aeio]/i.test(name) ? 'an' : 'a'); // a URL, a Uint8Array
const keyStep = (key: string) => (/^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`);

/** A Map key as written in a path, when it is a primitive: `"a"`, `2`, `5n`. */
function literal(key: unknown): string | undefined {
  switch (typeof key) {
    case 'string':
      return JSON.stringify(key);
    case 'bigint':
      return `${key}n`;
    case 'number':
    case 'boolean':
    case 'undefined':
      return String(key);
    default:
      return key === null ? 'null' : undefined;
  }
}

function kindOf(object: object): string {
  const name = (object.constructor as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' && name !== ''
    ? `${article(name)} ${name}`
    : 'an object of an anonymous class';
}

/** What superjson cannot hold, and the path to it, built from the inside out. */
interface Problem {
  readonly what: string;
  readonly steps: string[];
}

const problem = (what: string): Problem => ({ what, steps: [] });

function within(found: Problem | undefined, step: string): Problem | undefined {
  found?.steps.push(step);
  return found;
}

/**
 * Finds the first part of `value` that superjson would silently drop or change
 * (functions, symbols, class instances, invalid Dates, Buffers, non-finite
 * floats in typed arrays, `__proto__`/`constructor`/`prototype` keys, which
 * superjson itself refuses). Shared references and cycles are fine: superjson
 * restores them. Each object is visited once.
 */
function findProblem(value: unknown, seen: Set<object>): Problem | undefined {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'undefined':
    case 'bigint':
      return undefined;
    case 'function':
      return problem('a function');
    case 'symbol':
      return problem('a symbol');
  }
  if (value === null) return undefined;
  const object = value as object;
  if (seen.has(object)) return undefined;
  seen.add(object);
  if (Array.isArray(object)) {
    for (let i = 0; i < object.length; i++) {
      const found = within(findProblem(object[i], seen), `[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  const proto = Object.getPrototypeOf(object);
  if (proto === Object.prototype || proto === null) {
    for (const key of Object.keys(object)) {
      const found = REFUSED_KEYS.has(key)
        ? problem(`a property named ${key}`)
        : findProblem((object as Record<string, unknown>)[key], seen);
      if (found) return within(found, keyStep(key));
    }
    return undefined;
  }
  if (object instanceof Date) return Number.isNaN(object.getTime()) ? problem('an invalid Date') : undefined;
  if (object instanceof RegExp || object instanceof URL) return undefined;
  if (object instanceof Error) {
    // Stored: name, message and cause (walked like any value).
    return 'cause' in object ? within(findProblem(object.cause, seen), '.cause') : undefined;
  }
  if (object instanceof Map) {
    let i = 0;
    for (const [key, item] of object) {
      const inKey = within(findProblem(key, seen), `.keys()[${i}]`);
      if (inKey) return inKey;
      const at = literal(key);
      const inValue = within(findProblem(item, seen), at === undefined ? `.values()[${i}]` : `.get(${at})`);
      if (inValue) return inValue;
      i++;
    }
    return undefined;
  }
  if (object instanceof Set) {
    let i = 0;
    for (const item of object) {
      const found = within(findProblem(item, seen), `.values()[${i}]`);
      if (found) return found;
      i++;
    }
    return undefined;
  }
  if (ArrayBuffer.isView(object) && TYPED_ARRAYS.has(object.constructor)) {
    const floats = object instanceof Float32Array || object instanceof Float64Array;
    if (floats && object.some((n) => !Number.isFinite(n) || Object.is(n, -0))) {
      return problem(`${kindOf(object)} holding NaN, ±Infinity or -0`);
    }
    return undefined;
  }
  return problem(kindOf(object));
}

/** Whether a parsed body has superjson's shape: `{ json, meta? }`. */
function isEnvelope(parsed: unknown): parsed is { json: never; meta?: never } {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return false;
  if (!Object.hasOwn(parsed, 'json')) return false;
  const meta = (parsed as { meta?: unknown }).meta;
  if (meta !== undefined && (typeof meta !== 'object' || meta === null || Array.isArray(meta))) return false;
  return Object.keys(parsed).every((key) => key === 'json' || key === 'meta');
}

/**
 * The superjson codec: JSON text bodies with a small annotation that keeps
 * what JSON loses — undefined, BigInt, Date, RegExp, Map, Set, Error, URL,
 * NaN, ±Infinity, -0, typed arrays, shared and circular references. Values it
 * would silently drop or change (functions, symbols, class instances, invalid
 * Dates, Buffers, `__proto__`/`constructor`/`prototype` keys) are refused with
 * a {@link SerializationError} that says what and where. Its JSON form
 * (`toJSON`, `fromJSON`, used by export and import) is superjson's own,
 * `{ json, meta? }`: the body, parsed.
 */
export function superjson(options: SuperjsonOptions = {}): Serializer {
  const codec = options.codec ?? 'superjson';
  // An instance of our own: classes registered on superjson's default instance do not change stored bodies.
  const instance = new SuperJSON();
  /** Refuses what superjson would change; `write` then writes the value. */
  const checked = <R>(value: unknown, write: () => R): R => {
    let found: Problem | undefined;
    try {
      found = findProblem(value, new Set());
      if (!found) return write();
    } catch (error) {
      throw new SerializationError(`superjson cannot represent this value: ${(error as Error).message}`, {
        cause: error,
      });
    }
    throw new SerializationError(
      `superjson cannot represent ${found.what} at $${found.steps.reverse().join('')}`,
    );
  };
  /** The value of a parsed envelope; `what` names what is refused. */
  const read = (parsed: unknown, what: string): unknown => {
    try {
      if (!isEnvelope(parsed)) throw new TypeError('not a superjson envelope ({ json, meta? })');
      return instance.deserialize(parsed);
    } catch (error) {
      throw new SerializationError(`${what} is not valid ${codec}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  };
  return {
    codec,
    format: 'text',
    encode: (value: unknown): string => checked(value, () => instance.stringify(value as never)),
    decode(body: string | Uint8Array): unknown {
      let parsed: unknown;
      try {
        parsed = JSON.parse(typeof body === 'string' ? body : utf8.decode(body));
      } catch (error) {
        throw new SerializationError(`Stored body is not valid ${codec}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      return read(parsed, 'Stored body');
    },
    toJSON: (value: unknown): unknown => checked(value, () => instance.serialize(value as never)),
    fromJSON: (form: unknown): unknown => read(form, 'JSON form'),
  };
}
