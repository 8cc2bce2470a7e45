import { Index, integer, type Shard, ValidationError } from '@waffle/core';
import { describe, expect, it } from 'vitest';
import { blog, blogFixtures, post } from './fixtures.js';
import type { ConformanceOptions } from './options.js';
import { commitVersion } from './shard-helpers.js';
import { wrapShard } from './wrap.js';

/** verify() and repair(): an index compared with what its mapper produces, and made exact. */
export function repairSuite(options: ConformanceOptions): void {
  const { open, blogOn } = blogFixtures(options);

  describe('verify and repair', () => {
    it('count missing, orphaned and stale rows, and repair makes every index exact', async () => {
      const { posts, byTag, byGroup } = await blogOn(3);
      await posts.create();
      const saved = await posts.saveMany(
        Array.from({ length: 30 }, (_, i) =>
          posts.new(post({ group: i % 4, tags: i % 3 ? ['a', 'b'] : [] })),
        ),
      );
      const clean = { missing: 0, orphaned: 0, stale: 0 };
      expect(await posts.verify()).toMatchObject(clean);
      const shardOf = (id: string, tag: string) =>
        byTag.strategy.shards[byTag.strategy.shardOf({ id, row: { tag, rank: 0 } })]!;
      // Missing: two rows deleted behind waffle's back (a tag far ahead deletes whatever is stored).
      const [one, two] = saved.filter((r) => r.value.tags.length > 0);
      await shardOf(one!.id, 'a').deleteIndexRows(byTag.table, [
        { id: one!.id, values: ['a', 0], version: 1e9 },
      ]);
      await shardOf(two!.id, 'b').deleteIndexRows(byTag.table, [
        { id: two!.id, values: ['b', 0], version: 1e9 },
      ]);
      // Orphaned: a row of a record that does not exist. Stale: rows the record does not produce.
      await shardOf('ghost', 'a').putIndexRows(byTag.table, [{ id: 'ghost', values: ['a', 0], version: 1 }]);
      await shardOf(one!.id, 'zzz').putIndexRows(byTag.table, [
        { id: one!.id, values: ['zzz', 0], version: 1 },
      ]);
      await shardOf(one!.id, 'yyy').putIndexRows(byTag.table, [
        { id: one!.id, values: ['yyy', 5], version: 7 },
      ]);
      const found = await posts.verify(byTag, { batchSize: 7 });
      expect(found).toMatchObject({ missing: 2, orphaned: 1, stale: 2 });
      expect(found.indices).toEqual([
        {
          index: byTag.name,
          records: 30,
          rows: 40 - 2 + 3,
          missing: 2,
          orphaned: 1,
          stale: 2,
          cursor: expect.any(String),
          samples: { missing: [one!.id, two!.id].sort(), orphaned: ['ghost'], stale: [one!.id] },
        },
      ]);
      expect(await posts.verify(byGroup)).toMatchObject(clean);
      // The ghost's row and the row tagged 7 (above its record's version) could be a sync write's in
      // flight: without a grace period they go at once.
      expect(await posts.repair(undefined, { batchSize: 4, graceMs: 0 })).toMatchObject({
        missing: 2,
        orphaned: 1,
        stale: 2,
      });
      expect(await posts.verify()).toMatchObject(clean);
      expect((await posts.select(byTag.c.tag.eq('a'))).map((r) => r.id).sort()).toEqual(
        saved
          .filter((r) => r.value.tags.includes('a'))
          .map((r) => r.id)
          .sort(),
      );
      const error = await posts.verify(posts.indices[0], { batchSize: 0 }).catch((e) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect(error.message).toContain('batchSize must be a positive integer');
      const grace = await posts.repair(undefined, { graceMs: -1 }).catch((e) => e);
      expect(grace).toBeInstanceOf(ValidationError);
      expect(grace.message).toBe(
        `${posts.name}.repair(): graceMs must be a non-negative integer, got -1 (number)`,
      );
    });

    it('repair in a loop beside writers moving rows between index shards: every acknowledged save is found', {
      timeout: 120_000,
    }, async () => {
      const { posts, byTag } = await blogOn(2);
      await posts.create();
      const records = await posts.saveMany(
        Array.from({ length: 6 }, (_, i) => posts.new(post({ tags: [`m${i}`] }))),
      );
      let writing = true;
      let repairs = 0;
      const repairer = (async () => {
        while (writing) {
          await posts.repair(byTag, { graceMs: 1000, batchSize: 4 });
          repairs++;
        }
      })();
      const until = Date.now() + 2500;
      let saves = 0;
      try {
        while (Date.now() < until) {
          await Promise.all(
            records.map(async (record, i) => {
              // A tag of another value each time: its row lands on one tag shard or the other.
              const tag = `m${i}-${saves}`;
              record.value = { ...record.value, tags: [tag] };
              await posts.save(record);
              expect(
                (await posts.select(byTag.c.tag.eq(tag))).map((r) => r.id),
                tag,
              ).toEqual([record.id]);
            }),
          );
          saves++;
        }
      } finally {
        writing = false;
        await repairer;
      }
      expect(saves).toBeGreaterThan(1);
      expect(repairs).toBeGreaterThan(0);
      await posts.drain();
      expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
    });

    it('verify, repair and drain report progress, and stop on a signal', async () => {
      const { posts, byTag } = await blogOn(2);
      await posts.create();
      await posts.saveMany(Array.from({ length: 45 }, (_, i) => posts.new(post({ tags: [`t${i % 3}`] }))));
      const seen: number[] = [];
      await posts.verify(byTag, { batchSize: 10, onProgress: (p) => seen.push(p.records) });
      expect(seen.length).toBeGreaterThanOrEqual(5);
      expect(seen).toEqual([...seen].sort((a, b) => a - b));
      expect(seen[seen.length - 1]).toBe(45);
      const controller = new AbortController();
      controller.abort();
      const stopped = await posts.repair(byTag, { batchSize: 10, signal: controller.signal }).catch((e) => e);
      expect((stopped as Error).name).toBe('AbortError');
      const drained: { notes: number; finished: number }[] = [];
      await posts.drain({ batchSize: 10, onProgress: (p) => drained.push(p) });
      expect(drained.length).toBeGreaterThanOrEqual(2); // a batch per record shard at least
      expect(drained[drained.length - 1]).toEqual({ notes: 0, finished: 0 });
      // A pass stopped half-way goes on after its cursor: the two passes compare every record once.
      const halted = new AbortController();
      let cursor: string | undefined;
      let before = 0;
      const stoppedVerify = await posts
        .verify(byTag, {
          batchSize: 10,
          signal: halted.signal,
          onProgress: (p) => {
            if (cursor === undefined && p.cursor !== undefined) {
              cursor = p.cursor;
              before = p.records;
              halted.abort();
            }
          },
        })
        .catch((e) => e);
      expect((stoppedVerify as Error).name).toBe('AbortError');
      expect(cursor).toBeDefined();
      const rest = await posts.repair(byTag, { after: cursor, graceMs: 0, rowsPerSecond: 1e6 });
      expect(before + rest.indices[0]!.records).toBe(45);
      expect(rest).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
      for (const [option, message] of [
        [{ rowsPerSecond: 0 }, 'rowsPerSecond must be a positive number, got 0 (number)'],
        [{ after: 5 }, 'after must be a record id (a string), got 5 (number)'],
      ] as const) {
        const error = await posts.repair(byTag, option as never).catch((e) => e);
        expect(error).toBeInstanceOf(ValidationError);
        expect(error.message).toBe(`${posts.name}.repair(): ${message}`);
      }
      const bad = await posts.verify(byTag, { onProgress: 'log' as never }).catch((e) => e);
      expect(bad).toBeInstanceOf(ValidationError);
      expect(bad.message).toBe(`${posts.name}.verify(): onProgress must be a function, got "log" (string)`);
      // An index of another entity, or of none.
      const stranger = new Index<unknown>('stranger', {
        columns: { n: integer() },
        shard: byTag.strategy.shards as Shard[],
        mapper: () => [],
      });
      for (const what of ['verify', 'repair'] as const) {
        const error = await posts[what](stranger as never).catch((e) => e);
        expect(error).toBeInstanceOf(ValidationError);
        expect(error.message).toBe(
          `${posts.name}.${what}(): index "stranger" is not one of this entity's indices`,
        );
      }
    });

    it('one repair pass makes an index with 10% of its rows corrupted exact; a second pass changes nothing', async () => {
      const { posts, byTag } = await blogOn(2);
      await posts.create();
      const count = Math.max(60, Math.round(300 * (options.scale ?? 1)));
      const saved = await posts.saveMany(
        Array.from({ length: count }, (_, i) =>
          posts.new(post({ rank: i, tags: [`t${i % 6}`, `u${i % 5}`] })),
        ),
      );
      const shardOf = (id: string, tag: string) =>
        byTag.strategy.shards[byTag.strategy.shardOf({ id, row: { tag, rank: 0 } })]!;
      const damaged = saved.filter((_, i) => i % 10 === 0);
      for (const [k, record] of damaged.entries()) {
        const [tag] = record.value.tags;
        const rank = record.value.rank;
        if (k % 3 === 0) {
          // Missing: its row deleted (a tag far ahead deletes whatever is stored).
          await shardOf(record.id, tag!).deleteIndexRows(byTag.table, [
            { id: record.id, values: [tag!, rank], version: 1e9 },
          ]);
        } else if (k % 3 === 1) {
          // Extra: a row of a record that does not exist.
          await shardOf(`ghost${k}`, 'x').putIndexRows(byTag.table, [
            { id: `ghost${k}`, values: ['x', k], version: 1 },
          ]);
        } else {
          // Wrong values: a row the record does not produce.
          await shardOf(record.id, 'wrong').putIndexRows(byTag.table, [
            { id: record.id, values: ['wrong', rank], version: 1 },
          ]);
        }
      }
      const found = await posts.verify(byTag);
      expect(found.missing + found.orphaned + found.stale).toBe(damaged.length);
      const first = await posts.repair(byTag, { graceMs: 0, batchSize: 37 });
      expect(first).toMatchObject({ missing: found.missing, orphaned: found.orphaned, stale: found.stale });
      expect(await posts.verify(byTag)).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
      expect(await posts.repair(byTag, { graceMs: 0 })).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
      expect(await posts.count(byTag.c.tag.eq('t0'))).toBe(
        saved.filter((r) => r.value.tags.includes('t0')).length,
      );
      expect(await posts.count(byTag.c.tag.eq('wrong'))).toBe(0);
    });

    it('repair leaves the row of a sync write in flight (put before its record commits), and removes it once it proves dead', async () => {
      const shards = await open(2);
      const tagShards = await open(2);
      // The repair's first reads of records and of index rows are signalled, to commit the writer right after.
      let scanned!: () => void;
      const seen = new Promise<void>((resolve) => {
        scanned = resolve;
      });
      const reads = new Set<string>();
      const signal = (operation: string) => {
        reads.add(operation);
        if (reads.has('scanRecords') && reads.has('queryIndex')) scanned();
      };
      const watched = (list: Shard[]) =>
        list.map((shard) =>
          wrapShard(shard, (operation, run) => async (...args) => {
            const out = await run(...args);
            if (operation === 'scanRecords' || operation === 'queryIndex') signal(operation);
            return out;
          }),
        );
      const { posts, byTag } = blog(options, watched(shards), watched(tagShards));
      await posts.create();
      const record = await posts.save(posts.new(post({ tags: ['a'] })));
      reads.clear();
      const tagShard = (id: string, tag: string) =>
        byTag.strategy.shards[byTag.strategy.shardOf({ id, row: { tag, rank: 0 } })]!;
      // A writer moving the record to tag "b" has put its new row, tagged 2, and has not committed yet.
      await tagShard(record.id, 'b').putIndexRows(byTag.table, [
        { id: record.id, values: ['b', 0], version: 2 },
      ]);
      const repairing = posts.repair(byTag, { graceMs: 1000 });
      await seen;
      // The repair has read the record at version 1 and the row tagged 2 (and, its pass of one record
      // over, waits out the grace period): now the writer commits, a little later.
      await new Promise((resolve) => setTimeout(resolve, 150));
      const next = { ...record.value, tags: ['b'] };
      expect(await commitVersion(posts, options.serializer, record, next, 2)).toEqual([true]);
      await repairing;
      // The row the writer put before its commit survived the repair: the record is found by its new tag.
      expect((await posts.select(byTag.c.tag.eq('b'))).map((r) => r.id)).toEqual([record.id]);
      // (The writer's note would remove the old row; here repair does, as stale.)
      await posts.repair(byTag, { graceMs: 0 });
      expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
      // A writer that never commits (it crashed): its row goes once the grace period is over.
      await tagShard('crashed', 'd').putIndexRows(byTag.table, [
        { id: 'crashed', values: ['d', 0], version: 1 },
      ]);
      expect(await posts.repair(byTag, { graceMs: 50 })).toMatchObject({ orphaned: 1 });
      expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
    });
  });
}
