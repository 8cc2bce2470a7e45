import { type Entity, INDEX_ID_COLUMN, type Index } from '@waffle/core';
import { expect } from 'vitest';
import { columnRef } from './shard-helpers.js';

/** The index rows stored for record `id`, read straight from every shard of the index, as sorted JSON. */
export async function storedRowsOf(index: Index<any, any>, id: string): Promise<string[]> {
  const out: string[] = [];
  for (const shard of new Set(index.strategy.shards)) {
    const rows = await shard.queryIndex(index.table, {
      where: columnRef(index.table, INDEX_ID_COLUMN).eq(id),
      orderBy: [{ column: INDEX_ID_COLUMN, direction: 'asc' }],
      limit: 10_000,
    });
    for (const row of rows) out.push(JSON.stringify(row.values, jsonValue));
  }
  return out.sort();
}

/** The rows the mapper produces for the stored record `id` (none when it does not exist), as sorted JSON. */
export async function expectedRowsOf<T>(
  entity: Entity<T>,
  index: Index<T, any>,
  id: string,
): Promise<string[]> {
  const doc = await entity.get(id);
  return (doc ? index.rowsOf(doc) : []).map((values) => JSON.stringify(values, jsonValue)).sort();
}

/**
 * Checks the index rows of one record straight in the index tables: with
 * `exact`, they are exactly what the mapper produces from the stored record;
 * without, they include them (orphans of a write that never committed may remain).
 */
export async function expectRowsOf<T>(
  entity: Entity<T>,
  index: Index<T, any>,
  id: string,
  exact: boolean,
): Promise<void> {
  const stored = await storedRowsOf(index, id);
  const expected = await expectedRowsOf(entity, index, id);
  if (exact) expect(stored, `${index.name} rows of ${id}`).toEqual(expected);
  else expect(stored, `${index.name} rows of ${id}`).toEqual(expect.arrayContaining(expected));
}

function jsonValue(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? `${value}n` : value;
}
