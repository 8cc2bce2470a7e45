/**
 * testkit's TcpProxy in front of the real servers: a server that goes away
 * (reset, refused) is a ShardUnavailableError, and the shard's pool recovers
 * by itself once it is back; a connection cut right after a write reached the
 * server leaves it stored at most once, and saving again settles it.
 */
import { ShardUnavailableError, WaffleError } from '@waffle/core';
import { type Dialect, dialectEnabled, uniqueName } from '@waffle/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { numberedEntity, proxiedShard } from './support/proxied.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

async function setup(dialect: Exclude<Dialect, 'libsql'>) {
  const { proxy, shard } = await proxiedShard(dialect, 2);
  open.push(proxy, shard);
  const name = uniqueName('proxied');
  const { docs, byN } = await numberedEntity<{ n: number }>(name, shard);
  open.push({ close: () => docs.drop() });
  return { proxy, docs, byN, name };
}

for (const dialect of ['postgres', 'mysql'] as const) {
  describe.runIf(dialectEnabled(dialect))(`TcpProxy on ${dialect}`, () => {
    it('a server that goes away is ShardUnavailableError; the pool recovers by itself when it is back', async () => {
      const { proxy, docs } = await setup(dialect);
      const saved = await docs.save(docs.new({ n: 1 }));
      for (const mode of ['reset', 'refuse'] as const) {
        await proxy.down(mode);
        const error = await docs.get(saved.id).catch((e) => e);
        expect(error, mode).toBeInstanceOf(ShardUnavailableError);
        await proxy.up();
        expect((await docs.get(saved.id))?.value).toEqual({ n: 1 });
      }
      expect(proxy.accepted).toBeGreaterThan(1);
    });

    it('a connection cut after the write reached the server: saving the same record again stores it once', async () => {
      const { proxy, docs, byN, name } = await setup(dialect);
      const record = docs.new({ n: 7 });
      const insert = new RegExp(`insert into [\`"]${name}[\`"]`, 'i');
      proxy.cutAfter((chunk) => insert.test(chunk.toString('latin1')));
      const error = await docs.save(record).catch((e) => e);
      expect(proxy.cuts).toBe(1);
      expect(error).toBeInstanceOf(WaffleError);
      // Whatever the first attempt did, a retry of the same save ends with the record stored once.
      const again = await docs.save({ ...record, version: 0 }).catch((e) => e);
      const stored = await docs.get(record.id);
      expect(stored?.value).toEqual({ n: 7 });
      expect(stored?.version).toBe(1);
      if (again instanceof Error) expect(again.name).toBe('ConflictError'); // the first one had committed
      expect((await docs.select(byN.c.n.eq(7))).map((d) => d.id)).toEqual([record.id]);
    });
  });
}
