/**
 * What the server-fault tests check after a workload: each error is one a
 * fault may cause, and the entity holds exactly what was acknowledged.
 */
import {
  type Entity,
  type Index,
  OutcomeUnknownError,
  ShardUnavailableError,
  WaffleError,
} from '@waffle/core';
import { expect } from 'vitest';

/** The acknowledged value and version of each record, by id. */
export type Acknowledged<V> = Map<string, { value: V; version: number }>;

/** The typed error an operation may end with after a server-side fault: unavailable, or outcome unknown. */
export function expectTyped(error: unknown, what: string): void {
  expect(error, what).toBeInstanceOf(WaffleError);
  expect(ShardUnavailableError.is(error) || OutcomeUnknownError.is(error), `${what}: ${String(error)}`).toBe(
    true,
  );
}

/**
 * Every record holds its acknowledged value and version (and no other record
 * exists); for each index, the answer to `column = v` for each of `values`
 * equals brute force over `model`; `verify()` finds nothing.
 */
export async function expectAsAcknowledged<V extends Record<string, unknown>>(
  docs: Entity<V>,
  model: Acknowledged<V>,
  indices: readonly { index: Index<V, any>; column: keyof V & string; values: readonly number[] }[],
): Promise<void> {
  const stored: Acknowledged<V> = new Map();
  for await (const doc of docs.scan()) stored.set(doc.id, { value: doc.value, version: doc.version });
  expect(stored).toEqual(model);
  for (const { index, column, values } of indices) {
    for (const v of values) {
      const answer = (await docs.select(index.c[column]!.eq(v))).map((d) => d.id).sort();
      const brute = [...model]
        .filter(([, m]) => m.value[column] === v)
        .map(([id]) => id)
        .sort();
      expect(answer, `${column} = ${v}`).toEqual(brute);
    }
  }
  expect(await docs.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
}
