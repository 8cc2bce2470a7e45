import { SerializationError, type Serializer } from '@waffle/core';

/** Options of {@link json}. */
export interface JsonOptions {
  /** The codec tag stored with each row (default `json`). */
  readonly codec?: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function unrepresentable(value: unknown): string | undefined {
  switch (typeof value) {
    case 'bigint':
      return 'a BigInt';
    case 'function':
      return 'a function';
    case 'symbol':
      return 'a symbol';
    case 'number':
      return Number.isFinite(value) ? undefined : `the number ${value}`;
    case 'object':
      if (value instanceof Map) return 'a Map';
      if (value instanceof Set) return 'a Set';
      return undefined;
    default:
      return undefined;
  }
}

/** Deepest nesting {@link plain} walks; deeper values take the slower, exact path. */
const MAX_WALK_DEPTH = 64;

/**
 * True when JSON holds `value` exactly, found by a walk that allocates
 * nothing (a replacer function would cost a call per value inside
 * `JSON.stringify`). False for anything it is not sure of: a value with
 * `toJSON` other than a Date, or nesting deeper than {@link MAX_WALK_DEPTH}
 * (which may be a cycle); the caller then checks the slow way.
 */
function plain(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (value === null) return true;
      if (depth >= MAX_WALK_DEPTH) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) if (!plain(value[i], depth + 1)) return false;
        return true;
      }
      if (value instanceof Date) return true;
      if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
      if (value instanceof Map || value instanceof Set) return false;
      for (const key of Object.keys(value)) {
        if (!plain((value as Record<string, unknown>)[key], depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

function check(_key: string, value: unknown): unknown {
  if (unrepresentable(value)) throw new Found();
  return value;
}

class Found extends Error {}

/** Walks a value to say what JSON cannot hold and where (`$.a.b[2]`). */
function findProblem(value: unknown, path: string, seen: Set<object>): string | undefined {
  const what = unrepresentable(value);
  if (what) return `${what} at ${path}`;
  if (typeof value !== 'object' || value === null) return undefined;
  if (seen.has(value)) return `a circular reference at ${path}`;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return undefined;
  seen.add(value);
  const entries = Array.isArray(value)
    ? value.map((v, i) => [`[${i}]`, v] as const)
    : Object.entries(value).map(
        ([k, v]) => [/^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`, v] as const,
      );
  for (const [step, child] of entries) {
    const problem = findProblem(child, path + step, seen);
    if (problem) return problem;
  }
  seen.delete(value);
  return undefined;
}

/**
 * The JSON codec: text bodies, readable from any language and from SQL.
 * Values JSON cannot hold exactly (BigInt, functions, symbols, NaN and
 * ±Infinity, Map, Set, cycles, `undefined` at the top) are refused with a
 * {@link SerializationError} that says what and where, rather than silently
 * changed. As with `JSON.stringify`, object properties that are `undefined` are
 * omitted and a Date is stored as its ISO string. Its JSON form (`toJSON`,
 * `fromJSON`, used by export and import) is the value as stored.
 */
export function json(options: JsonOptions = {}): Serializer {
  const codec = options.codec ?? 'json';
  const encode = (value: unknown): string => {
    let text: string | undefined;
    try {
      text = plain(value, 0) ? JSON.stringify(value) : JSON.stringify(value, check);
    } catch (error) {
      const problem = findProblem(value, '$', new Set());
      throw new SerializationError(`JSON cannot represent ${problem ?? 'this value'}`, { cause: error });
    }
    if (text === undefined) throw new SerializationError(`JSON cannot represent ${String(value)} at $`);
    return text;
  };
  const decode = (body: string | Uint8Array): unknown => {
    try {
      return JSON.parse(typeof body === 'string' ? body : utf8.decode(body));
    } catch (error) {
      throw new SerializationError(`Stored body is not valid ${codec}`, { cause: error });
    }
  };
  return {
    codec,
    format: 'text',
    encode,
    decode,
    // The value as stored and read back: a Date becomes its ISO string, as in a body.
    toJSON: (value: unknown): unknown => decode(encode(value)),
    fromJSON: (form: unknown): unknown => decode(encode(form)),
  };
}
