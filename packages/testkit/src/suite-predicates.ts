import {
  bigint,
  boolean,
  bytes,
  type Doc,
  Index,
  integer,
  real,
  type Shard,
  text,
  timestamp,
} from '@waffle/core';
import {
  type ColumnKind,
  type ColumnRef,
  compareValues,
  evaluate,
  type IndexRow,
} from '@waffle/core/adapter';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { orderArbitrary, predicateArbitrary, valueArbitraries } from './arbitraries.js';
import { shardPool } from './fixtures.js';
import { type ConformanceOptions, uniqueName } from './options.js';

const kinds: readonly ColumnKind[] = ['integer', 'bigint', 'real', 'text', 'boolean', 'timestamp', 'bytes'];

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
  });
}
