import { ShardUnavailableError, type WriteMode } from '@waffle/core';
import { describe, expect, it } from 'vitest';
import { rejection } from './contract-fixtures.js';
import { expectRowsOf } from './convergence.js';
import { Faults } from './faults.js';
import { blog, type Post, post, shardPool } from './fixtures.js';
import type { ConformanceOptions } from './options.js';

type Step = 'insert' | 'update' | 'delete';

/**
 * A failure at every call of a write, once or from then on, in both modes.
 * Whatever the write left behind, a read sees the whole old or the whole new
 * record and no query returns a record that does not match; in `sync` mode
 * every index query returns the stored record if it matches. After `drain()`
 * the record's index rows are exactly what its stored version produces when
 * the write committed (a write that never committed may leave orphans), and
 * `repair` then leaves every index exact.
 */
export function faultSuite(options: ConformanceOptions): void {
  const open = shardPool(options);

  describe('faults at every step of a write', () => {
    for (const mode of ['sync', 'async'] as WriteMode[]) {
      for (const step of ['insert', 'update', 'delete'] as Step[]) {
        for (const persistent of [false, true]) {
          it(`${mode} ${step}, with a ${persistent ? 'persistent' : 'single'} fault`, async () => {
            const faults = new Faults();
            const shards = (await open(2)).map((s) => faults.wrap(s));
            const tagShards = (await open(2)).map((s) => faults.wrap(s));
            const { posts, byTag, byGroup } = blog(options, shards, tagShards, undefined, {
              mode,
              readRepair: false,
            });
            await posts.create();
            const before = post({ tags: ['a', 'shared'], group: 1, title: 'before' });
            const after = post({ tags: ['b', 'shared', 'c'], group: 2, title: 'after' });
            const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
            // The update moves tag rows between shards: 'a' goes from one, 'c' comes to the other.
            const tagShard = (tag: string) => byTag.strategy.shardOf({ id: '', row: { tag, rank: 0 } });
            expect(tagShard('a')).not.toBe(tagShard('c'));

            /** The invariants, for a record that was `old` and was being written as `next`. */
            const check = async (id: string, old: Post | undefined, next: Post | undefined) => {
              const stored = (await posts.get(id))?.value;
              expect([old, next].some((v) => same(v, stored))).toBe(true);
              for (const tag of new Set([...(old?.tags ?? []), ...(next?.tags ?? [])])) {
                const found = (await posts.select(byTag.c.tag.eq(tag))).some((r) => r.id === id);
                const matches = stored?.tags.includes(tag) ?? false;
                if (mode === 'sync') expect(found, `tag ${tag}`).toBe(matches);
                else if (found) expect(matches, `tag ${tag}`).toBe(true);
              }
              for (const group of [old?.group, next?.group]) {
                if (group === undefined) continue;
                const found = (await posts.select(byGroup.c.group.eq(group))).some((r) => r.id === id);
                // Rows beside the record commit with it: exact in both modes.
                expect(found, `group ${group}`).toBe(stored?.group === group);
              }
              return same(stored, next);
            };

            let completed = false;
            for (let n = 1; !completed && n < 50; n++) {
              const record = posts.new(before);
              if (step !== 'insert') await posts.save(record);
              faults.arm({ failAt: n, persistent });
              let error: unknown;
              try {
                if (step === 'insert') await posts.save(record);
                if (step === 'update') {
                  record.value = after;
                  await posts.save(record);
                }
                if (step === 'delete') await posts.delete(record.id);
              } catch (e) {
                error = e;
              }
              faults.disarm();
              completed = faults.failures === 0;
              // A fault after the commit is reported to onIndexError, not thrown.
              if (error !== undefined) expect(error).toBeInstanceOf(ShardUnavailableError);
              const old = step === 'insert' ? undefined : before;
              const next = step === 'delete' ? undefined : step === 'insert' ? before : after;
              const committed = await check(record.id, old, next);
              if (error === undefined) expect(committed).toBe(true);
              await posts.drain();
              await expectRowsOf(posts, byTag, record.id, committed);
              await expectRowsOf(posts, byGroup, record.id, true);
            }
            expect(completed).toBe(true);
            await posts.repair(undefined, { graceMs: 0 }); // no writer runs now: nothing is in flight
            expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
          });
        }
      }
    }

    // Mutants: the delete that reads again after a conflict also reads again (and commits again)
    // after any other failure of its commit, forever while the shard stays down.
    it('a delete whose commit fails with anything but a conflict throws that error, after one commit', async () => {
      const faults = new Faults();
      const shards = (await open(2)).map((s) => faults.wrap(s));
      const tagShards = await open(2);
      const { posts } = blog(options, shards, tagShards);
      await posts.create();
      const record = posts.new(post({ tags: ['a'], group: 1, title: 'kept' }));
      await posts.save(record);
      faults.arm({ failAt: 1, persistent: true, only: ['commit'] });
      const error = await rejection(posts.delete(record.id), 'the delete');
      faults.disarm();
      expect(ShardUnavailableError.is(error), String(error)).toBe(true);
      expect(error.message).toMatch(/^Injected fault at call 1 \(commit on /);
      expect(faults.failures).toBe(1);
      expect((await posts.get(record.id))?.value.title).toBe('kept');
    });
  });
}
