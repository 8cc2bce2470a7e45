import type { IndexRow, IndexTableSpec, Shard } from '@waffle/core';
import { and } from '@waffle/core';
import { describe, expect, it } from 'vitest';
import { backends, indexSpec, openShard, ref } from './helpers.js';

const byTime = indexSpec('by_time', [['time', 'integer']]);
const byAuthor = indexSpec('by_author', [
  ['author', 'text'],
  ['time', 'integer'],
]);
const nullable = indexSpec('by_tag', [
  ['tag', 'text', true],
  ['rank', 'integer', true],
]);
const allKinds = indexSpec('all_kinds', [
  ['i', 'integer', true],
  ['b', 'bigint', true],
  ['r', 'real', true],
  ['t', 'text', true],
  ['f', 'boolean', true],
  ['d', 'timestamp', true],
  ['x', 'bytes', true],
]);

const asc = (spec: IndexTableSpec) => [
  ...spec.columns.map((c) => ({ column: c.name, direction: 'asc' as const })),
  { column: '__id', direction: 'asc' as const },
];

async function all(shard: Shard, spec: IndexTableSpec): Promise<IndexRow[]> {
  return shard.queryIndex(spec, { where: undefined, orderBy: asc(spec), limit: 1_000_000 });
}

describe.each(backends)('index rows (%s)', (backend) => {
  async function open(...specs: IndexTableSpec[]): Promise<Shard> {
    const shard = openShard(backend);
    await shard.createTables(specs);
    return shard;
  }

  it('writes rows idempotently and keeps the larger version', async () => {
    const shard = await open(byAuthor);
    await shard.putIndexRows(byAuthor, [{ id: 'p1', values: ['ann', 10], version: 2 }]);
    await shard.putIndexRows(byAuthor, [{ id: 'p1', values: ['ann', 10], version: 2 }]);
    expect(await all(shard, byAuthor)).toEqual([{ id: 'p1', values: ['ann', 10], version: 2 }]);
    await shard.putIndexRows(byAuthor, [{ id: 'p1', values: ['ann', 10], version: 1 }]);
    expect((await all(shard, byAuthor))[0]!.version).toBe(2);
    await shard.putIndexRows(byAuthor, [{ id: 'p1', values: ['ann', 10], version: 5 }]);
    expect((await all(shard, byAuthor))[0]!.version).toBe(5);
    // The same key twice in one call, and a second id under the same values.
    await shard.putIndexRows(byAuthor, [
      { id: 'p2', values: ['ann', 10], version: 3 },
      { id: 'p2', values: ['ann', 10], version: 4 },
      { id: 'p2', values: ['ann', 10], version: 1 },
    ]);
    expect(await all(shard, byAuthor)).toEqual([
      { id: 'p1', values: ['ann', 10], version: 5 },
      { id: 'p2', values: ['ann', 10], version: 4 },
    ]);
  });

  it('writes rows with nulls idempotently (no duplicate keys)', async () => {
    const shard = await open(nullable);
    const rows: IndexRow[] = [
      { id: 'a', values: [null, null], version: 1 },
      { id: 'a', values: ['x', null], version: 1 },
      { id: 'a', values: [null, 3], version: 1 },
      { id: 'b', values: [null, null], version: 2 },
    ];
    await shard.putIndexRows(nullable, rows);
    await shard.putIndexRows(nullable, rows);
    await shard.putIndexRows(nullable, [...rows, ...rows]);
    expect(await all(shard, nullable)).toEqual([
      { id: 'a', values: [null, null], version: 1 },
      { id: 'b', values: [null, null], version: 2 },
      { id: 'a', values: [null, 3], version: 1 },
      { id: 'a', values: ['x', null], version: 1 },
    ]);
    await shard.putIndexRows(nullable, [
      { id: 'a', values: [null, null], version: 7 },
      { id: 'a', values: [null, null], version: 6 },
      { id: 'b', values: [null, null], version: 1 },
    ]);
    const after = await all(shard, nullable);
    expect(after.length).toBe(4);
    expect(after.slice(0, 2)).toEqual([
      { id: 'a', values: [null, null], version: 7 },
      { id: 'b', values: [null, null], version: 2 },
    ]);
  });

  it('deletes a key only where the stored version is older', async () => {
    const shard = await open(byAuthor, nullable);
    await shard.putIndexRows(byAuthor, [
      { id: 'p1', values: ['ann', 1], version: 3 },
      { id: 'p2', values: ['ann', 1], version: 3 },
    ]);
    await shard.deleteIndexRows(byAuthor, [{ id: 'p1', values: ['ann', 1], version: 3 }]); // not older: kept
    await shard.deleteIndexRows(byAuthor, [{ id: 'p1', values: ['ann', 1], version: 2 }]); // newer stored: kept
    await shard.deleteIndexRows(byAuthor, [{ id: 'p1', values: ['ann', 2], version: 9 }]); // other key: nothing
    expect((await all(shard, byAuthor)).map((r) => r.id)).toEqual(['p1', 'p2']);
    await shard.deleteIndexRows(byAuthor, [{ id: 'p1', values: ['ann', 1], version: 4 }]);
    expect((await all(shard, byAuthor)).map((r) => r.id)).toEqual(['p2']);

    await shard.putIndexRows(nullable, [
      { id: 'a', values: [null, null], version: 2 },
      { id: 'a', values: ['t', null], version: 2 },
      { id: 'b', values: [null, null], version: 2 },
    ]);
    await shard.deleteIndexRows(nullable, [{ id: 'a', values: [null, null], version: 2 }]);
    expect((await all(shard, nullable)).length).toBe(3);
    await shard.deleteIndexRows(nullable, [
      { id: 'a', values: [null, null], version: 3 },
      { id: 'a', values: [null, null], version: 3 },
    ]);
    expect(await all(shard, nullable)).toEqual([
      { id: 'b', values: [null, null], version: 2 },
      { id: 'a', values: ['t', null], version: 2 },
    ]);
  });

  it('ignores empty lists of rows', async () => {
    const shard = await open(byTime);
    await shard.putIndexRows(byTime, []);
    await shard.deleteIndexRows(byTime, []);
    expect(await all(shard, byTime)).toEqual([]);
  });

  it('splits 40,000 rows into statements within the parameter limit', async () => {
    const shard = await open(byAuthor, nullable);
    const rows = (spec: IndexTableSpec, version: number): IndexRow[] =>
      Array.from({ length: 40_000 }, (_, i) => ({
        id: `id${i}`,
        values:
          spec === nullable ? [i % 3 === 0 ? null : `t${i % 10}`, i % 5 === 0 ? null : i] : [`a${i % 10}`, i],
        version,
      }));
    for (const spec of [byAuthor, nullable]) {
      await shard.putIndexRows(spec, rows(spec, 1));
      await shard.putIndexRows(spec, rows(spec, 2));
      const stored = await all(shard, spec);
      expect(stored.length).toBe(40_000);
      expect(stored.every((r) => r.version === 2)).toBe(true);
      await shard.deleteIndexRows(spec, rows(spec, 3));
      expect(await all(shard, spec)).toEqual([]);
    }
  });

  it('round-trips every column kind, including extremes', async () => {
    const shard = await open(allKinds);
    const max = 2n ** 63n - 1n;
    const min = -(2n ** 63n);
    const rows: IndexRow[] = [
      {
        id: 'max',
        values: [
          2 ** 31 - 1,
          max,
          1.7976931348623157e308,
          'z😀',
          true,
          new Date(Date.UTC(9999, 11, 31, 23, 59, 59, 999)),
          new Uint8Array([255, 0]),
        ],
        version: 1,
      },
      {
        id: 'min',
        values: [-(2 ** 31), min, -5e-324, '', false, new Date(Date.UTC(1, 0, 1)), new Uint8Array(0)],
        version: 1,
      },
      { id: 'nulls', values: [null, null, null, null, null, null, null], version: 1 },
      {
        id: 'mid',
        values: [0, 9007199254740993n, 0.1, 'a', true, new Date(0), new Uint8Array([1, 2, 3])],
        version: 1,
      },
    ];
    await shard.putIndexRows(allKinds, rows);
    const got = await shard.queryIndex(allKinds, {
      where: undefined,
      orderBy: [{ column: '__id', direction: 'asc' }],
      limit: 10,
    });
    const byId = new Map(got.map((r) => [r.id, r]));
    for (const row of rows) expect(byId.get(row.id)).toEqual(row);
    const mid = byId.get('mid')!.values;
    expect(typeof mid[1]).toBe('bigint');
    expect(mid[4]).toBe(true);
    expect(mid[5]).toBeInstanceOf(Date);
    expect(Object.getPrototypeOf(mid[6])).toBe(Uint8Array.prototype);
    // Exact bigint comparison at the extremes.
    const b = ref(allKinds, 'b');
    const eq = async (v: bigint) =>
      (
        await shard.queryIndex(allKinds, { where: { op: 'eq', column: b, value: v }, orderBy: [], limit: 10 })
      ).map((r) => r.id);
    expect(await eq(max)).toEqual(['max']);
    expect(await eq(min)).toEqual(['min']);
    expect(await eq(9007199254740993n)).toEqual(['mid']);
    expect(await eq(9007199254740992n)).toEqual([]);
  });

  it('orders by each kind, nulls first ascending and last descending', async () => {
    const shard = await open(allKinds);
    const rows: IndexRow[] = [
      { id: '1', values: [5, 5n, 2.5, 'b', true, new Date(5), new Uint8Array([2])], version: 1 },
      {
        id: '2',
        values: [-5, -(2n ** 63n), -1, 'B', false, new Date(-5), new Uint8Array([1, 255])],
        version: 1,
      },
      { id: '3', values: [null, null, null, null, null, null, null], version: 1 },
      { id: '4', values: [0, 2n ** 63n - 1n, 0, '😀', false, new Date(0), new Uint8Array([1])], version: 1 },
    ];
    await shard.putIndexRows(allKinds, rows);
    const order = async (column: string, direction: 'asc' | 'desc') =>
      (
        await shard.queryIndex(allKinds, {
          where: undefined,
          orderBy: [
            { column, direction },
            { column: '__id', direction },
          ],
          limit: 10,
        })
      ).map((r) => r.id);
    expect(await order('i', 'asc')).toEqual(['3', '2', '4', '1']);
    expect(await order('i', 'desc')).toEqual(['1', '4', '2', '3']);
    expect(await order('b', 'asc')).toEqual(['3', '2', '1', '4']);
    expect(await order('r', 'asc')).toEqual(['3', '2', '4', '1']);
    expect(await order('t', 'asc')).toEqual(['3', '2', '1', '4']);
    expect(await order('f', 'asc')).toEqual(['3', '2', '4', '1']);
    expect(await order('f', 'desc')).toEqual(['1', '4', '2', '3']);
    expect(await order('d', 'asc')).toEqual(['3', '2', '4', '1']);
    expect(await order('x', 'asc')).toEqual(['3', '4', '2', '1']);
    expect(await order('x', 'desc')).toEqual(['1', '2', '4', '3']);
  });

  it('orders text by code point, like core compareText', async () => {
    const words = ['a', 'B', 'é', '\uFFFD', '😀', '\uE000', 'ab', 'a\u0000'.slice(0, 1), '𝄞', 'Z', '~'];
    const shard = await open(byAuthor);
    await shard.putIndexRows(
      byAuthor,
      words.map((w, i) => ({ id: `w${i}`, values: [w, 0], version: 1 })),
    );
    const got = (await all(shard, byAuthor)).map((r) => r.values[0] as string);
    const { compareText } = await import('@waffle/core');
    expect(got).toEqual([...words].sort(compareText));
    expect(got.indexOf('\uFFFD')).toBeLessThan(got.indexOf('😀'));
  });

  it('applies where, orderBy and limit together', async () => {
    const shard = await open(byAuthor);
    await shard.putIndexRows(
      byAuthor,
      Array.from({ length: 20 }, (_, i) => ({
        id: `p${String(i).padStart(2, '0')}`,
        values: [i % 2 ? 'ann' : 'bob', i],
        version: 1,
      })),
    );
    const where = and(
      { op: 'eq', column: ref(byAuthor, 'author'), value: 'ann' },
      { op: 'gte', column: ref(byAuthor, 'time'), value: 5 },
    );
    const got = await shard.queryIndex(byAuthor, {
      where,
      orderBy: [
        { column: 'time', direction: 'desc' },
        { column: '__id', direction: 'desc' },
      ],
      limit: 3,
    });
    expect(got).toEqual([
      { id: 'p19', values: ['ann', 19], version: 1 },
      { id: 'p17', values: ['ann', 17], version: 1 },
      { id: 'p15', values: ['ann', 15], version: 1 },
    ]);
    expect(await shard.queryIndex(byAuthor, { where, orderBy: [], limit: 0 })).toEqual([]);
  });

  it('quotes reserved words and odd-but-valid names', async () => {
    const spec = indexSpec('order', [
      ['select', 'text'],
      ['rowid', 'integer', true],
      ['_rowid_', 'integer', true],
    ]);
    const shard = await open(spec);
    await shard.putIndexRows(spec, [
      { id: 'a', values: ['x', 1, 2], version: 1 },
      { id: 'b', values: ['x', null, 2], version: 1 },
    ]);
    await shard.putIndexRows(spec, [{ id: 'b', values: ['x', null, 2], version: 1 }]);
    expect((await all(shard, spec)).length).toBe(2);
    await shard.deleteIndexRows(spec, [{ id: 'b', values: ['x', null, 2], version: 2 }]);
    expect(await all(shard, spec)).toEqual([{ id: 'a', values: ['x', 1, 2], version: 1 }]);
    const hidden = indexSpec('hidden', [
      ['rowid', 'integer'],
      ['_rowid_', 'integer'],
      ['OID', 'integer'],
    ]);
    await shard.createTables([hidden]);
    await expect(
      shard.deleteIndexRows(hidden, [{ id: 'a', values: [1, 2, 3], version: 2 }]),
    ).rejects.toMatchObject({
      code: 'VALIDATION',
    });
  });

  it('rejects rows with the wrong number of values before any SQL', async () => {
    const shard = await open(byAuthor);
    await expect(
      shard.putIndexRows(byAuthor, [{ id: 'a', values: ['x'], version: 1 }]),
    ).rejects.toMatchObject({
      code: 'VALIDATION',
    });
  });
});
