import type { Doc, RecordRow } from '@waffle/core';
import { Index, integer } from '@waffle/core';
import { describe, expect, it } from 'vitest';
import { shardPool } from './fixtures.js';
import { type ConformanceOptions, uniqueName } from './options.js';

const row = (id: string, version: number, body = `{"v":${version}}`): RecordRow => ({
  id,
  version,
  codec: 'json',
  body,
  createdAt: 1,
  updatedAt: version,
});

/** `shard.transaction(work)`: all of the work commits, or none of it. */
export function transactionSuite(options: ConformanceOptions): void {
  const open = shardPool(options);
  const enabled = options.capabilities?.transactions !== false;

  describe.skipIf(!enabled)('transactions', () => {
    async function setup() {
      const [shard] = await open(1);
      const table = { kind: 'entity' as const, name: uniqueName('tx') };
      const index = new Index(uniqueName('tx_ix'), {
        columns: { n: integer() },
        shard: [shard!],
        mapper: (_: Doc<unknown>) => [],
      });
      await shard!.createTables([table, index.table]);
      const indexRows = () =>
        shard!.queryIndex(index.table, {
          where: undefined,
          orderBy: [{ column: '__id', direction: 'asc' }],
          limit: 10,
        });
      return { shard: shard!, table, index, indexRows };
    }

    it('commits a record and its index rows together', async () => {
      const { shard, table, index, indexRows } = await setup();
      const result = await shard.transaction(async (tx) => {
        expect(await tx.insertRecord(table, row('a', 1))).toBe(true);
        await tx.putIndexRows(index.table, [{ id: 'a', values: [1], version: 1 }]);
        expect((await tx.getRecords(table, ['a'])).map((r) => r.id)).toEqual(['a']); // reads its own writes
        return 'done';
      });
      expect(result).toBe('done');
      expect((await shard.getRecords(table, ['a']))[0]?.version).toBe(1);
      expect((await indexRows()).map((r) => r.id)).toEqual(['a']);
    });

    it('rolls everything back when the work throws, and rethrows its error unchanged', async () => {
      const { shard, table, index, indexRows } = await setup();
      await shard.insertRecord(table, row('a', 1));
      const failure = new Error('stop here');
      const error = await shard
        .transaction(async (tx) => {
          await tx.putIndexRows(index.table, [{ id: 'b', values: [2], version: 1 }]);
          expect(await tx.updateRecord(table, row('a', 2), 1)).toBe(true);
          expect(await tx.insertRecord(table, row('b', 1))).toBe(true);
          throw failure;
        })
        .catch((e) => e);
      expect(error).toBe(failure);
      expect((await shard.getRecords(table, ['a', 'b'])).map((r) => `${r.id}${r.version}`)).toEqual(['a1']);
      expect(await indexRows()).toEqual([]);
    });

    it('compare-and-set inside a transaction sees the committed version', async () => {
      const { shard, table } = await setup();
      await shard.insertRecord(table, row('a', 1));
      const outcome = await shard.transaction(async (tx) => ({
        stale: await tx.updateRecord(table, row('a', 3), 2),
        fresh: await tx.updateRecord(table, row('a', 2), 1),
        again: await tx.insertRecord(table, row('a', 1)),
      }));
      expect(outcome).toEqual({ stale: false, fresh: true, again: false });
      expect((await shard.getRecords(table, ['a']))[0]?.version).toBe(2);
    });
  });
}
