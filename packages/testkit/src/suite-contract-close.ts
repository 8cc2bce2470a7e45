import { QueryError } from '@waffle/core';
import type { Shard } from '@waffle/core/adapter';
import { describe, expect, it } from 'vitest';
import { contractShard, entitySpec, historySpec, indexSpec, insert, rejection } from './contract-fixtures.js';
import type { ConformanceOptions } from './options.js';
import { recordRow } from './shard-helpers.js';

/** close: later calls fail with a QueryError; closing again is fine. */
export function contractCloseSuite(options: ConformanceOptions): void {
  const open = contractShard(options);

  describe('close', () => {
    it('fails every later call with a QueryError "The shard is closed"; closing twice is fine', async () => {
      const table = entitySpec();
      const history = historySpec();
      const index = indexSpec([['k', 'text']]);
      const shard = await open(table, history, index);
      expect(await shard.commit({ table, writes: [insert(recordRow('a'))] })).toEqual([true]);
      await shard.close();
      await shard.close();
      const row = { id: 'a', values: ['x'], version: 1 };
      const calls: [string, (s: Shard) => Promise<unknown>][] = [
        ['createTables', (s) => s.createTables([table])],
        ['readMeta', (s) => s.readMeta(['k'])],
        ['writeMeta', (s) => s.writeMeta('k', 'v')],
        ['getRecords', (s) => s.getRecords(table, ['a'])],
        ['scanRecords', (s) => s.scanRecords(table, { limit: 5 })],
        [
          'commit',
          (s) => s.commit({ table, writes: [insert(recordRow('b'))], put: [{ table: index, rows: [row] }] }),
        ],
        [
          "commit of 'older' writes",
          (s) => s.commit({ table, writes: [{ row: recordRow('c'), expected: 'older' }] }),
        ],
        [
          "commit of 'older' writes with index rows and history",
          (s) =>
            s.commit({
              table,
              writes: ['c', 'd'].map((id) => ({ row: recordRow(id), expected: 'older' as const })),
              put: [{ table: index, rows: [row] }],
              history,
            }),
        ],
        ['clearNotes', (s) => s.clearNotes(table, [{ id: 'a', version: 1 }])],
        ['getHistory', (s) => s.getHistory(history, 'a')],
        ['putIndexRows', (s) => s.putIndexRows(index, [row])],
        ['deleteIndexRows', (s) => s.deleteIndexRows(index, [row])],
        ['queryIndex', (s) => s.queryIndex(index, { where: undefined, orderBy: [], limit: 5 })],
        ['countIndex', (s) => s.countIndex(index, undefined)],
        ['countRows', (s) => s.countRows(table)],
      ];
      for (const [what, call] of calls) {
        const error = await rejection(call(shard), `${what} after close`);
        expect(QueryError.is(error), `${what}: ${String(error)}`).toBe(true);
        expect(error.message, what).toContain('The shard is closed');
        expect((error as QueryError).shard, what).toBe(shard.name);
      }
      await shard.close();
    });
  });
}
