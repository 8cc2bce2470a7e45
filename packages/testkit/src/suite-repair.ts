import { ValidationError } from '@waffle/core';
import { describe, expect, it } from 'vitest';
import { blogFixtures, post } from './fixtures.js';
import type { ConformanceOptions } from './options.js';

/** verify() and repair(): an index compared with what its mapper produces, and made exact. */
export function repairSuite(options: ConformanceOptions): void {
  const { blogOn } = blogFixtures(options);

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
        { index: byTag.name, records: 30, rows: 40 - 2 + 3, missing: 2, orphaned: 1, stale: 2 },
      ]);
      expect(await posts.verify(byGroup)).toMatchObject(clean);
      expect(await posts.repair(undefined, { batchSize: 4 })).toMatchObject({
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
    });
  });
}
