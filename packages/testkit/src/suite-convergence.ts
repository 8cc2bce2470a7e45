import {
  ConflictError,
  NotFoundError,
  ShardMapError,
  ShardUnavailableError,
  ValidationError,
} from '@waffle/core';
import { describe, expect, it } from 'vitest';
import { expectRowsOf, storedRowsOf } from './convergence.js';
import { Faults } from './faults.js';
import { blog, type Post, post, shardPool } from './fixtures.js';
import { type ConformanceOptions, uniqueName } from './options.js';
import { entityTable } from './shard-helpers.js';

const INDEX_OPS = ['putIndexRows', 'deleteIndexRows', 'queryIndex'];

/**
 * Durable notes and `drain()`, `async` mode with index databases down, index
 * rows that commit with their record, tombstones, and history.
 */
export function convergenceSuite(options: ConformanceOptions): void {
  const open = shardPool(options);

  /** A blog entity whose tag index lives on two shards that `faults` can take down. */
  const setup = async (extra: Parameters<typeof blog>[4] = {}) => {
    const faults = new Faults();
    const shards = await open(1);
    const tagShards = (await open(2)).map((s) => faults.wrap(s));
    const errors: unknown[] = [];
    const fixture = blog(options, shards, tagShards, undefined, {
      readRepair: false,
      onIndexError: (error) => errors.push(error),
      ...extra,
    });
    await fixture.posts.create();
    return { ...fixture, faults, shards, errors };
  };

  type Blog = ReturnType<typeof blog>;
  const tagsOf = async (posts: Blog['posts'], byTag: Blog['byTag'], tag: string) =>
    (await posts.select(byTag.c.tag.eq(tag))).map((r) => r.id).sort();

  describe('notes and drain', () => {
    it('drain finishes the note of a write whose old rows could not be removed', async () => {
      const { posts, byTag, byGroup, faults, shards, errors } = await setup();
      const record = await posts.save(posts.new(post({ tags: ['a', 'b'] })));
      record.value = post({ tags: ['b', 'c'] });
      faults.arm({ failAt: 1, persistent: true, only: ['deleteIndexRows'] });
      await posts.save(record); // committed: the failure after the commit is reported, not thrown
      faults.disarm();
      expect(record.version).toBe(2);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(ShardUnavailableError);
      expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 1 });
      const [noted] = await shards[0]!.scanRecords(entityTable(posts), { limit: 10, notes: true });
      expect(noted).toMatchObject({ id: record.id, version: 2 });
      expect(JSON.parse(noted!.note!)).toEqual({ r: { [byTag.name]: [['a', 0]] } });
      // Queries never return the record for its old tag, even before the drain.
      expect(await tagsOf(posts, byTag, 'a')).toEqual([]);
      expect(await posts.drain({ batchSize: 1 })).toEqual({ notes: 1, finished: 1 });
      expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
      await expectRowsOf(posts, byTag, record.id, true);
      await expectRowsOf(posts, byGroup, record.id, true);
      expect(await shards[0]!.scanRecords(entityTable(posts), { limit: 10, notes: true })).toEqual([]);
      expect(await posts.drain()).toEqual({ notes: 0, finished: 0 });
    });

    it('a later write takes over an unfinished note', async () => {
      const { posts, byTag, faults, shards } = await setup();
      const record = await posts.save(posts.new(post({ tags: ['a'] })));
      record.value = post({ tags: ['b'] });
      faults.arm({ failAt: 1, persistent: true, only: ['deleteIndexRows'] });
      await posts.save(record);
      faults.disarm();
      record.value = post({ tags: ['c'] });
      await posts.save(record);
      // The second write removed the first one's old row too: nothing left to drain.
      expect(await shards[0]!.scanRecords(entityTable(posts), { limit: 10, notes: true })).toEqual([]);
      await expectRowsOf(posts, byTag, record.id, true);
      expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
    });

    it('drain throws the failure when an index database is still down, and keeps the note', async () => {
      const { posts, faults, shards } = await setup();
      const record = await posts.save(posts.new(post({ tags: ['a'] })));
      record.value = post({ tags: ['b'] });
      faults.arm({ failAt: 1, persistent: true, only: ['deleteIndexRows'] });
      await posts.save(record);
      const error = await posts.drain().catch((e) => e);
      expect(error).toBeInstanceOf(ShardUnavailableError);
      expect(error.message).toContain('Injected fault');
      faults.disarm();
      expect(await shards[0]!.scanRecords(entityTable(posts), { limit: 10, notes: true })).toHaveLength(1);
      expect(await posts.drain()).toEqual({ notes: 1, finished: 1 });
      const bad = await posts.drain({ batchSize: 0 }).catch((e) => e);
      expect(bad).toBeInstanceOf(ValidationError);
      expect(bad.message).toContain('drain(): batchSize must be a positive integer, got 0');
    });

    it('read-repair deletes the rows of a deleted record, never those of an id not written yet', async () => {
      const { posts, byTag, faults } = await setup({ readRepair: true });
      const record = await posts.save(posts.new(post({ tags: ['a'] })));
      faults.arm({ failAt: 1, persistent: true, only: ['deleteIndexRows'] });
      expect(await posts.delete(record.id)).toBe(true); // the rows stay: the note keeps them
      faults.disarm();
      const shardOf = (id: string) =>
        byTag.strategy.shards[byTag.strategy.shardOf({ id, row: { tag: 'a' } })]!;
      await shardOf('ghost').putIndexRows(byTag.table, [{ id: 'ghost', values: ['a', 0], version: 1 }]);
      expect((await storedRowsOf(byTag, record.id)).map((r) => r.version)).toEqual([1]);
      expect(await tagsOf(posts, byTag, 'a')).toEqual([]);
      expect(await storedRowsOf(byTag, record.id)).toEqual([]); // repaired on read
      expect(await storedRowsOf(byTag, 'ghost')).toHaveLength(1); // maybe a write in flight
      expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 1, stale: 0 });
      expect(await posts.drain()).toEqual({ notes: 1, finished: 1 });
    });

    it('drain goes on past a failing shard, then throws; the failed notes stay for the next drain', async () => {
      const faults = new Faults();
      const shards = await open(2);
      const tagShards = (await open(2)).map((s) => faults.wrap(s));
      const { posts } = blog(options, shards, tagShards, undefined, { readRepair: false });
      await posts.create();
      // Fixed ids, so that both record shards hold some (random ids all fell on one shard once in 128 runs).
      const records = await posts.saveMany(
        Array.from({ length: 8 }, (_, i) => posts.new(post({ tags: [`t${i}`] }), { id: `drain-${i}` })),
      );
      faults.arm({ failAt: 1, persistent: true, only: ['deleteIndexRows'] });
      for (const record of records) {
        record.value = post({ tags: ['moved'] });
        await posts.save(record);
      }
      const onShard = await Promise.all(
        shards.map((s) => s.scanRecords(entityTable(posts), { limit: 100, notes: true })),
      );
      expect(onShard.every((notes) => notes.length > 0)).toBe(true); // notes on both record shards
      faults.arm({ failAt: 1, only: ['deleteIndexRows'] }); // the first shard's batch fails, once
      const error = await posts.drain().catch((e) => e);
      expect(error).toBeInstanceOf(ShardUnavailableError);
      const left = await Promise.all(
        shards.map((s) => s.scanRecords(entityTable(posts), { limit: 100, notes: true })),
      );
      expect(left.map((notes) => notes.length)).toEqual([onShard[0]!.length, 0]);
      expect(await posts.drain()).toEqual({ notes: onShard[0]!.length, finished: onShard[0]!.length });
      expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
    });

    it("index rows on the record's own shard commit with it: a fault anywhere leaves no orphan", async () => {
      const faults = new Faults();
      const shards = (await open(1)).map((s) => faults.wrap(s));
      const { posts, byTag, byGroup } = blog(options, shards, shards);
      await posts.create();
      const record = await posts.save(posts.new(post({ group: 1, tags: ['a'] })));
      let completed = false;
      for (let n = 1; !completed && n < 30; n++) {
        const next = post({ group: n + 1, tags: [`t${n}`] });
        record.value = next;
        faults.arm({ failAt: n });
        const error = await posts.save(record).catch((e) => e);
        faults.disarm();
        completed = faults.failures === 0;
        if (!completed) expect(error).toBeInstanceOf(ShardUnavailableError);
        // No repair: every row of the record is exactly what its stored version produces.
        await expectRowsOf(posts, byTag, record.id, true);
        await expectRowsOf(posts, byGroup, record.id, true);
        if (!completed) record.version = (await posts.get(record.id))!.version;
      }
      expect(completed).toBe(true);
      expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
    });
  });

  describe('concurrent writers', () => {
    it('leave every index exact once drained, without repair, in mixed modes', async () => {
      const shards = await open(1);
      const tagShards = await open(2);
      const { posts } = blog(options, shards, tagShards, undefined, { history: true });
      await posts.create();
      const saved = await posts.saveMany(
        Array.from({ length: 4 }, (_, i) => posts.new(post({ group: i % 3, tags: ['a', 'b'] }))),
      );
      const ids = saved.map((r) => r.id);
      // Many tags, so that a row a loser left behind is rarely written again by chance.
      const tags = Array.from({ length: 30 }, (_, i) => `t${i}`);
      const rounds = Math.max(10, Math.round(40 * (options.scale ?? 1)));
      let seed = 7;
      const random = () => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed / 2 ** 31;
      };
      const worker = async () => {
        for (let i = 0; i < rounds; i++) {
          const id = ids[Math.floor(random() * ids.length)]!;
          const mode = random() < 0.5 ? 'async' : 'sync';
          const value = post({ group: Math.floor(random() * 3), tags: tags.filter(() => random() < 0.1) });
          if (random() < 0.1) {
            await posts.delete(id, { mode });
            await posts.save(posts.new(value, { id }), { mode }).catch((e) => {
              if (!ConflictError.is(e)) throw e; // another worker re-created it first
            });
          } else {
            await posts
              .update(id, () => value, { mode, retries: 1000 })
              .catch((e) => {
                if (!NotFoundError.is(e)) throw e; // deleted meanwhile
              });
          }
        }
      };
      await Promise.all(Array.from({ length: 6 }, worker));
      await posts.drain();
      // Losers of a compare-and-set remove the rows they put: no repair needed.
      expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
      for (const id of ids) {
        const versions = (await posts.history(id)).map((v) => v.version);
        expect(versions).toEqual(Array.from({ length: versions.length }, (_, i) => i + 1));
      }
    });
  });

  describe('async mode', () => {
    it('writes go on while the index databases are down; drain makes every query exact', async () => {
      const { posts, byTag, byGroup, faults, errors } = await setup({ mode: 'async' });
      faults.arm({ failAt: 1, persistent: true });
      const saved = await posts.saveMany(
        Array.from({ length: 6 }, (_, i) => posts.new(post({ group: i % 2, tags: [`t${i % 3}`, 'all'] }))),
      );
      saved[0]!.value = post({ group: 5, tags: ['moved'] });
      await posts.save(saved[0]!);
      await posts.update(saved[1]!.id, (p: Post) => ({ ...p, tags: ['moved', 't9'] }));
      expect(await posts.delete(saved[2]!.id)).toBe(true);
      // The index on the records' own shard commits with them: exact at once.
      expect((await posts.select(byGroup.c.group.eq(5))).map((r) => r.id)).toEqual([saved[0]!.id]);
      // A sync write needs the index database: it fails and changes nothing.
      const before = await posts.get(saved[3]!.id);
      saved[3]!.value = post({ tags: ['sync'] });
      const error = await posts.save(saved[3]!, { mode: 'sync' }).catch((e) => e);
      expect(error).toBeInstanceOf(ShardUnavailableError);
      expect(await posts.get(saved[3]!.id)).toEqual(before);
      await Promise.resolve();
      faults.disarm(); // the index databases are back
      const report = await posts.drain();
      expect(report.notes).toBeGreaterThanOrEqual(5);
      expect(report.finished).toBe(report.notes);
      expect(errors.length).toBeGreaterThan(0);
      expect(errors.every((e) => ShardUnavailableError.is(e))).toBe(true);
      expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
      const stored = (await posts.getMany(saved.map((r) => r.id))).filter((r) => r !== undefined);
      for (const tag of ['all', 'moved', 't0', 't1', 't2', 't9']) {
        const expected = stored
          .filter((r) => r.value.tags.includes(tag))
          .map((r) => r.id)
          .sort();
        expect(await tagsOf(posts, byTag, tag), tag).toEqual(expected);
      }
      expect(await posts.drain()).toEqual({ notes: 0, finished: 0 });
    });

    it('applies its notes right after the commit when the index databases are up', async () => {
      const { posts, byTag, shards } = await setup({ mode: 'async' });
      const record = await posts.save(posts.new(post({ tags: ['a'] })));
      record.value = post({ tags: ['b'] });
      await posts.save(record);
      expect(await posts.drain()).toEqual({ notes: 0, finished: 0 });
      expect(await shards[0]!.scanRecords(entityTable(posts), { limit: 10, notes: true })).toEqual([]);
      expect(await tagsOf(posts, byTag, 'b')).toEqual([record.id]);
      await expectRowsOf(posts, byTag, record.id, true);
    });

    it('a sync entity can write one record asynchronously while its index database is down', async () => {
      const { posts, byTag, faults } = await setup();
      faults.arm({ failAt: 1, persistent: true, only: INDEX_OPS });
      const record = posts.new(post({ tags: ['x'] }));
      const error = await posts.save(record).catch((e) => e);
      expect(error).toBeInstanceOf(ShardUnavailableError);
      expect(await posts.get(record.id)).toBeUndefined();
      await posts.save(record, { mode: 'async' });
      expect(record.version).toBe(1);
      faults.disarm();
      expect(await posts.drain()).toEqual({ notes: 1, finished: 1 });
      expect(await tagsOf(posts, byTag, 'x')).toEqual([record.id]);
    });

    it('refuses an unknown mode', async () => {
      const { posts, shards } = await setup();
      const record = posts.new(post());
      const error = await posts.save(record, { mode: 'later' as never }).catch((e) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect(error.message).toBe(
        `${posts.name}.save(): mode must be "sync" or "async", got "later" (string)`,
      );
      expect(() => blog(options, shards, shards, undefined, { mode: 'eventually' as never })).toThrow(
        /mode must be "sync" or "async", got "eventually"/,
      );
      expect(() => blog(options, shards, shards, undefined, { onIndexError: 'log' as never })).toThrow(
        /onIndexError must be a function, got "log"/,
      );
      expect(await posts.get(record.id)).toBeUndefined();
    });
  });

  describe('deletes and history', () => {
    it('a delete leaves a tombstone: the id comes back with later versions, and conflicts say so', async () => {
      const { posts, byTag } = await setup();
      const record = await posts.save(posts.new(post({ tags: ['a'] })));
      const stale = { ...record };
      record.value = post({ tags: ['b'] });
      await posts.save(record);
      expect(await posts.delete(record.id)).toBe(true);
      expect(await posts.get(record.id)).toBeUndefined();
      expect(await posts.getMany([record.id])).toEqual([undefined]);
      expect(await tagsOf(posts, byTag, 'b')).toEqual([]);
      expect(await posts.delete(record.id)).toBe(false);
      const gone = await posts.delete(record.id, { expectedVersion: 2 }).catch((e) => e);
      expect(gone).toBeInstanceOf(ConflictError);
      expect(gone).toMatchObject({ id: record.id, expectedVersion: 2, currentVersion: 3, deleted: true });
      expect(gone.message).toBe(
        `Conflict on record "${record.id}": write based on version 2, but the record was deleted (version 3)`,
      );
      const late = await posts.save(record).catch((e) => e);
      expect(late).toMatchObject({ code: 'CONFLICT', currentVersion: 3, deleted: true });
      const missing = await posts.update(record.id, (p: Post) => p).catch((e) => e);
      expect(missing).toBeInstanceOf(NotFoundError);
      expect(stale.version).toBe(1);
      const again = await posts.save(posts.new(post({ tags: ['c'] }), { id: record.id }));
      expect(again.version).toBe(4);
      expect(await tagsOf(posts, byTag, 'c')).toEqual([record.id]);
      const twice = await posts.save(posts.new(post(), { id: record.id })).catch((e) => e);
      expect(twice).toMatchObject({
        code: 'CONFLICT',
        expectedVersion: 0,
        currentVersion: 4,
        deleted: false,
      });
      const all: string[] = [];
      for await (const doc of posts.scan()) all.push(doc.id);
      expect(all).toEqual([record.id]);
      expect(await posts.delete(record.id)).toBe(true);
      const none: string[] = [];
      for await (const doc of posts.scan()) none.push(doc.id);
      expect(none).toEqual([]);
      expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
    });

    it('history keeps every version, the deletion included', async () => {
      const { posts } = await setup({ history: true });
      const record = await posts.save(posts.new(post({ title: 'one' })));
      record.value = post({ title: 'two' });
      await posts.save(record);
      await posts.delete(record.id);
      const again = await posts.save(posts.new(post({ title: 'four' }), { id: record.id }));
      const versions = await posts.history(record.id);
      expect(versions.map((v) => [v.version, v.deleted, v.value?.title])).toEqual([
        [1, false, 'one'],
        [2, false, 'two'],
        [3, true, undefined],
        [4, false, 'four'],
      ]);
      expect(versions[1]!.createdAt).toEqual(versions[0]!.createdAt);
      expect((await posts.get(record.id, { version: 2 }))?.value.title).toBe('two');
      expect((await posts.get(record.id, { version: 4 }))?.value).toEqual(again.value);
      expect(await posts.get(record.id, { version: 3 })).toBeUndefined();
      expect(await posts.get(record.id, { version: 99 })).toBeUndefined();
      expect(await posts.history('never-written')).toEqual([]);
      expect((await posts.strategy.shards[0]!.readMeta([`${posts.name}__history`])).size).toBe(1);
      const bad = await posts.get(record.id, { version: 0 }).catch((e) => e);
      expect(bad).toBeInstanceOf(ValidationError);
      expect(bad.message).toContain(`${posts.name}.get(): version must be a positive integer, got 0`);
    });

    it('a failed commit writes neither the version nor its history', async () => {
      const faults = new Faults();
      const shards = (await open(1)).map((s) => faults.wrap(s));
      const { posts } = blog(options, shards, shards, undefined, { history: true });
      await posts.create();
      const record = await posts.save(posts.new(post({ title: 'one' })));
      record.value = post({ title: 'two' });
      faults.arm({ failAt: 1, only: ['commit'] });
      const error = await posts.save(record).catch((e) => e);
      faults.disarm();
      expect(error).toBeInstanceOf(ShardUnavailableError);
      expect((await posts.get(record.id))?.value.title).toBe('one');
      expect((await posts.history(record.id)).map((v) => v.version)).toEqual([1]);
      record.version = 1;
      await posts.save(record);
      expect((await posts.history(record.id)).map((v) => v.value?.title)).toEqual(['one', 'two']);
    });

    it('history needs history: true, and create() for its table', async () => {
      const { posts } = await setup();
      const error = await posts.history('x').catch((e) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect(error.message).toBe(
        `${posts.name}.history(): this entity keeps no history (create it with history: true)`,
      );
      const byVersion = await posts.get('x', { version: 1 }).catch((e) => e);
      expect(byVersion.message).toBe(
        `${posts.name}.get(id, { version }): this entity keeps no history (create it with history: true)`,
      );
      const shards = await open(1);
      const names = {
        post: uniqueName('post'),
        byGroup: uniqueName('by_group'),
        byTag: uniqueName('by_tag'),
      };
      await blog(options, shards, shards, names).posts.create();
      const later = blog(options, shards, shards, names, { history: true }).posts;
      const notCreated = await later.history('x').catch((e) => e);
      expect(notCreated).toBeInstanceOf(ShardMapError);
      expect(notCreated.message).toContain(`has no table "${names.post}__history" yet: run create() first`);
      await later.create();
      expect(await later.history('x')).toEqual([]);
    });
  });
}
