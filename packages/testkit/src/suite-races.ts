import type { Shard, WriteMode } from '@waffle/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { blog, type Post, post, shardPool } from './fixtures.js';
import type { ConformanceOptions } from './options.js';
import { wrapShard } from './wrap.js';

/** A shard whose operations start when the scheduler says, so that writers interleave in every order. */
function scheduled(shard: Shard, s: fc.Scheduler): Shard {
  // The start of each call is scheduled (not only its result), so the database sees the writers' steps in the chosen order.
  return wrapShard(shard, (operation, run) => async (...args) => {
    await s.schedule(Promise.resolve(), operation);
    return run(...args);
  });
}

/**
 * A blog holding one record of `value`, and the same tables through shards
 * whose calls the scheduler `s` starts (with `mode` for its writes).
 */
async function scheduledBlog(
  options: ConformanceOptions,
  s: fc.Scheduler,
  shards: Shard[],
  tagShards: Shard[],
  value: Post,
  mode: WriteMode = 'sync',
) {
  const plain = blog(options, shards, tagShards);
  await plain.posts.create();
  const record = await plain.posts.save(plain.posts.new(value));
  const { posts, byTag } = blog(
    options,
    shards.map((x) => scheduled(x, s)),
    tagShards.map((x) => scheduled(x, s)),
    plain.names,
    { mode },
  );
  return { plain, record, posts, byTag };
}

/**
 * Two writers race on one record: one moves its index row away, the other
 * moves it back. In every interleaving of their steps, the rows of the final
 * value survive (the version tags keep a slower writer from deleting a newer
 * writer's row) and nothing else remains once the dust settles.
 */
export function raceSuite(options: ConformanceOptions): void {
  const open = shardPool(options);
  const runs = Math.max(10, Math.round(40 * (options.scale ?? 1)));

  describe('races', () => {
    it('a row moved away and back by two writers survives in every interleaving', async () => {
      await race('sync');
    });

    it('in async mode too, once drained, and then the index is exact', async () => {
      await race('async');
    });

    it('repair beside a writer moving a row between index shards: in every interleaving, the saved record is found', async () => {
      const shards = await open(2);
      const tagShards = await open(2);
      let round = 0;
      await fc.assert(
        fc.asyncProperty(fc.scheduler(), async (s) => {
          round++;
          const { plain, record, posts, byTag } = await scheduledBlog(
            options,
            s,
            shards,
            tagShards,
            post({ tags: [`from${round}`], title: `r${round}` }),
          );
          // The writer's new row lands on another tag shard (or the same) than the old one, in any order
          // with the repair's reads, writes and deletes.
          const moved = `to${round}`;
          const save = posts.update(record.id, (v) => ({ ...v, tags: [moved] }));
          const repair = posts.repair(byTag, { graceMs: 200, batchSize: 2 });
          await s.waitFor(Promise.all([save, repair]));
          expect((await plain.posts.select(plain.byTag.c.tag.eq(moved))).map((r) => r.id)).toEqual([
            record.id,
          ]);
          expect(await plain.posts.select(plain.byTag.c.tag.eq(`from${round}`))).toEqual([]);
          await plain.posts.repair(plain.byTag, { graceMs: 0 });
          expect(await plain.posts.verify(plain.byTag)).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
        }),
        { numRuns: Math.max(5, Math.round(runs / 2)), seed: 7 },
      );
    });

    async function race(mode: WriteMode): Promise<void> {
      const shards = await open(2);
      const tagShards = await open(2);
      let round = 0;
      await fc.assert(
        fc.asyncProperty(fc.scheduler(), async (s) => {
          round++;
          // The same tables, through shards whose calls start when the scheduler says.
          const { plain, record, posts } = await scheduledBlog(
            options,
            s,
            shards,
            tagShards,
            post({ tags: ['home'], title: `r${round}` }),
            mode,
          );
          const away = posts.update(record.id, (v) => ({ ...v, tags: ['away'] }), { retries: 100 });
          const back = posts.update(record.id, (v) => ({ ...v, tags: ['home'] }), { retries: 100 });
          await s.waitFor(Promise.all([away, back]));
          // Async writes apply their notes in the background, through the scheduler too.
          if (mode === 'async') await s.waitFor(posts.drain());
          const final = (await plain.posts.get(record.id))!;
          expect(final.version).toBeGreaterThanOrEqual(3);
          for (const tag of final.value.tags) {
            expect((await plain.posts.select(plain.byTag.c.tag.eq(tag))).map((r) => r.id)).toEqual([
              record.id,
            ]);
          }
          // A sync writer that lost its compare-and-set may leave rows of a version never committed;
          // an async one writes nothing before its commit.
          expect(await plain.posts.verify(plain.byTag)).toMatchObject(
            mode === 'sync' ? { missing: 0 } : { missing: 0, orphaned: 0, stale: 0 },
          );
        }),
        { numRuns: runs, seed: 99 },
      );
    }
  });
}
