import { and, not, or, type Predicate } from '@waffle/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { libsqlShard } from '../src/index.js';
import { indexSpec, ref } from './helpers.js';

const spec = indexSpec('things', [['n', 'integer', true]]);
const n = ref(spec, 'n');
const shard = libsqlShard({ url: ':memory:' });

beforeAll(async () => {
  await shard.createTables([spec]);
  await shard.putIndexRows(
    spec,
    Array.from({ length: 100 }, (_, i) => ({
      id: `r${String(i).padStart(3, '0')}`,
      values: [i % 10 === 0 ? null : i * 60],
      version: 1,
    })),
  );
});
afterAll(() => shard.close());

async function ids(where: Predicate): Promise<string[]> {
  const got = await shard.queryIndex(spec, {
    where,
    orderBy: [{ column: '__id', direction: 'asc' }],
    limit: 1000,
  });
  return got.map((r) => r.id);
}

describe('predicate compilation on SQLite', () => {
  it('compiles and/or lists longer than SQLite’s expression depth limit (1000)', async () => {
    const many = Array.from({ length: 5000 }, (_, i) => n.eq(i));
    const multiples = Array.from({ length: 100 }, (_, i) => `r${String(i).padStart(3, '0')}`).filter(
      (_, i) => i % 10 !== 0 && i * 60 < 5000,
    );
    expect(multiples.length).toBeGreaterThan(50);
    expect(await ids(or(...many))).toEqual(multiples);
    const above = Array.from({ length: 100 }, (_, i) => `r${String(i).padStart(3, '0')}`).filter(
      (_, i) => i % 10 !== 0 && i * 60 >= 5000,
    );
    expect(await ids(and(...many.map((p) => not(p))))).toEqual(above);
  });
});
