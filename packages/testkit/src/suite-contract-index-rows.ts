import type { IndexRow, IndexTableSpec } from '@waffle/core/adapter';
import { describe, expect, it } from 'vitest';
import { contractShard, indexContent, indexSpec, LONGEST_ID } from './contract-fixtures.js';
import type { ConformanceOptions } from './options.js';
import type { IndexColumnTuple } from './shard-helpers.js';

const MAX = 2n ** 63n - 1n;

/** putIndexRows and deleteIndexRows: idempotent writes, tags, null keys, exact keys, many rows. */
export function contractIndexRowSuite(options: ConformanceOptions): void {
  const open = contractShard(options);

  describe('index rows', () => {
    it('putIndexRows is idempotent and keeps the larger version tag', async () => {
      const index = indexSpec([
        ['author', 'text'],
        ['time', 'integer'],
      ]);
      const shard = await open(index);
      await shard.putIndexRows(index, [{ id: 'p1', values: ['ann', 10], version: 2 }]);
      await shard.putIndexRows(index, [{ id: 'p1', values: ['ann', 10], version: 2 }]);
      expect(await indexContent(shard, index)).toEqual([{ id: 'p1', values: ['ann', 10], version: 2 }]);
      await shard.putIndexRows(index, [{ id: 'p1', values: ['ann', 10], version: 1 }]);
      expect(await indexContent(shard, index)).toEqual([{ id: 'p1', values: ['ann', 10], version: 2 }]);
      await shard.putIndexRows(index, [{ id: 'p1', values: ['ann', 10], version: 5 }]);
      // The same key several times in one call, and another id under the same values.
      await shard.putIndexRows(index, [
        { id: 'p2', values: ['ann', 10], version: 3 },
        { id: 'p2', values: ['ann', 10], version: 4 },
        { id: 'p2', values: ['ann', 10], version: 1 },
        { id: LONGEST_ID, values: ['ann', 10], version: 1 },
      ]);
      expect(await indexContent(shard, index)).toEqual([
        { id: 'p1', values: ['ann', 10], version: 5 },
        { id: 'p2', values: ['ann', 10], version: 4 },
        { id: LONGEST_ID, values: ['ann', 10], version: 1 },
      ]);
    });

    it('treats null values as key values: unique, idempotent, larger tag kept', async () => {
      const index = indexSpec([
        ['tag', 'text', true],
        ['rank', 'integer', true],
      ]);
      const shard = await open(index);
      const rows: IndexRow[] = [
        { id: 'a', values: [null, null], version: 1 },
        { id: 'a', values: ['x', null], version: 1 },
        { id: 'a', values: [null, 3], version: 1 },
        { id: 'b', values: [null, null], version: 2 },
      ];
      await shard.putIndexRows(index, rows);
      await shard.putIndexRows(index, rows);
      await shard.putIndexRows(index, [...rows, ...rows]);
      expect(await indexContent(shard, index)).toEqual([
        { id: 'a', values: [null, null], version: 1 },
        { id: 'b', values: [null, null], version: 2 },
        { id: 'a', values: [null, 3], version: 1 },
        { id: 'a', values: ['x', null], version: 1 },
      ]);
      await shard.putIndexRows(index, [
        { id: 'a', values: [null, null], version: 7 },
        { id: 'a', values: [null, null], version: 6 },
        { id: 'b', values: [null, null], version: 1 },
        { id: 'a', values: ['x', null], version: 2 },
      ]);
      expect(await indexContent(shard, index)).toEqual([
        { id: 'a', values: [null, null], version: 7 },
        { id: 'b', values: [null, null], version: 2 },
        { id: 'a', values: [null, 3], version: 1 },
        { id: 'a', values: ['x', null], version: 2 },
      ]);
    });

    it('deleteIndexRows removes a key only where the stored tag is older', async () => {
      const plain = indexSpec([
        ['author', 'text'],
        ['time', 'integer'],
      ]);
      const nullable = indexSpec([
        ['tag', 'text', true],
        ['rank', 'integer', true],
      ]);
      const shard = await open(plain, nullable);
      await shard.putIndexRows(plain, [
        { id: 'p1', values: ['ann', 1], version: 3 },
        { id: 'p2', values: ['ann', 1], version: 3 },
      ]);
      await shard.deleteIndexRows(plain, [{ id: 'p1', values: ['ann', 1], version: 3 }]); // not older: kept
      await shard.deleteIndexRows(plain, [{ id: 'p1', values: ['ann', 1], version: 2 }]); // newer stored: kept
      await shard.deleteIndexRows(plain, [{ id: 'p1', values: ['ann', 2], version: 9 }]); // another key
      await shard.deleteIndexRows(plain, [{ id: 'p3', values: ['ann', 1], version: 9 }]); // another id
      expect((await indexContent(shard, plain)).map((r) => r.id)).toEqual(['p1', 'p2']);
      await shard.deleteIndexRows(plain, [{ id: 'p1', values: ['ann', 1], version: 4 }]);
      expect(await indexContent(shard, plain)).toEqual([{ id: 'p2', values: ['ann', 1], version: 3 }]);

      await shard.putIndexRows(nullable, [
        { id: 'a', values: [null, null], version: 2 },
        { id: 'a', values: ['t', null], version: 2 },
        { id: 'a', values: [null, 1], version: 2 },
        { id: 'b', values: [null, null], version: 2 },
      ]);
      await shard.deleteIndexRows(nullable, [{ id: 'a', values: [null, null], version: 2 }]);
      expect((await indexContent(shard, nullable)).length).toBe(4);
      await shard.deleteIndexRows(nullable, [
        { id: 'a', values: [null, null], version: 3 },
        { id: 'a', values: [null, null], version: 3 },
        { id: 'a', values: [null, 1], version: 3 },
      ]);
      expect(await indexContent(shard, nullable)).toEqual([
        { id: 'b', values: [null, null], version: 2 },
        { id: 'a', values: ['t', null], version: 2 },
      ]);
    });

    it('keeps keys apart that only exact comparison tells apart', async () => {
      const index = indexSpec([
        ['b', 'bigint', true],
        ['t', 'text', true],
        ['y', 'bytes', true],
        ['d', 'timestamp', true],
      ]);
      const shard = await open(index);
      const pairs: [IndexRow['values'], IndexRow['values']][] = [
        [
          [MAX, null, null, null],
          [MAX - 1n, null, null, null],
        ],
        [
          [2n ** 53n, null, null, null],
          [2n ** 53n + 1n, null, null, null],
        ],
        [
          [null, 'a', null, null],
          [null, 'a ', null, null],
        ],
        [
          [null, 'a', null, null],
          [null, 'A', null, null],
        ],
        [
          [null, null, new Uint8Array([0]), null],
          [null, null, new Uint8Array([0, 0]), null],
        ],
        [
          [null, null, new Uint8Array([]), null],
          [null, null, new Uint8Array([0]), null],
        ],
        [
          [null, null, null, new Date(1)],
          [null, null, null, new Date(2)],
        ],
      ];
      const rows = pairs.flatMap(([x, y], i) => [
        { id: `k${i}`, values: x, version: 1 },
        { id: `k${i}`, values: y, version: 1 },
      ]);
      await shard.putIndexRows(index, rows);
      await shard.putIndexRows(index, rows);
      expect((await indexContent(shard, index)).length).toBe(rows.length);
      // Deleting the second of each pair leaves exactly the first.
      await shard.deleteIndexRows(
        index,
        pairs.map(([, y], i) => ({ id: `k${i}`, values: y, version: 2 })),
      );
      const left = await indexContent(shard, index);
      const key = (r: IndexRow) =>
        `${r.id}:${r.values.map((v) => String(v instanceof Uint8Array ? [...v] : v)).join('/')}`;
      expect(left.map(key).sort()).toEqual(
        pairs.map(([x], i) => key({ id: `k${i}`, values: x, version: 1 })).sort(),
      );
    });

    it('puts and deletes 40,000 rows, more than one statement binds', async () => {
      const columns: IndexColumnTuple[][] = [
        [
          ['a', 'text'],
          ['n', 'integer'],
        ],
        [
          ['t', 'text', true],
          ['n', 'integer', true],
        ],
      ];
      const specs = columns.map((c) => indexSpec(c));
      const shard = await open(...specs);
      const rows = (spec: IndexTableSpec, version: number): IndexRow[] =>
        Array.from({ length: 40_000 }, (_, i) => ({
          id: `id${i}`,
          values: spec.columns[0]!.nullable
            ? [i % 3 === 0 ? null : `t${i % 10}`, i % 5 === 0 ? null : i]
            : [`a${i % 10}`, i],
          version,
        }));
      for (const spec of specs) {
        await shard.putIndexRows(spec, rows(spec, 1));
        await shard.putIndexRows(spec, rows(spec, 2));
        const content = await indexContent(shard, spec);
        expect(content.length).toBe(40_000);
        expect(content.every((r) => r.version === 2)).toBe(true);
        expect(new Set(content.map((r) => r.id)).size).toBe(40_000);
        // Only the older tags go: the rows of even ids were written at 3.
        await shard.putIndexRows(
          spec,
          rows(spec, 3).filter((_, i) => i % 2 === 0),
        );
        await shard.deleteIndexRows(spec, rows(spec, 3));
        const left = await indexContent(shard, spec);
        expect(left.length).toBe(20_000);
        expect(left.every((r) => Number(r.id.slice(2)) % 2 === 0 && r.version === 3)).toBe(true);
      }
    });
  });
}
