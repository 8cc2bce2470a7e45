import { ShardUnavailableError } from '@waffle/core';
import { describe, expect, it } from 'vitest';
import { Faults } from './faults.js';
import { blog, type Post, post, shardPool } from './fixtures.js';
import type { ConformanceOptions } from './options.js';

type Step = 'insert' | 'update' | 'delete';

/**
 * A failure at every call of a write, once or from then on: whatever the
 * write left behind, a read sees the whole old or the whole new record, every
 * index query returns the stored record if it matches and never otherwise,
 * and `repair` then leaves every index exact.
 */
export function faultSuite(options: ConformanceOptions): void {
  const open = shardPool(options);

  describe('faults at every step of a write', () => {
    for (const step of ['insert', 'update', 'delete'] as Step[]) {
      for (const persistent of [false, true]) {
        it(`${step}, with a ${persistent ? 'persistent' : 'single'} fault`, async () => {
          const faults = new Faults();
          const shards = (await open(2)).map((s) => faults.wrap(s));
          const tagShards = (await open(2)).map((s) => faults.wrap(s));
          const { posts, byTag, byGroup } = blog(options, shards, tagShards);
          await posts.create();
          const before = post({ tags: ['a', 'shared'], group: 1, title: 'before' });
          const after = post({ tags: ['b', 'shared', 'c'], group: 2, title: 'after' });

          /** The invariants, for a record that was `old` and was being written as `next`. */
          const check = async (id: string, old: Post | undefined, next: Post | undefined) => {
            const stored = (await posts.get(id))?.value;
            expect([old, next].some((v) => JSON.stringify(v) === JSON.stringify(stored))).toBe(true);
            for (const tag of new Set([...(old?.tags ?? []), ...(next?.tags ?? [])])) {
              const found = (await posts.select(byTag.c.tag.eq(tag))).some((r) => r.id === id);
              expect(found, `tag ${tag}`).toBe(stored?.tags.includes(tag) ?? false);
            }
            for (const group of [old?.group, next?.group]) {
              if (group === undefined) continue;
              const found = (await posts.select(byGroup.c.group.eq(group))).some((r) => r.id === id);
              expect(found, `group ${group}`).toBe(stored?.group === group);
            }
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
            if (!completed) expect(error).toBeInstanceOf(ShardUnavailableError);
            const old = step === 'insert' ? undefined : before;
            const next = step === 'delete' ? undefined : step === 'insert' ? before : after;
            await check(record.id, old, next);
          }
          expect(completed).toBe(true);
          await posts.repair();
          expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
        });
      }
    }
  });
}
