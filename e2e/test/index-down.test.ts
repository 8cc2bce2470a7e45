/**
 * `async` mode with an index database really stopped (its server cut off
 * behind a TCP proxy): saves, updates and deletes succeed; once the server is
 * back, `drain()` applies the outbox and every query is exact again.
 */
import { ShardUnavailableError } from '@waffle/core';
import { json } from '@waffle/serializer-json';
import {
  blog,
  type Dialect,
  dialectEnabled,
  expectRowsOf,
  post,
  servers,
  shardDatabaseUrls,
  TcpProxy,
  uniqueName,
} from '@waffle/testkit';
import { describe, expect, it } from 'vitest';
import { shardFor } from './crash/shards.js';

for (const dialect of ['postgres', 'mysql'] as Dialect[]) {
  describe.skipIf(!dialectEnabled(dialect))(`an index database down on ${dialect}`, () => {
    it('async writes go on, and drain() makes every query exact once it is back', async () => {
      const server = new URL(dialect === 'postgres' ? servers.postgres : servers.mysql);
      const proxy = await TcpProxy.start({
        host: server.hostname,
        port: Number(server.port || (dialect === 'postgres' ? 5432 : 3306)),
      });
      const urls = shardDatabaseUrls(dialect === 'postgres' ? servers.postgres : servers.mysql);
      const viaProxy = (url: string) => proxy.url(url);
      const shards = [shardFor(urls[0]!)];
      const tagShards = [shardFor(viaProxy(urls[1]!)), shardFor(viaProxy(urls[2]!))];
      const errors: unknown[] = [];
      const options = { name: dialect, serializer: json(), openShards: async () => [] };
      const names = {
        post: uniqueName('post'),
        byGroup: uniqueName('by_group'),
        byTag: uniqueName('by_tag'),
      };
      const { posts, byTag, byGroup } = blog(options, shards, tagShards, names, {
        mode: 'async',
        onIndexError: (error) => errors.push(error),
      });
      try {
        await posts.create();
        const first = await posts.saveMany(
          Array.from({ length: 4 }, (_, i) => posts.new(post({ group: i, tags: ['kept', `t${i}`] }))),
        );
        await posts.drain();

        await proxy.down('refuse'); // the index database is unreachable from here on
        const added = await posts.saveMany(
          Array.from({ length: 3 }, (_, i) => posts.new(post({ group: 9, tags: ['new', `t${i}`] }))),
        );
        first[0]!.value = post({ group: 7, tags: ['moved'] });
        await posts.save(first[0]!);
        await posts.update(first[1]!.id, (p) => ({ ...p, tags: ['moved', 'kept'] }));
        expect(await posts.delete(first[2]!.id)).toBe(true);
        // The index beside the records commits with them: exact while the other is down.
        expect((await posts.select(byGroup.c.group.eq(9))).map((r) => r.id).sort()).toEqual(
          added.map((r) => r.id).sort(),
        );
        // A sync write needs the index database, and changes nothing without it.
        const record = posts.new(post({ tags: ['sync'] }));
        const refused = await posts.save(record, { mode: 'sync' }).catch((e) => e);
        expect(refused).toBeInstanceOf(ShardUnavailableError);
        expect(refused.message).toMatch(/is unavailable|Cannot connect/);
        expect(await posts.get(record.id)).toBeUndefined();
        const early = await posts.drain().catch((e) => e);
        expect(early).toBeInstanceOf(ShardUnavailableError);

        // A fresh process (new shard objects, nothing checked yet) saves and reads: first use checks
        // only the shards an operation touches.
        const fresh = blog(
          options,
          [shardFor(urls[0]!)],
          [shardFor(viaProxy(urls[1]!)), shardFor(viaProxy(urls[2]!))],
          names,
          {
            mode: 'async',
            onIndexError: (error) => errors.push(error),
          },
        );
        const late = await fresh.posts.save(fresh.posts.new(post({ group: 9, tags: ['late'] })));
        expect((await fresh.posts.get(late.id))?.value.tags).toEqual(['late']);
        expect((await fresh.posts.getMany([late.id, first[0]!.id])).map((r) => r?.version)).toEqual([1, 2]);
        expect((await fresh.posts.select(fresh.byGroup.c.group.eq(9))).map((r) => r.id).sort()).toEqual(
          [...added.map((r) => r.id), late.id].sort(),
        );
        const notThere = await fresh.posts.select(fresh.byTag.c.tag.eq('late')).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(notThere).toBeInstanceOf(ShardUnavailableError);
        await fresh.posts.drain().catch(() => {}); // waits for its background work, which fails
        added.push(late);

        await proxy.up(); // back
        const report = await posts.drain();
        expect(report.notes).toBeGreaterThanOrEqual(6);
        expect(report.finished).toBe(report.notes);
        expect(errors.length).toBeGreaterThan(0);
        expect(errors.every((e) => ShardUnavailableError.is(e))).toBe(true);
        const ids = [...first, ...added].map((r) => r.id);
        const stored = (await posts.getMany(ids)).filter((r) => r !== undefined);
        for (const tag of ['kept', 'moved', 'new', 't0', 't1', 't2', 't3']) {
          const expected = stored
            .filter((r) => r.value.tags.includes(tag))
            .map((r) => r.id)
            .sort();
          expect((await posts.select(byTag.c.tag.eq(tag))).map((r) => r.id).sort(), tag).toEqual(expected);
        }
        for (const id of ids) await expectRowsOf(posts, byTag, id, true);
        expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
      } finally {
        await proxy.up();
        await Promise.all([...shards, ...tagShards].map((s) => s.close()));
        await proxy.close();
      }
    });
  });
}
