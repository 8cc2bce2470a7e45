import { and, or } from '@waffle/core';
import { compareText, compareValues, type IndexRow, type Predicate } from '@waffle/core/adapter';
import { describe, expect, it } from 'vitest';
import {
  contractShard,
  entitySpec,
  expectPlainBytes,
  indexContent,
  indexSpec,
  insert,
  replace,
  tombstone,
} from './contract-fixtures.js';
import type { ConformanceOptions } from './options.js';
import { columnRef, type IndexColumnTuple, recordRow } from './shard-helpers.js';

const MAX = 2n ** 63n - 1n;
const MIN = -(2n ** 63n);

/** A nullable column of every kind, in this order. */
const EVERY_KIND: IndexColumnTuple[] = [
  ['i', 'integer', true],
  ['b', 'bigint', true],
  ['r', 'real', true],
  ['t', 'text', true],
  ['f', 'boolean', true],
  ['d', 'timestamp', true],
  ['x', 'bytes', true],
];

/** queryIndex: where, orderBy and limit; order of every kind; text by code point; values of every kind. */
export function contractQuerySuite(options: ConformanceOptions): void {
  const open = contractShard(options);
  const longest = options.capabilities?.indexValueBytes ?? 4096;

  describe('index queries', () => {
    it('applies where, orderBy and limit together', async () => {
      const index = indexSpec([
        ['author', 'text'],
        ['time', 'integer'],
      ]);
      const shard = await open(index);
      await shard.putIndexRows(
        index,
        Array.from({ length: 20 }, (_, i) => ({
          id: `p${String(i).padStart(2, '0')}`,
          values: [i % 2 ? 'ann' : 'bob', i],
          version: 1,
        })),
      );
      const where = and(columnRef(index, 'author').eq('ann'), columnRef(index, 'time').gte(5));
      const query = (limit: number, direction: 'asc' | 'desc') =>
        shard.queryIndex(index, {
          where,
          orderBy: [
            { column: 'time', direction },
            { column: '__id', direction },
          ],
          limit,
        });
      expect(await query(3, 'desc')).toEqual([
        { id: 'p19', values: ['ann', 19], version: 1 },
        { id: 'p17', values: ['ann', 17], version: 1 },
        { id: 'p15', values: ['ann', 15], version: 1 },
      ]);
      expect((await query(100, 'asc')).map((r) => r.id)).toEqual([
        'p05',
        'p07',
        'p09',
        'p11',
        'p13',
        'p15',
        'p17',
        'p19',
      ]);
      expect(await query(0, 'asc')).toEqual([]);
    });

    it('countIndex counts the distinct record ids of the matching rows, in one statement', async () => {
      const index = indexSpec([
        ['tag', 'text', true],
        ['time', 'integer'],
      ]);
      const shard = await open(index);
      expect(await shard.countIndex(index, undefined)).toBe(0);
      // Records p0..p9 with one row each, and p0..p4 with a second row: 15 rows of 10 records.
      const rows: IndexRow[] = [];
      for (let i = 0; i < 10; i++)
        rows.push({ id: `p${i}`, values: [i % 2 ? 'odd' : 'even', i], version: 1 });
      for (let i = 0; i < 5; i++) rows.push({ id: `p${i}`, values: [null, 100 + i], version: 1 });
      await shard.putIndexRows(index, rows);
      expect(await shard.countIndex(index, undefined)).toBe(10);
      expect(await shard.countIndex(index, columnRef(index, 'tag').eq('odd'))).toBe(5);
      expect(await shard.countIndex(index, columnRef(index, 'tag').isNull())).toBe(5);
      expect(
        await shard.countIndex(
          index,
          or(columnRef(index, 'tag').eq('even'), columnRef(index, 'time').gte(100)),
        ),
      ).toBe(7);
      expect(await shard.countIndex(index, columnRef(index, 'time').gte(3))).toBe(10);
      expect(await shard.countIndex(index, columnRef(index, 'time').gt(1000))).toBe(0);
    });

    it('countRows counts the live records of an entity table and the rows of an index table', async () => {
      const table = entitySpec('counted');
      const index = indexSpec([['tag', 'text', true]]);
      const shard = await open(table, index);
      expect(await shard.countRows(table)).toBe(0);
      expect(await shard.countRows(index)).toBe(0);
      // Five records, two of them deleted since (their tombstones are no records), and 7 index rows of 4 records.
      await shard.commit({ table, writes: [0, 1, 2, 3, 4].map((i) => insert(recordRow(`r${i}`))) });
      await shard.commit({
        table,
        writes: [replace(tombstone('r1', 2), 1), replace(tombstone('r3', 2), 1)],
      });
      const rows: IndexRow[] = [];
      for (let i = 0; i < 7; i++) rows.push({ id: `r${i % 4}`, values: [i < 4 ? 'a' : null], version: 1 });
      await shard.putIndexRows(index, rows);
      expect(await shard.countRows(table)).toBe(3);
      expect(await shard.countRows(index)).toBe(7);
    });

    it('orders every kind, nulls first ascending and last descending', async () => {
      const index = indexSpec(EVERY_KIND);
      const shard = await open(index);
      await shard.putIndexRows(index, [
        { id: '1', values: [5, 5n, 2.5, 'b', true, new Date(5), new Uint8Array([2])], version: 1 },
        { id: '2', values: [-5, MIN, -1, 'B', false, new Date(-5), new Uint8Array([1, 255])], version: 1 },
        { id: '3', values: [null, null, null, null, null, null, null], version: 1 },
        { id: '4', values: [0, MAX, 0, '😀', false, new Date(0), new Uint8Array([1])], version: 1 },
      ]);
      const order = async (column: string, direction: 'asc' | 'desc') =>
        (
          await shard.queryIndex(index, {
            where: undefined,
            orderBy: [
              { column, direction },
              { column: '__id', direction },
            ],
            limit: 10,
          })
        ).map((r) => r.id);
      const ascending: Record<string, string[]> = {
        i: ['3', '2', '4', '1'],
        b: ['3', '2', '1', '4'],
        r: ['3', '2', '4', '1'],
        t: ['3', '2', '1', '4'],
        f: ['3', '2', '4', '1'],
        d: ['3', '2', '4', '1'],
        x: ['3', '4', '2', '1'],
      };
      for (const [column, ids] of Object.entries(ascending)) {
        expect(await order(column, 'asc'), `${column} asc`).toEqual(ids);
        expect(await order(column, 'desc'), `${column} desc`).toEqual([...ids].reverse());
      }
    });

    it('orders and compares text by code point, like core compareText', async () => {
      const index = indexSpec([['w', 'text']]);
      const shard = await open(index);
      const words = [
        'a',
        'B',
        'é',
        'e\u0301',
        '\uFFFD',
        '😀',
        '\uE000',
        'ab',
        '𝄞',
        'Z',
        '~',
        'a ',
        'a\t',
        '',
        'A',
        '\uFFFF',
        '\u{10FFFF}',
        '\u{10FFFF}a',
        '\uD7FF',
      ];
      await shard.putIndexRows(
        index,
        words.map((w, i) => ({ id: `w${i}`, values: [w], version: 1 })),
      );
      const w = columnRef(index, 'w');
      const query = async (where: Predicate | undefined, direction: 'asc' | 'desc' = 'asc') =>
        (
          await shard.queryIndex(index, {
            where,
            orderBy: [
              { column: 'w', direction },
              { column: '__id', direction },
            ],
            limit: 100,
          })
        ).map((r) => r.values[0] as string);
      const sorted = [...words].sort(compareText);
      expect(await query(undefined)).toEqual(sorted);
      expect(await query(undefined, 'desc')).toEqual([...sorted].reverse());
      for (const bound of ['a', '\uFFFD', 'é', '\uE000']) {
        expect(await query(w.gt(bound)), `> ${bound}`).toEqual(
          sorted.filter((x) => compareText(x, bound) > 0),
        );
        expect(await query(w.lte(bound)), `<= ${bound}`).toEqual(
          sorted.filter((x) => compareText(x, bound) <= 0),
        );
      }
      for (const prefix of ['a', '😀', '\uFFFF', '\u{10FFFF}', '\uD7FF', '']) {
        expect(await query(w.startsWith(prefix)), `startsWith ${prefix}`).toEqual(
          sorted.filter((x) => x.startsWith(prefix)),
        );
      }
      expect(await query(w.in(['a ', 'A', 'missing']))).toEqual(['A', 'a ']);
    });

    it('round-trips values of every kind exactly, extremes included, and compares them exactly', async () => {
      const index = indexSpec(EVERY_KIND);
      const shard = await open(index);
      const rows: IndexRow[] = [
        {
          id: 'min',
          values: [
            -2147483648,
            MIN,
            -1.7976931348623157e308,
            '',
            false,
            new Date(Date.parse('0001-01-01T00:00:00.000Z')),
            new Uint8Array([]),
          ],
          version: 1,
        },
        {
          id: 'max',
          values: [
            2147483647,
            MAX,
            1.7976931348623157e308,
            '𝒳 é \uffff %_\\',
            true,
            new Date(Date.UTC(9999, 11, 31, 23, 59, 59, 999)),
            new Uint8Array([0, 255, 0]),
          ],
          version: 2 ** 40,
        },
        {
          id: 'mid',
          values: [
            0,
            2n ** 53n + 1n,
            5e-324,
            'x'.repeat(Math.min(2000, longest)),
            true,
            new Date(-1),
            new Uint8Array(Math.min(4096, longest)).fill(7),
          ],
          version: 3,
        },
        {
          id: 'small',
          values: [-1, -1n, -5e-324, 'a', false, new Date(1), new Uint8Array([255])],
          version: 4,
        },
        { id: 'nulls', values: [null, null, null, null, null, null, null], version: 5 },
      ];
      await shard.putIndexRows(index, rows);
      const got = new Map((await indexContent(shard, index)).map((r) => [r.id, r]));
      expect(got.size).toBe(rows.length);
      for (const row of rows) {
        const back = got.get(row.id)!;
        expect(back.version, row.id).toBe(row.version);
        for (const [i, value] of back.values.entries()) {
          const [name, kind] = EVERY_KIND[i]!;
          const want = row.values[i]!;
          const what = `${row.id}.${name}`;
          if (want === null) {
            expect(value, what).toBeNull();
            continue;
          }
          expect(value === null ? 'null' : compareValues(kind, value, want), what).toBe(0);
          if (kind === 'bigint') expect(typeof value, what).toBe('bigint');
          if (kind === 'integer' || kind === 'real') expect(typeof value, what).toBe('number');
          if (kind === 'boolean') expect(typeof value, what).toBe('boolean');
          if (kind === 'text') expect(typeof value, what).toBe('string');
          if (kind === 'timestamp') expect(value, what).toBeInstanceOf(Date);
          if (kind === 'bytes') expectPlainBytes(value, what);
        }
      }
      const ids = async (where: Predicate) =>
        (
          await shard.queryIndex(index, { where, orderBy: [{ column: '__id', direction: 'asc' }], limit: 10 })
        ).map((r) => r.id);
      const b = columnRef(index, 'b');
      expect(await ids(b.eq(MAX))).toEqual(['max']);
      expect(await ids(b.eq(MIN))).toEqual(['min']);
      expect(await ids(b.eq(2n ** 53n + 1n))).toEqual(['mid']);
      expect(await ids(b.eq(2n ** 53n))).toEqual([]);
      expect(await ids(b.gt(MAX - 1n))).toEqual(['max']);
      const r = columnRef(index, 'r');
      expect(await ids(r.gt(0))).toEqual(['max', 'mid']);
      expect(await ids(r.lt(0))).toEqual(['min', 'small']);
      expect(await ids(columnRef(index, 'd').lt(new Date(0)))).toEqual(['mid', 'min']);
      expect(await ids(columnRef(index, 'x').eq(new Uint8Array([])))).toEqual(['min']);
      expect(await ids(columnRef(index, 'f').eq(false))).toEqual(['min', 'small']);
    });

    it('compares __id by code point, as the keyset of a page does', async () => {
      const index = indexSpec([['n', 'integer']]);
      const shard = await open(index);
      const ids = ['B', 'a', 'é', '\uFFFD', '😀', '_', '\uE000', 'a '];
      await shard.putIndexRows(
        index,
        ids.map((id, i) => ({ id, values: [i % 2], version: 1 })),
      );
      const id = columnRef(index, '__id');
      const n = columnRef(index, 'n');
      const query = async (where: Predicate, direction: 'asc' | 'desc' = 'asc') =>
        (
          await shard.queryIndex(index, {
            where,
            orderBy: [
              { column: 'n', direction },
              { column: '__id', direction },
            ],
            limit: 100,
          })
        ).map((r) => r.id);
      const byKey = (x: string, y: string) =>
        (ids.indexOf(x) % 2) - (ids.indexOf(y) % 2) || compareText(x, y);
      const sorted = [...ids].sort(byKey);
      for (const after of sorted) {
        const [row] = await shard.queryIndex(index, {
          where: id.eq(after),
          orderBy: [{ column: '__id', direction: 'asc' }],
          limit: 2,
        });
        const v = row!.values[0] as number;
        // The rows after (v, after) in (n, __id) order, and before it in reverse.
        const keyset = or(n.gt(v), and(n.eq(v), id.gt(after)));
        expect(await query(keyset), `after ${after}`).toEqual(sorted.slice(sorted.indexOf(after) + 1));
        const reverse = or(n.lt(v), and(n.eq(v), id.lt(after)));
        expect(await query(reverse, 'desc'), `before ${after}`).toEqual(
          sorted.slice(0, sorted.indexOf(after)).reverse(),
        );
      }
      const listed = ['a', 'A', '😀', 'missing'];
      expect(await query(id.in(listed))).toEqual(sorted.filter((x) => listed.includes(x)));
    });
  });
}
