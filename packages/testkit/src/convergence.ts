/**
 * Checks of what the index tables hold for one record, read straight from the
 * shards: the state writes, crashes and `drain()` must converge to.
 */
import type { Entity, Index } from '@waffle/core';
import { INDEX_ID_COLUMN, type IndexRow } from '@waffle/core/adapter';
import { expect } from 'vitest';
import { columnRef, entityTable } from './shard-helpers.js';

/** The index rows stored for record `id`, read straight from every shard of the index. */
export async function storedRowsOf(index: Index<any, any>, id: string): Promise<IndexRow[]> {
  const out: IndexRow[] = [];
  for (const shard of new Set(index.strategy.shards)) {
    out.push(
      ...(await shard.queryIndex(index.table, {
        where: columnRef(index.table, INDEX_ID_COLUMN).eq(id),
        orderBy: [{ column: INDEX_ID_COLUMN, direction: 'asc' }],
        limit: 10_000,
      })),
    );
  }
  return out;
}

/**
 * Checks the index rows of record `id` against its stored row (a tombstone
 * included): every row the mapper produces from the stored record is there,
 * and any other row is tagged with a version above the stored one (left by a
 * write that never committed: `repair` removes those). With `exact`, there
 * is no other row at all.
 */
export async function expectRowsOf<T>(
  entity: Entity<T>,
  index: Index<T, any>,
  id: string,
  exact: boolean,
): Promise<void> {
  const shard = entity.strategy.shards[entity.strategy.shardOf({ id })]!;
  const [stored] = await shard.getRecords(entityTable(entity), [id]);
  const doc = await entity.get(id);
  const produced = doc ? index.rowsOf(doc) : [];
  const rows = await storedRowsOf(index, id);
  const text = (values: readonly unknown[]) =>
    JSON.stringify(values, (_, v) => (typeof v === 'bigint' ? `${v}n` : v));
  for (const values of produced) {
    expect(
      rows.some((row) => index.sameValues(row.values, values)),
      `${index.name}: row ${text(values)} of ${id}`,
    ).toBe(true);
  }
  const others = rows.filter((row) => !produced.some((values) => index.sameValues(row.values, values)));
  for (const row of others) {
    expect(row.version, `${index.name}: row ${text(row.values)} of ${id}`).toBeGreaterThan(
      stored?.version ?? 0,
    );
  }
  if (exact)
    expect(
      others.map((row) => text(row.values)),
      `${index.name}: rows of ${id}`,
    ).toEqual([]);
}
