import type { EntityTableSpec, HistoryTableSpec, IndexTableSpec, Shard } from '@waffle/core/adapter';
import { describe, expect, it } from 'vitest';
import { contractShard, indexContent, insert, joined, replace, versionOf } from './contract-fixtures.js';
import { type ConformanceOptions, uniqueName } from './options.js';
import { columnRef, indexTableSpec, recordRow } from './shard-helpers.js';

/** Every operation on an entity, its history and an index, checked to work (`index` has a text column first). */
async function useTables(
  shard: Shard,
  table: EntityTableSpec,
  history: HistoryTableSpec,
  index: IndexTableSpec,
) {
  const n = index.columns.length;
  const values = (text: string) => [text, ...Array.from({ length: n - 1 }, () => null)];
  const r1 = recordRow('r', { note: 'n1' });
  const r2 = recordRow('r', { version: 2, body: 'two', note: 'n2' });
  const row = (text: string, version: number) => ({
    table: index,
    rows: [{ id: 'r', values: values(text), version }],
  });
  expect(await shard.commit({ table, writes: [insert(r1)], put: [row('one', 1)], history })).toEqual([true]);
  expect(
    await shard.commit({
      table,
      writes: [replace(r2, 1)],
      put: [row('two', 2)],
      delete: [row('one', 2)],
      history,
    }),
  ).toEqual([true]);
  expect(await shard.getRecords(table, ['r'])).toEqual([r2]);
  expect(await shard.scanRecords(table, { limit: 5, notes: true })).toEqual([r2]);
  expect(await shard.clearNotes(table, [{ id: 'r', version: 2 }])).toEqual([true]);
  expect(await shard.scanRecords(table, { after: '', limit: 5 })).toEqual([{ ...r2, note: null }]);
  expect(await shard.getHistory(history, 'r')).toEqual([versionOf(r1), versionOf(r2)]);
  expect(await shard.getHistory(history, 'r', 2)).toEqual([versionOf(r2)]);
  const first = index.columns[0]!.name;
  const hits = await shard.queryIndex(index, {
    where: columnRef(index, first).startsWith('t'),
    orderBy: [
      ...index.columns.map((c) => ({ column: c.name, direction: 'desc' as const })),
      { column: '__id', direction: 'desc' },
    ],
    limit: 5,
    records: table,
  });
  expect(hits).toEqual([{ id: 'r', values: values('two'), version: 2, record: joined(r2) }]);
  await shard.putIndexRows(index, [{ id: 'q', values: values('q'), version: 1 }]);
  await shard.putIndexRows(index, [{ id: 'q', values: values('q'), version: 1 }]);
  expect((await indexContent(shard, index)).map((r) => r.id)).toEqual(['q', 'r']);
  await shard.deleteIndexRows(index, [{ id: 'q', values: values('q'), version: 2 }]);
  expect((await indexContent(shard, index)).map((r) => r.id)).toEqual(['r']);
}

/** Table and column names: reserved words, mixed case and the longest names are quoted and kept apart. */
export function contractNameSuite(options: ConformanceOptions): void {
  const open = contractShard(options);

  describe('names', () => {
    it('quotes reserved words and mixed case in table and column names', async () => {
      const table: EntityTableSpec = { kind: 'entity', name: uniqueName('Select') };
      const history: HistoryTableSpec = { kind: 'history', name: `${table.name}__history` };
      const index = indexTableSpec(uniqueName('Order'), [
        ['select', 'text'],
        ['order', 'integer', true],
        ['group', 'boolean', true],
        ['user', 'bytes', true],
        ['from', 'timestamp', true],
        ['where', 'real', true],
        ['rowid', 'integer', true],
        ['_rowid_', 'bigint', true],
        ['key', 'text', true],
        ['Limit', 'integer', true],
      ]);
      const shard = await open();
      await shard.createTables([table, history, index]);
      await shard.createTables([table, history, index]);
      await useTables(shard, table, history, index);
      // Every column in a predicate, an order and a key with values.
      const values = ['x', 1, true, new Uint8Array([1]), new Date(1), 1.5, 2, 3n, 'k', 4];
      await shard.putIndexRows(index, [{ id: 'v', values, version: 1 }]);
      await shard.putIndexRows(index, [{ id: 'v', values, version: 1 }]);
      const refs = index.columns.map((c) => columnRef(index, c.name));
      for (const [i, ref] of refs.entries()) {
        const hits = await shard.queryIndex(index, {
          where: ref.eq(values[i]!),
          orderBy: [
            { column: ref.name, direction: 'asc' },
            { column: '__id', direction: 'asc' },
          ],
          limit: 5,
        });
        expect(hits, ref.name).toEqual([{ id: 'v', values, version: 1 }]);
      }
      await shard.deleteIndexRows(index, [{ id: 'v', values, version: 2 }]);
      expect((await indexContent(shard, index)).map((r) => r.id)).toEqual(['r']);
    });

    it('takes the longest names, and keeps apart names that share a long prefix', async () => {
      const shard = await open();
      const entityPrefix = uniqueName('e').padEnd(45, 'e');
      const indexPrefix = uniqueName('ix').padEnd(60, 'x');
      const column = (letter: string) => letter.repeat(63);
      const sets = ['aaa', 'bbb'].map((end) => {
        const table: EntityTableSpec = { kind: 'entity', name: `${entityPrefix}${end}` };
        const history: HistoryTableSpec = { kind: 'history', name: `${table.name}__history` };
        const index = indexTableSpec(`${indexPrefix}${end}`, [
          [column('t'), 'text'],
          [column('n'), 'integer', true],
        ]);
        return { table, history, index };
      });
      expect(sets[0]!.table.name).toHaveLength(48);
      expect(sets[0]!.index.name).toHaveLength(63);
      await shard.createTables(sets.flatMap((s) => [s.table, s.history, s.index]));
      await shard.createTables(sets.flatMap((s) => [s.table, s.history, s.index]));
      for (const { table, history, index } of sets) await useTables(shard, table, history, index);
      // Each table kept its own rows.
      const onlyB = await shard.commit({
        table: sets[1]!.table,
        writes: [insert(recordRow('only-b', { note: 'b' }))],
      });
      expect(onlyB).toEqual([true]);
      expect((await shard.scanRecords(sets[0]!.table, { limit: 5, notes: true })).map((r) => r.id)).toEqual(
        [],
      );
      expect((await shard.scanRecords(sets[1]!.table, { limit: 5, notes: true })).map((r) => r.id)).toEqual([
        'only-b',
      ]);
    });
  });
}
