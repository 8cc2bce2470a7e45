import fc from 'fast-check';
import { expect } from 'vitest';
import type { Serializer, Shard, WaffleError, WaffleErrorCode } from '../src/index.js';
import { and, not, or, type Predicate } from '../src/index.js';
import type { RecordRow } from '../src/types.js';

/**
 * A stand-in for a shard. Nothing in these tests reaches a database: shard
 * strategies only check that a shard is an object with a `queryIndex` function.
 */
export function fakeShard(name = 'fake'): Shard {
  return {
    name,
    queryIndex: async () => {
      throw new Error(`fake shard ${name}: no database in unit tests`);
    },
  } as unknown as Shard;
}

export function fakeShards(count: number): Shard[] {
  return Array.from({ length: count }, (_, i) => fakeShard(`fake${i}`));
}

/** The JSON serializer of the brief, without depending on @waffle/serializer-json. */
export const jsonSerializer: Serializer = {
  codec: 'json',
  format: 'text',
  encode: JSON.stringify,
  decode: (s) => JSON.parse(String(s)),
};

/**
 * A fake shard just rich enough for `create()` and one `page()`: it answers
 * `queryIndex` with fixed rows (already in the asked order) and `getRecords`
 * from a map. Used only to obtain a genuine cursor string.
 */
export function scriptedShard(
  rows: { id: string; values: unknown[]; version: number }[],
  records: Map<string, RecordRow>,
): Shard {
  const meta = new Map<string, string>();
  return {
    name: 'scripted',
    limits: { maxParameters: 1000 },
    createTables: async () => {},
    readMeta: async (keys: readonly string[]) =>
      new Map(keys.filter((k) => meta.has(k)).map((k) => [k, meta.get(k)!] as [string, string])),
    writeMeta: async (key: string, value: string) => {
      if (!meta.has(key)) meta.set(key, value);
      return meta.get(key)!;
    },
    queryIndex: async (_table: unknown, query: { limit: number; records?: unknown }) =>
      rows
        .slice(0, query.limit)
        .map((row) => (query.records ? { ...row, record: records.get(row.id) ?? null } : row)),
    getRecords: async (_table: unknown, ids: readonly string[]) =>
      ids.map((id) => records.get(id)).filter((r): r is RecordRow => r !== undefined),
  } as unknown as Shard;
}

type ErrorClass = abstract new (...args: any[]) => WaffleError;

/**
 * Runs `fn`, expects it to throw synchronously an instance of `cls` with `code`,
 * whose message contains every fragment (strings) or matches every RegExp.
 * Returns the error for further checks.
 */
export function expectError(
  fn: () => unknown,
  cls: ErrorClass,
  code: WaffleErrorCode,
  ...fragments: (string | RegExp)[]
): WaffleError {
  let thrown: unknown;
  let threw = false;
  try {
    fn();
  } catch (error) {
    threw = true;
    thrown = error;
  }
  expect(threw, 'expected the call to throw').toBe(true);
  expect(thrown).toBeInstanceOf(cls);
  const error = thrown as WaffleError;
  expect(error.code).toBe(code);
  for (const fragment of fragments) {
    if (typeof fragment === 'string') expect(error.message).toContain(fragment);
    else expect(error.message).toMatch(fragment);
  }
  return error;
}

/** Code points of a string, for oracles that must not share code with the implementation. */
export function codePoints(s: string): number[] {
  return Array.from(s, (c) => c.codePointAt(0)!);
}

/** Lexicographic comparison of number arrays: the oracle for code point and byte order. */
export function compareArrays(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** True when `s` has no lone surrogate (encodeURIComponent throws on one): independent of core's isWellFormed. */
export function wellFormed(s: string): boolean {
  try {
    encodeURIComponent(s);
    return true;
  } catch {
    return false;
  }
}

/** Predicate trees over `leaf`: leaves combined with `and`, `or` and `not`, for property tests. */
export function predicateTree(leaf: fc.Arbitrary<Predicate>): fc.Arbitrary<Predicate> {
  return fc.letrec<{ node: Predicate }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.array(tie('node'), { maxLength: 3 }).map((items) => and(...items)),
      fc.array(tie('node'), { maxLength: 3 }).map((items) => or(...items)),
      tie('node').map((p) => not(p)),
    ),
  })).node;
}
