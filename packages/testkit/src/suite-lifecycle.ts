import {
  type Doc,
  Entity,
  Index,
  IndexNotReadyError,
  integer,
  type Shard,
  ShardByColumn,
  ShardMapError,
  text,
  ValidationError,
} from '@waffle/core';
import { describe, expect, it } from 'vitest';
import { type BlogNames, blog, blogFixtures, type Post, post } from './fixtures.js';
import { type ConformanceOptions, uniqueName } from './options.js';
import { wrapShard } from './wrap.js';

/** The error `promise` rejects with (fails when it resolves). */
async function rejection(promise: PromiseLike<unknown>): Promise<unknown> {
  return Promise.resolve(promise).then(
    (value) => {
      throw new Error(`expected a rejection, got ${String(value)}`);
    },
    (error: unknown) => error,
  );
}

/** The ids of `records` that `keep` accepts, sorted. */
const idsOf = (records: readonly Doc<Post>[], keep: (p: Post) => boolean) =>
  records
    .filter((r) => keep(r.value))
    .map((r) => r.id)
    .sort();

/** Index states, backfill beside writers, resumed backfills and mapper versions. */
export function lifecycleSuite(options: ConformanceOptions): void {
  const { open } = blogFixtures(options);
  const scale = options.scale ?? 1;

  /** The blog's names, its records' shards and the shards of its tag index. */
  const setup = async () => {
    const shards = await open(2);
    const tagShards = await open(2);
    const names = { post: uniqueName('post'), byGroup: uniqueName('by_group'), byTag: uniqueName('by_tag') };
    return { shards, tagShards, names };
  };

  /**
   * Stores `values` through the entity as it was before the tag index (its
   * group index only), on the tables of `names`; returns the records saved.
   */
  const seedBefore = async (
    shards: Shard[],
    tagShards: Shard[],
    names: BlogNames,
    values: readonly Post[],
  ): Promise<Doc<Post>[]> => {
    const old = new Entity<Post>(names.post, {
      shards,
      indices: [blog(options, shards, tagShards, names).byGroup],
      serializer: options.serializer,
    });
    await old.create();
    return old.saveMany(values.map((value) => old.new(value)));
  };

  describe('index lifecycle', () => {
    it('an index added to an entity that holds records is building until backfill; queries refuse it unless partial', async () => {
      const { shards, tagShards, names } = await setup();
      await seedBefore(
        shards,
        tagShards,
        names,
        Array.from({ length: 40 }, (_, i) => post({ group: i % 4, tags: i % 2 ? ['a'] : ['b'] })),
      );
      // The new code adds the tag index.
      const { posts, byTag, byGroup } = blog(options, shards, tagShards, names);
      await posts.create();
      expect(await posts.status()).toMatchObject({
        indices: [
          { index: names.byGroup, state: 'ready', version: 1 },
          { index: names.byTag, state: 'building', version: 1, progress: { after: {}, finished: [] } },
        ],
      });
      const refused = await rejection(posts.select(byTag.c.tag.eq('a')));
      expect(refused).toBeInstanceOf(IndexNotReadyError);
      expect(refused).toMatchObject({ code: 'INDEX_NOT_READY', index: names.byTag });
      expect((refused as Error).message).toBe(
        `${names.post}.select(): index "${names.byTag}" is being built (added to an entity that held records, or given a new version), so it may miss records: run backfill(), or pass { partial: true } to read what it holds`,
      );
      expect(await rejection(posts.count(byTag.c.tag.eq('a')))).toBeInstanceOf(IndexNotReadyError);
      expect(await rejection(posts.count(byTag.c.tag.eq('a'), { verify: true }))).toBeInstanceOf(
        IndexNotReadyError,
      );
      expect(await posts.count(byGroup.c.group.eq(1))).toBe(10); // the other index is ready
      // Writes maintain a building index.
      const written = await posts.save(posts.new(post({ tags: ['a'] })));
      expect((await posts.select(byTag.c.tag.eq('a'), { partial: true })).map((r) => r.id)).toEqual([
        written.id,
      ]);
      expect(await posts.count(byTag.c.tag.eq('a'), { partial: true })).toBe(1);
      expect(() => posts.count(byTag.c.tag.eq('a'), { partial: 'yes' as never })).toThrow(
        `${names.post}.count(): partial must be true or false, got "yes" (string)`,
      );

      const progress: number[] = [];
      const reports = await posts.backfill(undefined, {
        batchSize: 7,
        onProgress: (p) => progress.push(p.records),
        rowsPerSecond: 1_000_000, // a rate it keeps without waiting
      });
      expect(reports).toEqual([
        { index: names.byTag, records: 41, rows: 41, withdrawn: 0, removed: 0, ready: true },
      ]);
      expect(progress.length).toBeGreaterThan(5);
      expect(progress).toEqual([...progress].sort((a, b) => a - b));
      const all = await posts.getMany((await posts.select(byGroup.c.group.gte(0))).map((r) => r.id));
      expect(all).toHaveLength(41);
      const docs = all as Doc<Post>[];
      expect((await posts.select(byTag.c.tag.eq('a'))).map((r) => r.id).sort()).toEqual(
        idsOf(docs, (p) => p.tags.includes('a')),
      );
      expect(await posts.count(byTag.c.tag.eq('b'))).toBe(20);
      expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
      expect((await posts.status()).indices.map((s) => s.state)).toEqual(['ready', 'ready']);
      // Counts per shard: records (a deletion is no record) and index rows.
      await posts.delete(written.id);
      const counted = await posts.status({ counts: true });
      const sum = (xs: readonly { records?: number; rows?: number }[] | undefined) =>
        (xs ?? []).reduce((total, x) => total + (x.records ?? x.rows ?? 0), 0);
      expect(counted.records?.map((r) => r.shard)).toEqual(shards.map((shard) => shard.name));
      expect(sum(counted.records)).toBe(40);
      expect(counted.indices.map((ix) => [ix.index, sum(ix.rows), ix.rows?.length])).toEqual([
        [names.byGroup, 40, shards.length],
        [names.byTag, 40, tagShards.length],
      ]);
      expect((await posts.status()).records).toBeUndefined();
      const badCounts = await rejection(posts.status({ counts: 1 as never }));
      expect(badCounts).toBeInstanceOf(ValidationError);
      expect((badCounts as Error).message).toBe(
        `${names.post}.status(): counts must be true or false, got 1 (number)`,
      );
      // Another process opening the entity now sees it ready; backfill has nothing to do.
      const other = blog(options, shards, tagShards, names);
      expect((await other.posts.select(other.byTag.c.tag.eq('b'))).length).toBe(20);
      expect(await other.posts.backfill()).toEqual([]);
      // Bad calls fail before anything is read.
      const stranger = new Index(uniqueName('stranger'), {
        columns: { n: integer() },
        shard: shards,
        mapper: () => [],
      });
      const notOurs = await rejection(posts.backfill(stranger as never));
      expect(notOurs).toBeInstanceOf(ValidationError);
      expect((notOurs as Error).message).toBe(
        `${names.post}.backfill(): index "${stranger.name}" is not one of this entity's indices`,
      );
      const badBatch = await rejection(posts.backfill(undefined, { batchSize: 0 }));
      expect((badBatch as Error).message).toBe(
        `${names.post}.backfill(): batchSize must be a positive integer, got 0 (number)`,
      );
      const badProgress = await rejection(posts.backfill(undefined, { onProgress: 'log' as never }));
      expect((badProgress as Error).message).toBe(
        `${names.post}.backfill(): onProgress must be a function, got "log" (string)`,
      );
      expect(() => posts.select(byTag.c.tag.eq('a'), { partial: 'yes' as never })).toThrow(
        `${names.post}.select(): partial must be true or false, got "yes" (string)`,
      );
      for (const [rate, shown] of [
        [-5, '-5 (number)'],
        [0, '0 (number)'],
        [Number.POSITIVE_INFINITY, 'Infinity (number)'],
        [Number.NaN, 'NaN (number)'],
        ['5', '"5" (string)'],
      ] as const) {
        const badRate = await rejection(posts.backfill(undefined, { rowsPerSecond: rate as number }));
        expect(badRate).toBeInstanceOf(ValidationError);
        expect((badRate as Error).message).toBe(
          `${names.post}.backfill(): rowsPerSecond must be a positive number, got ${shown}`,
        );
      }
    });

    it('backfills 20,000 records beside a writer that inserts, updates and deletes: nothing missed, doubled or stale', {
      timeout: 240_000,
    }, async () => {
      const { shards, tagShards, names } = await setup();
      const count = Math.max(200, Math.round(20_000 * scale));
      const tags = ['a', 'b', 'c', 'd'];
      await seedBefore(
        shards,
        tagShards,
        names,
        Array.from({ length: count }, (_, i) => post({ rank: i, tags: [tags[i % 4]!, tags[(i + 1) % 4]!] })),
      );
      const { posts, byTag, byGroup } = blog(options, shards, tagShards, names);
      await posts.create();
      let done = false;
      let writes = 0;
      const writer = (async () => {
        let n = 0;
        while (!done) {
          n++;
          const page = await posts.select(byGroup.c.group.eq(0), {
            limit: 1,
            orderBy: byGroup.c.title.asc(),
          });
          if (n % 3 === 0) await posts.save(posts.new(post({ rank: count + n, tags: [tags[n % 4]!] })));
          else if (n % 3 === 1 && page[0]) await posts.delete(page[0].id);
          else {
            const some = await posts.select(byGroup.c.group.eq(0), { limit: 5 });
            const target = some[n % Math.max(1, some.length)];
            if (target) {
              target.value = { ...target.value, tags: [tags[(n + 2) % 4]!], group: 0 };
              await posts.save(target).catch(() => undefined);
            }
          }
          writes++;
        }
      })();
      const [report] = await posts.backfill(byTag, { batchSize: 25 });
      done = true;
      await writer;
      expect(writes).toBeGreaterThan(0);
      expect(report).toMatchObject({ index: names.byTag, ready: true });
      const live: Doc<Post>[] = [];
      for await (const record of posts.scan()) live.push(record);
      for (const tag of tags) {
        expect((await posts.select(byTag.c.tag.eq(tag))).map((r) => r.id).sort(), tag).toEqual(
          idsOf(live, (p) => p.tags.includes(tag)),
        );
      }
      expect(await posts.verify(byTag)).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
    });

    it('backfill keeps the rows a write made meanwhile leaves as they are', async () => {
      const { shards, tagShards, names } = await setup();
      const saved = await seedBefore(
        shards,
        tagShards,
        names,
        Array.from({ length: 10 }, () => post({ tags: ['a'] })),
      );
      // Between the backfill's put of a batch and its second read of the batch's records, a writer
      // changes a record's title, not its tags: its tag row stays as it is, tagged with version 1.
      let armed = false;
      const hooked = shards.map((shard) =>
        wrapShard(shard, (operation, run) => async (...args) => {
          if (operation === 'getRecords' && armed) {
            armed = false;
            const record = (await posts.get(saved[3]!.id))!;
            record.value = { ...record.value, title: 'changed' };
            await posts.save(record);
          }
          return run(...args);
        }),
      );
      const { posts, byTag } = blog(options, hooked, tagShards, names);
      await posts.create();
      armed = true;
      await posts.backfill(byTag);
      expect(armed).toBe(false);
      expect((await posts.get(saved[3]!.id))?.value.title).toBe('changed');
      expect((await posts.select(byTag.c.tag.eq('a'))).map((r) => r.id).sort()).toEqual(
        saved.map((r) => r.id).sort(),
      );
      expect(await posts.verify(byTag)).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
    });

    it('a cancelled backfill goes on where it stopped', async () => {
      const { shards, tagShards, names } = await setup();
      await seedBefore(
        shards,
        tagShards,
        names,
        Array.from({ length: 100 }, (_, i) => post({ tags: [`t${i % 5}`] })),
      );
      const { posts, byTag } = blog(options, shards, tagShards, names);
      await posts.create();
      const controller = new AbortController();
      const stopped = await rejection(
        posts.backfill(byTag, {
          batchSize: 10,
          signal: controller.signal,
          onProgress: (p) => {
            if (p.records >= 30) controller.abort();
          },
        }),
      );
      expect((stopped as Error).name).toBe('AbortError');
      const status = await posts.status();
      expect(status.indices[1]).toMatchObject({ index: names.byTag, state: 'building' });
      expect(Object.keys(status.indices[1]!.progress!.after)).not.toHaveLength(0);
      // A new process goes on from the checkpoint: it reads only what was left.
      const again = blog(options, shards, tagShards, names);
      const [report] = await again.posts.backfill(again.byTag, { batchSize: 10 });
      expect(report!.records).toBeLessThanOrEqual(70);
      expect(report!.ready).toBe(true);
      expect(await again.posts.count(again.byTag.c.tag.eq('t3'))).toBe(20);
      // The first process, which saw the index building, sees it ready now.
      expect(await posts.count(byTag.c.tag.eq('t3'))).toBe(20);
      expect(await again.posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
    });

    it('switches blue/green with a writer running: a second index backfilled beside the live one, queries moved, the old one dropped', async () => {
      const { shards, tagShards, names } = await setup();
      const tagIndex = (name: string, mapper: (p: Doc<Post>) => Iterable<{ tag: string; rank: number }>) =>
        new Index(name, {
          columns: { tag: text(), rank: integer() },
          shard: new ShardByColumn('tag', tagShards),
          mapper,
        });
      const blue = tagIndex(names.byTag, (p) => p.value.tags.map((tag) => ({ tag, rank: p.value.rank })));
      const greenName = `${names.byTag}_v2`;
      const green = tagIndex(greenName, (p) =>
        p.value.tags.map((tag) => ({ tag: tag.toUpperCase(), rank: p.value.rank })),
      );
      const entity = (indices: Index<Post, any>[]) =>
        new Entity<Post>(names.post, { shards, indices, serializer: options.serializer });
      const before = entity([blue]);
      await before.create();
      await before.saveMany(
        Array.from({ length: 300 }, (_, i) => before.new(post({ rank: i, tags: [`t${i % 3}`] }))),
      );
      // Step 1: the green index beside the blue one; every write maintains both while it fills.
      const both = entity([blue, green]);
      await both.create();
      let running = true;
      let n = 0;
      const writer = (async () => {
        while (running) {
          n++;
          const record = await both.save(both.new(post({ rank: 1000 + n, tags: [`t${n % 3}`] })));
          if (n % 2 === 0) {
            record.value = { ...record.value, tags: [`t${(n + 1) % 3}`] };
            await both.save(record);
          }
          if (n % 5 === 0) await both.delete(record.id);
        }
      })();
      expect(await both.count(blue.c.tag.eq('t1'))).toBeGreaterThanOrEqual(100); // blue answers meanwhile
      await both.backfill(green, { batchSize: 40 });
      // Step 2: queries move to the green index; both agree.
      for (let t = 0; t < 3; t++) {
        const onBlue = (await both.select(blue.c.tag.eq(`t${t}`))).map((r) => r.id).sort();
        const onGreen = (await both.select(green.c.tag.eq(`T${t}`))).map((r) => r.id).sort();
        expect(onGreen.length).toBeGreaterThanOrEqual(onBlue.length - 5); // the writer runs between the two reads
      }
      // Step 3: the entity without the blue index, then the blue index dropped.
      const after = entity([green]);
      running = false;
      await writer;
      await after.dropIndex(blue);
      for (const shard of tagShards) expect(await shard.readMeta([names.byTag])).toEqual(new Map());
      const live: Doc<Post>[] = [];
      for await (const record of after.scan()) live.push(record);
      for (let t = 0; t < 3; t++) {
        expect((await after.select(green.c.tag.eq(`T${t}`))).map((r) => r.id).sort()).toEqual(
          idsOf(live, (p) => p.tags.includes(`t${t}`)),
        );
      }
      expect(n).toBeGreaterThan(0);
      expect(await after.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
    });

    it('rebuilds an index for a new mapper version while a writer runs', { timeout: 120_000 }, async () => {
      const { shards, tagShards, names } = await setup();
      const tagIndex = (version: number, upper: boolean) =>
        new Index(names.byTag, {
          columns: { tag: text(), rank: integer() },
          shard: new ShardByColumn('tag', tagShards),
          mapper: (p: Doc<Post>) =>
            p.value.tags.map((tag) => ({ tag: upper ? tag.toUpperCase() : tag, rank: p.value.rank })),
          version,
        });
      const first = new Entity<Post>(names.post, {
        shards,
        indices: [tagIndex(1, false)],
        serializer: options.serializer,
      });
      await first.create();
      await first.saveMany(
        Array.from({ length: 400 }, (_, i) => first.new(post({ rank: i, tags: [`k${i % 4}`] }))),
      );
      const v2 = tagIndex(2, true);
      const second = new Entity<Post>(names.post, { shards, indices: [v2], serializer: options.serializer });
      let running = true;
      let n = 0;
      const writer = (async () => {
        while (running) {
          n++;
          const record = await second.save(second.new(post({ rank: 1000 + n, tags: [`k${n % 4}`] })));
          if (n % 2 === 0) {
            record.value = { ...record.value, tags: [`k${(n + 1) % 4}`, 'extra'] };
            await second.save(record);
          }
          if (n % 7 === 0) await second.delete(record.id);
        }
      })();
      try {
        // The closing repair pass leaves rows of writes in flight for its grace period.
        const [report] = await second.backfill(v2, { batchSize: 50, graceMs: 300 });
        expect(report).toMatchObject({ ready: true });
        expect(report!.removed).toBeGreaterThanOrEqual(400);
      } finally {
        running = false;
        await writer;
      }
      expect(n).toBeGreaterThan(0);
      const live: Doc<Post>[] = [];
      for await (const record of second.scan()) live.push(record);
      for (const tag of ['K0', 'K1', 'K2', 'K3', 'EXTRA']) {
        expect((await second.select(v2.c.tag.eq(tag))).map((r) => r.id).sort(), tag).toEqual(
          idsOf(live, (p) => p.tags.map((t) => t.toUpperCase()).includes(tag)),
        );
      }
      expect(await second.count(v2.c.tag.eq('k0'))).toBe(0);
      expect(await second.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
    });

    it('a new mapper version rebuilds the index: rows it no longer produces go; older code is refused', async () => {
      const { shards, tagShards, names } = await setup();
      const byTagOf = (version: number, mapper: (p: Doc<Post>) => Iterable<{ tag: string; rank: number }>) =>
        new Index(names.byTag, {
          columns: { tag: text(), rank: integer() },
          shard: new ShardByColumn('tag', tagShards),
          mapper,
          version,
        });
      const v1 = byTagOf(1, (p) => p.value.tags.map((tag) => ({ tag, rank: p.value.rank })));
      const first = new Entity<Post>(names.post, { shards, indices: [v1], serializer: options.serializer });
      await first.create();
      const saved = await first.saveMany(
        Array.from({ length: 30 }, (_, i) => first.new(post({ rank: i, tags: [i % 2 ? 'x' : 'y'] }))),
      );
      // Version 2 indexes upper-cased tags.
      const v2 = byTagOf(2, (p) =>
        p.value.tags.map((tag) => ({ tag: tag.toUpperCase(), rank: p.value.rank })),
      );
      const second = new Entity<Post>(names.post, { shards, indices: [v2], serializer: options.serializer });
      expect(await rejection(second.select(v2.c.tag.eq('X')))).toBeInstanceOf(IndexNotReadyError);
      expect((await second.status()).indices).toEqual([
        { index: names.byTag, state: 'building', version: 2, progress: { after: {}, finished: [] } },
      ]);
      // Code still at version 1 is refused from now on.
      const stale = new Entity<Post>(names.post, {
        shards,
        indices: [byTagOf(1, v1.mapper)],
        serializer: options.serializer,
      });
      // It may read records (no mapper involved), not write them.
      expect((await stale.get(saved[0]!.id))?.id).toBe(saved[0]!.id);
      const refused = await rejection(stale.save(stale.new(post())));
      expect(refused).toBeInstanceOf(ShardMapError);
      expect((refused as Error).message).toBe(
        `Index "${names.byTag}" is stored at version 2, newer than the version 1 this code gives it: run the newer code, or give the index another name`,
      );
      const [report] = await second.backfill(undefined, { graceMs: 0 });
      expect(report).toMatchObject({ index: names.byTag, records: 30, rows: 30, removed: 30, ready: true });
      expect((await second.select(v2.c.tag.eq('X'))).map((r) => r.id).sort()).toEqual(
        idsOf(saved, (p) => p.tags.includes('x')),
      );
      expect(await second.count(v2.c.tag.eq('x'))).toBe(0);
      expect(await second.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
      expect(() => byTagOf(0, v1.mapper)).toThrow(
        `Index "${names.byTag}": version must be a positive integer, got 0 (number)`,
      );
    });
  });
}
