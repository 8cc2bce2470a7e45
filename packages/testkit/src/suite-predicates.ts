import { bigint, boolean, bytes, type Doc, Index, integer, real, type Shard, text, timestamp } from '@waffle/core';
import { type ColumnKind, type ColumnRef, type ColumnValue, compareValues, evaluate, type IndexRow } from '@waffle/core/adapter';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { orderArbitrary, predicateArbitrary, valueArbitraries } from './arbitraries.js';
import { shardPool } from './fixtures.js';
import { type ConformanceOptions, uniqueName } from './options.js';

const kinds: readonly ColumnKind[] = ['integer', 'bigint', 'real', 'text', 'boolean', 'timestamp', 'bytes'];

function sameValue(kind: ColumnKind, a: ColumnValue, b: ColumnValue): boolean {
  return a === null || b === null ? a === b : compareValues(kind, a, b) === 0;
}

/** An index with a nullable column of every kind, its table created on `shard`. */
async function everyKind(shard: Shard, prefix: string) {
  const index = new Index(uniqueName(prefix), {
    columns: {
      i: integer().nullable(),
      b: bigint().nullable(),
      r: real().nullable(),
      t: text().nullable(),
      f: boolean().nullable(),
      d: timestamp().nullable(),
      y: bytes().nullable(),
    },
    shard: [shard],
    mapper: (_: Doc<unknown>) => [],
  });
  await shard.createTables([index.table]);
  return index;
}

/** The adapter's SQL for predicates and order agrees with core's JavaScript evaluation. */
export function predicateSuite(options: ConformanceOptions): void {
  const open = shardPool(options);
  const scale = options.scale ?? 1;
  const longest = options.capabilities?.indexValueBytes ?? 4096;

  describe('predicates', () => {
    it('compiled SQL selects and orders exactly the rows JavaScript evaluation selects', async () => {
      const [shard] = await open(1);
      const nullable = await everyKind(shard!, 'kinds');
      const rowArbitrary = fc.tuple(
        ...kinds.map((k) => fc.option(valueArbitraries[k], { nil: null, freq: 5 })),
      );
      const count = Math.max(60, Math.round(300 * scale));
      const rows: IndexRow[] = fc
        .sample(rowArbitrary, { numRuns: count, seed: 42 })
        .map((values, n) => ({ id: `row${String(n).padStart(4, '0')}`, values, version: 1 }));
      await shard!.putIndexRows(nullable.table, rows);
      await shard!.putIndexRows(nullable.table, rows); // idempotent: no duplicates
      const refs = nullable.columnNames.map((n) => (nullable.c as Record<string, ColumnRef>)[n]!);
      const position = (ref: ColumnRef) => nullable.columnNames.indexOf(ref.name);
      let matched = 0;
      await fc.assert(
        fc.asyncProperty(
          predicateArbitrary(refs.map((ref) => ({ ref }))),
          orderArbitrary(refs),
          async (where, order) => {
            const expected = rows
              .filter((row) => evaluate(where, (ref) => row.values[position(ref)]!) === true)
              .sort((x, y) => {
                for (const term of order) {
                  const p = position(term.column);
                  const c = compareValues(term.column.type.kind, x.values[p]!, y.values[p]!);
                  if (c !== 0) return term.direction === 'asc' ? c : -c;
                }
                return compareValues('text', x.id, y.id);
              });
            const got = await shard!.queryIndex(nullable.table, {
              where,
              orderBy: [
                ...order.map((t) => ({ column: t.column.name, direction: t.direction })),
                { column: '__id', direction: 'asc' },
              ],
              limit: rows.length + 1,
            });
            expect(got.map((r) => r.id)).toEqual(expected.map((r) => r.id));
            matched += got.length;
          },
        ),
        { numRuns: Math.max(50, Math.round(400 * scale)), seed: 4242 },
      );
      expect(matched).toBeGreaterThan(0);
    });

    it('index values of every type round-trip exactly, extremes included', async () => {
      const [shard] = await open(1);
      const index = await everyKind(shard!, 'values');
      const extremes: ColumnValue[][] = [
        [
          -2147483648,
          -(2n ** 63n),
          -1.7976931348623157e308,
          '',
          false,
          new Date(Date.parse('0001-01-01T00:00:00.000Z')),
          new Uint8Array([]),
        ],
        [
          2147483647,
          2n ** 63n - 1n,
          1.7976931348623157e308,
          '𝒳 é \uffff %_\\',
          true,
          new Date(Date.UTC(9999, 11, 31, 23, 59, 59, 999)),
          new Uint8Array([0, 255, 0]),
        ],
        [
          0,
          2n ** 53n + 1n,
          5e-324,
          'x'.repeat(Math.min(2000, longest)),
          true,
          new Date(-1),
          new Uint8Array(Math.min(4096, longest)).fill(7),
        ],
        [null, null, null, null, null, null, null],
      ];
      const rows = extremes.map((values, n) => ({ id: `v${n}`, values, version: n + 1 }));
      await shard!.putIndexRows(index.table, rows);
      const got = await shard!.queryIndex(index.table, {
        where: undefined,
        orderBy: [{ column: '__id', direction: 'asc' }],
        limit: 10,
      });
      expect(got.map((r) => r.id)).toEqual(rows.map((r) => r.id));
      got.forEach((row, n) => {
        expect(row.version).toBe(n + 1);
        row.values.forEach((value, i) => {
          const kind = kinds[i]!;
          expect(sameValue(kind, value, extremes[n]![i]!), `${kind} ${String(value)}`).toBe(true);
          if (value !== null && kind === 'bigint') expect(typeof value).toBe('bigint');
          if (value !== null && kind === 'timestamp') expect(value).toBeInstanceOf(Date);
          if (value !== null && kind === 'bytes') expect(value).toBeInstanceOf(Uint8Array);
          if (value !== null && kind === 'boolean') expect(typeof value).toBe('boolean');
        });
      });
    });

    it('index rows are written idempotently and removed only by a newer version', async () => {
      const [shard] = await open(1);
      const index = new Index(uniqueName('tags'), {
        columns: { k: text(), n: integer().nullable() },
        shard: [shard!],
        mapper: (_: Doc<unknown>) => [],
      });
      await shard!.createTables([index.table]);
      const read = async () =>
        (
          await shard!.queryIndex(index.table, {
            where: undefined,
            orderBy: [
              { column: 'k', direction: 'asc' },
              { column: 'n', direction: 'asc' },
              { column: '__id', direction: 'asc' },
            ],
            limit: 100,
          })
        ).map((r) => `${r.values.join('/')}@${r.id}v${r.version}`);
      await shard!.putIndexRows(index.table, [
        { id: 'a', values: ['x', null], version: 2 },
        { id: 'a', values: ['x', 1], version: 2 },
      ]);
      await shard!.putIndexRows(index.table, [
        { id: 'a', values: ['x', null], version: 1 },
        { id: 'a', values: ['x', 1], version: 3 },
      ]);
      expect(await read()).toEqual(['x/@av2', 'x/1@av3']);
      await shard!.deleteIndexRows(index.table, [
        { id: 'a', values: ['x', null], version: 2 },
        { id: 'a', values: ['x', 1], version: 3 },
      ]);
      expect(await read()).toEqual(['x/@av2', 'x/1@av3']); // tags not older: kept
      await shard!.deleteIndexRows(index.table, [
        { id: 'a', values: ['x', null], version: 3 },
        { id: 'a', values: ['x', 1], version: 4 },
      ]);
      expect(await read()).toEqual([]);
    });
  });
}
