import {
  ConflictError,
  type Doc,
  Entity,
  Index,
  NotFoundError,
  OutcomeUnknownError,
  type Serializer,
  ShardMapError,
  timestamp,
  ValidationError,
} from '@waffle/core';
import { describe, expect, it } from 'vitest';
import { blog, blogFixtures, type Post, post } from './fixtures.js';
import { type ConformanceOptions, uniqueName } from './options.js';
import { wrapShard } from './wrap.js';

/** Records: create, save, get, getMany, delete, update, scan, conflicts and shard identity. */
export function recordSuite(options: ConformanceOptions): void {
  const { open, blogOn } = blogFixtures(options);

  describe('records', () => {
    it('round-trips records over three shards, versions growing by one', async () => {
      const { posts } = await blogOn(3);
      await posts.create();
      await posts.create(); // idempotent
      const saved = [];
      for (let i = 0; i < 30; i++) {
        const p = posts.new(post({ title: `post ${i}`, tags: ['a', 'b'], score: i / 2 }));
        expect(p.version).toBe(0);
        const result = await posts.save(p);
        expect(result).toBe(p);
        expect(p.version).toBe(1);
        saved.push(p);
      }
      for (const p of saved) {
        const got = await posts.get(p.id);
        expect(got?.value).toEqual(p.value);
        expect(got?.version).toBe(1);
        expect(got?.createdAt.getTime()).toBe(p.createdAt.getTime());
      }
      const first = saved[0]!;
      const createdAt = first.createdAt.getTime();
      first.value.title = 'changed';
      await posts.save(first);
      expect(first.version).toBe(2);
      first.value.rank = 7;
      await posts.save(first);
      expect(first.version).toBe(3);
      const reread = await posts.get(first.id);
      expect(reread?.value).toEqual({ ...first.value });
      expect(reread?.version).toBe(3);
      expect(reread?.createdAt.getTime()).toBe(createdAt);
      expect(reread!.updatedAt.getTime()).toBeGreaterThanOrEqual(createdAt);
    });

    it('saves a record read by get or written by save without reading its stored row again', async () => {
      const calls: string[] = [];
      const shards = (await open(2)).map((shard) =>
        wrapShard(shard, (operation, run) => (...args) => {
          calls.push(operation);
          return run(...args);
        }),
      );
      const { posts, byTag } = blog(options, shards);
      await posts.create();
      const saved = await posts.save(posts.new(post({ title: 'one', tags: ['a'] })));
      calls.length = 0;
      saved.value = post({ title: 'two', tags: ['b'] });
      await posts.save(saved);
      expect(calls.filter((c) => c === 'getRecords')).toEqual([]);
      const read = (await posts.get(saved.id))!;
      calls.length = 0;
      read.value = post({ title: 'three', tags: ['c'] });
      await posts.save(read);
      expect(calls.filter((c) => c === 'getRecords')).toEqual([]);
      expect(read.version).toBe(3);
      // The tag index moved with each save: only the current tag finds the record.
      expect((await posts.select(byTag.c.tag.eq('c'))).map((p) => p.id)).toEqual([read.id]);
      expect(await posts.select(byTag.c.tag.in(['a', 'b']))).toEqual([]);
      // A remembered row that another writer has since replaced: the compare-and-set refuses, as without it.
      const other = (await posts.get(saved.id))!;
      other.value = post({ title: 'four' });
      await posts.save(other);
      read.value = post({ title: 'stale' });
      const error = await posts.save(read).catch((e) => e);
      expect(error).toBeInstanceOf(ConflictError);
      expect((await posts.get(saved.id))?.value.title).toBe('four');
    });

    it('a save whose commit reply is lost (OutcomeUnknownError) finds its own commit when saved again unchanged', async () => {
      // The commit is made, then its reply "lost": the adapter's OutcomeUnknownError, as a connection cut after COMMIT gives.
      let lose = 0;
      const shards = (await open(1)).map((shard) =>
        wrapShard(shard, (operation, run) => async (...args) => {
          const result = await run(...args);
          if (operation === 'commit' && lose > 0) {
            lose--;
            throw new OutcomeUnknownError(shard.name, 'reply dropped by the test');
          }
          return result;
        }),
      );
      const { posts, byTag } = blog(options, shards);
      await posts.create();
      const tagged = async (tag: string) => (await posts.select(byTag.c.tag.eq(tag))).map((p) => p.id);

      // A new record: saved again unchanged, its insert meets the stored row its own commit wrote.
      const fresh = posts.new(post({ title: 'one', tags: ['a'] }));
      lose = 1;
      const first = await posts.save(fresh).catch((e) => e);
      expect(first).toBeInstanceOf(OutcomeUnknownError);
      expect(fresh.version).toBe(0);
      await posts.save(fresh);
      expect(fresh.version).toBe(1);
      const stored = (await posts.get(fresh.id))!;
      expect(stored.version).toBe(1);
      expect(stored.updatedAt.getTime()).toBe(fresh.updatedAt.getTime());

      // An update: saved again unchanged, its compare-and-set finds the version its own commit wrote, once.
      fresh.value = post({ title: 'two', tags: ['b'] });
      lose = 1;
      expect(await posts.save(fresh).catch((e) => e)).toBeInstanceOf(OutcomeUnknownError);
      expect(fresh.version).toBe(1);
      await posts.save(fresh);
      expect(fresh.version).toBe(2);
      expect((await posts.get(fresh.id))?.version).toBe(2);
      expect(await tagged('b')).toEqual([fresh.id]);
      expect(await tagged('a')).toEqual([]);

      // Changed before it is saved again, it is another write: the stored version moved on, a conflict.
      const other = (await posts.get(fresh.id))!;
      other.value = post({ title: 'three', tags: ['c'] });
      lose = 1;
      expect(await posts.save(other).catch((e) => e)).toBeInstanceOf(OutcomeUnknownError);
      expect((await posts.get(fresh.id))?.version).toBe(3); // it was committed
      other.value = post({ title: 'changed meanwhile', tags: ['d'] });
      const changed = await posts.save(other).catch((e) => e);
      expect(changed).toBeInstanceOf(ConflictError);
      expect((await posts.get(fresh.id))?.value.title).toBe('three');
      // A copy of a record whose save had an unknown outcome is not recognised: a conflict too.
      const copy = (await posts.get(fresh.id))!;
      copy.value = post({ title: 'four', tags: ['e'] });
      lose = 1;
      expect(await posts.save(copy).catch((e) => e)).toBeInstanceOf(OutcomeUnknownError);
      expect(await posts.save({ ...copy }).catch((e) => e)).toBeInstanceOf(ConflictError);
      expect(await tagged('e')).toEqual([copy.id]);
      expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
    });

    it('a sync write that loses its compare-and-set takes back only the rows the winner does not have', async () => {
      // Tags on another shard: a sync write puts them before its commit, and takes back what it put when it loses.
      const [records, tags] = await open(2);
      const { posts, byTag } = blog(options, [records!], [tags!]);
      await posts.create();
      const saved = await posts.save(posts.new(post({ title: 'base', tags: ['old'] })));
      const mine = (await posts.get(saved.id))!;
      const theirs = (await posts.get(saved.id))!;
      theirs.value = post({ title: 'theirs', tags: ['shared', 'their-own'] });
      await posts.save(theirs);
      mine.value = post({ title: 'mine', tags: ['shared', 'mine-only'] });
      expect(await posts.save(mine).catch((e) => e)).toBeInstanceOf(ConflictError);
      // Before any query (whose read-repair would tidy up): the winner's rows, all of them, and nothing of mine.
      expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
      const tagged = async (tag: string) => (await posts.select(byTag.c.tag.eq(tag))).map((p) => p.id);
      expect(await tagged('shared')).toEqual([saved.id]);
      expect(await tagged('their-own')).toEqual([saved.id]);
      expect(await tagged('mine-only')).toEqual([]);
    });

    it('a record saved again after its indexed Date changed in place moves its index row', async () => {
      // The mapper hands over the record's own Date, which the caller then changes in place: the rows
      // remembered from the first save must not change with it (saved again, the old row goes).
      type Event = { at: Date };
      const keepsDates: Serializer = {
        codec: 'dates',
        format: 'text',
        encode: (value) =>
          JSON.stringify(value, function (this: Record<string, unknown>, key, v) {
            const raw = this[key];
            return raw instanceof Date ? { $date: raw.getTime() } : v;
          }),
        decode: (body) =>
          JSON.parse(String(body), (_key, v) =>
            v !== null && typeof v === 'object' && typeof v.$date === 'number' ? new Date(v.$date) : v,
          ),
      };
      const shards = await open(1);
      const byAt = new Index(uniqueName('by_at'), {
        columns: { at: timestamp() },
        shard: shards,
        mapper: (event: Doc<Event>) => [{ at: event.value.at }],
      });
      const events = new Entity<Event>(uniqueName('event'), {
        shards,
        indices: [byAt],
        serializer: keepsDates,
      });
      await events.create();
      const event = await events.save(events.new({ at: new Date(1_000) }));
      event.value.at.setTime(5_000);
      await events.save(event);
      expect(await events.select(byAt.c.at.eq(new Date(1_000)))).toEqual([]);
      expect((await events.select(byAt.c.at.eq(new Date(5_000)))).map((e) => e.id)).toEqual([event.id]);
      expect(await events.verify()).toMatchObject({ missing: 0, stale: 0 });
    });

    it('getMany keeps the order asked, duplicates included, undefined for missing ids', async () => {
      const { posts } = await blogOn(3);
      await posts.create();
      const a = await posts.save(posts.new(post({ title: 'a' }), { id: 'a' }));
      const b = await posts.save(posts.new(post({ title: 'b' }), { id: 'b' }));
      const c = await posts.save(posts.new(post({ title: 'c' }), { id: 'c' }));
      const got = await posts.getMany(['c', 'missing', 'a', 'b', 'a']);
      expect(got.map((r) => r?.value.title)).toEqual(['c', undefined, 'a', 'b', 'a']);
      expect(got[0]?.id).toBe(c.id);
      expect(await posts.getMany([])).toEqual([]);
      expect([a.version, b.version]).toEqual([1, 1]);
    });

    it('deletes records and their index rows', async () => {
      const { posts, byTag, byGroup } = await blogOn(2);
      await posts.create();
      const p = await posts.save(posts.new(post({ tags: ['gone'], group: 4 })));
      expect(await posts.select(byTag.c.tag.eq('gone'))).toHaveLength(1);
      expect(await posts.delete(p.id)).toBe(true);
      expect(await posts.get(p.id)).toBeUndefined();
      expect(await posts.delete(p.id)).toBe(false);
      expect(await posts.select(byTag.c.tag.eq('gone'))).toHaveLength(0);
      expect(await posts.select(byGroup.c.group.eq(4))).toHaveLength(0);
      const tagShard =
        byTag.strategy.shards[byTag.strategy.shardOf({ id: p.id, row: { tag: 'gone', rank: 0 } })]!;
      const rows = await tagShard.queryIndex(byTag.table, {
        where: byTag.c.tag.eq('gone'),
        orderBy: [{ column: '__id', direction: 'asc' }],
        limit: 10,
      });
      expect(rows).toEqual([]);
    });

    it('refuses a stale write with ConflictError carrying the current version', async () => {
      const { posts } = await blogOn(2);
      await posts.create();
      const p = await posts.save(posts.new(post({ title: 'v1' })));
      const copy = (await posts.get(p.id))!;
      p.value.title = 'v2';
      await posts.save(p);
      copy.value.title = 'lost update';
      const error = await posts.save(copy).catch((e) => e);
      expect(error).toBeInstanceOf(ConflictError);
      expect(ConflictError.is(error)).toBe(true);
      expect(error).toMatchObject({ id: p.id, expectedVersion: 1, currentVersion: 2 });
      expect(error.message).toContain('stored version is 2');
      expect(copy.version).toBe(1);
      expect((await posts.get(p.id))?.value.title).toBe('v2');
    });

    it('refuses an update of a record that was never stored with ConflictError', async () => {
      const { posts } = await blogOn(1);
      await posts.create();
      const never = { ...posts.new(post({ title: 'never saved' })), version: 1 };
      const error = await posts.save(never).catch((e) => e);
      expect(error).toBeInstanceOf(ConflictError);
      expect(error).toMatchObject({
        id: never.id,
        expectedVersion: 1,
        currentVersion: undefined,
        deleted: false,
      });
      expect(await posts.get(never.id)).toBeUndefined();
    });

    it('refuses to insert an id that exists', async () => {
      const { posts } = await blogOn(2);
      await posts.create();
      await posts.save(posts.new(post({ title: 'first' }), { id: 'same' }));
      const error = await posts.save(posts.new(post({ title: 'second' }), { id: 'same' })).catch((e) => e);
      expect(error).toBeInstanceOf(ConflictError);
      expect(error).toMatchObject({ id: 'same', expectedVersion: 0, currentVersion: 1 });
      expect(error.message).toBe(
        'Conflict on record "same": it was created by another writer (this save expected no stored record; the stored version is 1)',
      );
      expect((await posts.get('same'))?.value.title).toBe('first');
    });

    it('refuses an update of a deleted record', async () => {
      const { posts } = await blogOn(1);
      await posts.create();
      const p = await posts.save(posts.new(post()));
      await posts.delete(p.id);
      const error = await posts.save(p).catch((e) => e);
      expect(error).toBeInstanceOf(ConflictError);
      expect(error).toMatchObject({ expectedVersion: 1, currentVersion: 2, deleted: true });
      expect(error.message).toContain('the record was deleted (version 2)');
    });

    it('delete with an expected version', async () => {
      const { posts } = await blogOn(1);
      await posts.create();
      const p = await posts.save(posts.new(post()));
      await posts.save(p);
      const error = await posts.delete(p.id, { expectedVersion: 1 }).catch((e) => e);
      expect(error).toBeInstanceOf(ConflictError);
      expect(error).toMatchObject({ expectedVersion: 1, currentVersion: 2 });
      expect(await posts.delete(p.id, { expectedVersion: 2 })).toBe(true);
    });

    it('update() applies a function and retries on conflicts', async () => {
      const { posts } = await blogOn(2);
      await posts.create();
      const p = await posts.save(posts.new(post({ rank: 0 })));
      await Promise.all(
        Array.from({ length: 10 }, () =>
          posts.update(p.id, (v) => ({ ...v, rank: v.rank + 1 }), { retries: 50 }),
        ),
      );
      const final = await posts.get(p.id);
      expect(final?.value.rank).toBe(10);
      expect(final?.version).toBe(11);
      const missing = await posts.update('nope', (v) => v).catch((e) => e);
      expect(missing).toBeInstanceOf(NotFoundError);
      expect(missing.message).toContain('"nope" does not exist');
      let calls = 0;
      const exhausted = await posts
        .update(
          p.id,
          async (v) => {
            calls++;
            const other = (await posts.get(p.id))!;
            await posts.save(other); // another writer gets in first, every time
            return v;
          },
          { retries: 2 },
        )
        .catch((e) => e);
      expect(exhausted).toBeInstanceOf(ConflictError);
      // Versions 11 → 14: each attempt lost to the write made inside it; the last error is thrown.
      expect(exhausted).toMatchObject({ id: p.id, expectedVersion: 13, currentVersion: 14, deleted: false });
      expect(exhausted.message).toBe(
        `Conflict on record "${p.id}": write based on version 13, but the stored version is 14`,
      );
      expect(calls).toBe(3);
    });

    it('loses no update: 8 workers each add 1 a hundred times to one record', async () => {
      const [shard] = await open(1);
      const counters = new Entity<{ n: number }>(uniqueName('counter'), {
        shards: [shard!],
        serializer: options.serializer,
      });
      await counters.create();
      const counter = await counters.save(counters.new({ n: 0 }));
      const versions: number[] = [];
      const worker = async () => {
        for (let i = 0; i < 100; i++) {
          const saved = await counters.update(counter.id, (v) => ({ n: v.n + 1 }), { retries: 100_000 });
          versions.push(saved.version);
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      const final = await counters.get(counter.id);
      expect(final?.value.n).toBe(800);
      expect(final?.version).toBe(801);
      expect(new Set(versions).size).toBe(800); // no two successful writes share a version
      expect([...versions].sort((a, b) => a - b)).toEqual(Array.from({ length: 800 }, (_, i) => i + 2));
    });

    it('saveMany writes all records, and none when one is invalid', async () => {
      const { posts, byGroup } = await blogOn(3);
      await posts.create();
      const many = Array.from({ length: 50 }, (_, i) => posts.new(post({ group: i % 5, title: `m${i}` })));
      await posts.saveMany(many);
      expect(many.every((r) => r.version === 1)).toBe(true);
      expect(await posts.count(byGroup.c.group.eq(3))).toBe(10);
      const bad = [posts.new(post({ group: 9 })), posts.new({ ...post(), group: 'x' as unknown as number })];
      const error = await posts.saveMany(bad).catch((e) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect(error.message).toContain('column "group"');
      expect(await posts.get(bad[0]!.id)).toBeUndefined();
      const twice = await posts.saveMany([many[0]!, many[0]!]).catch((e) => e);
      expect(twice).toBeInstanceOf(ValidationError);
      expect(twice.message).toContain('appears twice');
    });

    it('saveMany saves the others when one record conflicts, then throws its ConflictError', async () => {
      const { posts, byGroup } = await blogOn(3);
      await posts.create();
      const first = await posts.saveMany(
        Array.from({ length: 12 }, (_, i) => posts.new(post({ group: 1, rank: i }))),
      );
      const stale = (await posts.get(first[3]!.id))!;
      await posts.save(first[3]!); // another writer moves it to version 2
      const batch = [...first.filter((r) => r.id !== stale.id), stale, posts.new(post({ group: 1 }))];
      for (const r of batch) r.value.group = 2;
      const error = await posts.saveMany(batch).catch((e) => e);
      expect(error).toBeInstanceOf(ConflictError);
      expect(error).toMatchObject({ id: stale.id, expectedVersion: 1, currentVersion: 2 });
      expect(stale.version).toBe(1);
      expect(batch.map((r) => r.version)).toEqual([...Array(11).fill(2), 1, 1]); // 11 updated, stale untouched, 1 new
      expect(await posts.count(byGroup.c.group.eq(2))).toBe(12);
      expect((await posts.get(stale.id))?.value.group).toBe(1);
    });

    it('saveMany inserts many new records at once; ids taken are conflicts, deleted ids go on after their tombstone', async () => {
      const { posts, byTag } = await blogOn(2);
      await posts.create();
      const taken = await posts.save(posts.new(post({ title: 'taken' }), { id: 'taken' }));
      const gone = await posts.save(posts.new(post({ title: 'gone' }), { id: 'gone' }));
      await posts.delete(gone.id); // tombstone at version 2
      const fresh = Array.from({ length: 300 }, (_, i) => posts.new(post({ title: `n${i}`, tags: ['new'] })));
      const again = posts.new(post({ title: 'again', tags: ['new'] }), { id: 'gone' });
      const clash = posts.new(post({ title: 'clash', tags: ['new'] }), { id: 'taken' });
      const error = await posts
        .saveMany([...fresh.slice(0, 150), clash, again, ...fresh.slice(150)])
        .catch((e) => e);
      expect(error).toBeInstanceOf(ConflictError);
      expect(error).toMatchObject({ id: 'taken', expectedVersion: 0, currentVersion: 1, deleted: false });
      expect(fresh.every((r) => r.version === 1)).toBe(true);
      expect(again.version).toBe(3);
      expect(clash.version).toBe(0);
      expect((await posts.get('taken'))?.value).toEqual(taken.value);
      expect((await posts.get('gone'))?.value.title).toBe('again');
      const found = await posts.getMany(fresh.map((r) => r.id));
      expect(found.map((r) => r?.value.title)).toEqual(fresh.map((r) => r.value.title));
      expect(await posts.count(byTag.c.tag.eq('new'))).toBe(301);
      expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
    });

    it('records of saveMany save again with their index rows moved; one changed meanwhile conflicts', async () => {
      const { posts, byTag } = await blogOn(2);
      await posts.create();
      const saved = Array.from({ length: 20 }, (_, i) => posts.new(post({ title: `m${i}`, tags: ['old'] })));
      await posts.saveMany(saved);
      const changed = await posts.get(saved[1]!.id);
      changed!.value.title = 'changed meanwhile';
      await posts.save(changed!);
      saved[0]!.value.tags = ['moved'];
      await posts.save(saved[0]!);
      expect(saved[0]!.version).toBe(2);
      saved[1]!.value.tags = ['lost'];
      const error = await posts.save(saved[1]!).catch((e) => e);
      expect(error).toBeInstanceOf(ConflictError);
      expect(error).toMatchObject({ id: saved[1]!.id, expectedVersion: 1, currentVersion: 2 });
      expect(await posts.count(byTag.c.tag.eq('moved'))).toBe(1);
      expect(await posts.count(byTag.c.tag.eq('old'))).toBe(19);
      expect(await posts.count(byTag.c.tag.eq('lost'))).toBe(0);
      expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
    });

    it('a bad mapper row is refused before anything is written', async () => {
      const { posts } = await blogOn(2);
      await posts.create();
      const p = posts.new({ ...post(), score: 'high' as unknown as number });
      const error = await posts.save(p).catch((e) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect(error.message).toMatch(/column "score".*finite number/);
      expect(await posts.get(p.id)).toBeUndefined();
      expect(p.version).toBe(0);
      const stored = await posts.save(posts.new(post({ title: 'ok' })));
      stored.value.title = undefined as unknown as string;
      const missing = await posts.save(stored).catch((e) => e);
      expect(missing).toBeInstanceOf(ValidationError);
      expect(missing.message).toContain('missing column "title"');
      expect((await posts.get(stored.id))?.value.title).toBe('ok');
    });

    it('scan() returns every record once', async () => {
      const { posts } = await blogOn(3);
      await posts.create();
      const ids = new Set<string>();
      for (let i = 0; i < 45; i++) ids.add((await posts.save(posts.new(post({ rank: i })))).id);
      const seen: string[] = [];
      for await (const r of posts.scan({ batchSize: 7 })) seen.push(r.id);
      expect(seen).toHaveLength(45);
      expect(new Set(seen)).toEqual(ids);
    });

    it('refuses shards given in another order or number, and tables not created', async () => {
      const shards = await open(3);
      const name = uniqueName('layout');
      const make = (s: typeof shards) =>
        new Entity<Post>(name, { shards: s, serializer: options.serializer });
      const uncreated = await make(shards)
        .get('x')
        .catch((e) => e);
      expect(uncreated).toBeInstanceOf(ShardMapError);
      expect(uncreated.message).toContain('run create() first');
      const entity = make(shards);
      await entity.create();
      await entity.save(entity.new(post(), { id: 'x' }));
      // Each operation checks, on first use, the shards it touches: reads of ids on the swapped shards are refused.
      const ids = Array.from({ length: 30 }, (_, i) => `id${i}`);
      const swapped = await make([shards[1]!, shards[0]!, shards[2]!])
        .getMany(ids)
        .catch((e) => e);
      expect(swapped).toBeInstanceOf(ShardMapError);
      expect(swapped.message).toContain('same order and number');
      const everywhere = await make([shards[1]!, shards[0]!, shards[2]!])
        .status()
        .catch((e) => e);
      expect(everywhere).toBeInstanceOf(ShardMapError);
      const fewer = make([shards[0]!, shards[1]!]);
      expect(await fewer.create().catch((e) => e)).toBeInstanceOf(ShardMapError);
      expect(await fewer.get('x').catch((e) => e)).toBeInstanceOf(ShardMapError);
      expect((await make(shards).get('x'))?.id).toBe('x');
    });

    it('round-trips bodies exactly: unicode, empty and 1 MiB', async () => {
      const [shard] = await open(1);
      const entity = new Entity<unknown>(uniqueName('bodies'), {
        shards: [shard!],
        serializer: options.serializer,
      });
      await entity.create();
      const mib = 'é𝒳 waffle '.repeat(1 << 17).slice(0, 1 << 20);
      const values: unknown[] = [
        '',
        {},
        [],
        { text: 'é 𝒳 日本 \u0000 \u007f \uffff "quoted" \\ back' },
        { big: mib },
        mib,
        { nested: { list: [1, -0.5, 1e300, true, null, 'x'] } },
      ];
      const saved = [];
      for (const value of values) saved.push(await entity.save(entity.new(value)));
      const got = await entity.getMany(saved.map((r) => r.id));
      expect(got.map((record) => record?.value)).toEqual(values);
      expect(String(got[5]!.value).length).toBe(1 << 20);
    });

    it('20 concurrent saves of different records all land', async () => {
      const { posts, byGroup } = await blogOn(3);
      await posts.create();
      const many = Array.from({ length: 20 }, (_, i) => posts.new(post({ title: `c${i}`, group: 77 })));
      await Promise.all(many.map((r) => posts.save(r)));
      expect(many.every((r) => r.version === 1)).toBe(true);
      const stored = await posts.getMany(many.map((r) => r.id));
      expect(stored.map((r) => r?.value.title)).toEqual(many.map((r) => r.value.title));
      expect(await posts.count(byGroup.c.group.eq(77))).toBe(20);
      await Promise.all(many.map((r) => posts.update(r.id, (v) => ({ ...v, rank: 1 }))));
      expect((await posts.getMany(many.map((r) => r.id))).every((r) => r?.version === 2)).toBe(true);
    });

    it('stores ids of every allowed form', async () => {
      const { posts } = await blogOn(2);
      await posts.create();
      const ids = [
        'a',
        'A',
        'a b',
        "o'neil",
        'x"y',
        '%_',
        'é',
        '𝒳',
        'ann@example.com',
        'z'.repeat(255),
        '日本'.repeat(42),
      ];
      for (const id of ids) await posts.save(posts.new(post({ title: id }), { id }));
      const got = await posts.getMany(ids);
      expect(got.map((r) => r?.value.title)).toEqual(ids);
    });
  });
}
