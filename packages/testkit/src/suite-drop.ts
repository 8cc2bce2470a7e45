import { Entity, QueryError, ShardMapError, ValidationError } from '@waffle/core';
import { describe, expect, it } from 'vitest';
import { blog, blogFixtures, post } from './fixtures.js';
import type { ConformanceOptions } from './options.js';

/** The error `promise` rejects with (fails when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${String(value)}`);
    },
    (error: unknown) => error,
  );
}

/** Dropping an index an entity no longer has, and dropping the entity. */
export function dropSuite(options: ConformanceOptions): void {
  const { open, blogOn } = blogFixtures(options);

  describe('dropping', () => {
    it('dropIndex removes an index the entity no longer has, on every shard of the index; idempotent', async () => {
      const { posts, byGroup, byTag, names, shards, tagShards } = await blogOn(2);
      await posts.create();
      const saved = await posts.saveMany(
        Array.from({ length: 6 }, (_, i) => posts.new(post({ group: i % 2, tags: ['a', `t${i}`] }))),
      );
      // An index still on the entity is refused: every write maintains it.
      const still = await rejection(posts.dropIndex(byTag));
      expect(still).toBeInstanceOf(ValidationError);
      expect((still as Error).message).toBe(
        `${names.post}.dropIndex(): index "${names.byTag}" is one of this entity's indices, which every write maintains: remove it from the entity's indices first, then drop it`,
      );
      const notIndex = await rejection(posts.dropIndex('by_tag' as never));
      expect(notIndex).toBeInstanceOf(ValidationError);
      expect((notIndex as Error).message).toBe(
        `${names.post}.dropIndex(): expected an Index, got "by_tag" (string)`,
      );

      // The entity without the tag index, as the application defines it after the change.
      const slim = new Entity(names.post, { shards, indices: [byGroup], serializer: options.serializer });
      await slim.dropIndex(byTag);
      for (const shard of tagShards) {
        expect(await shard.readMeta([names.byTag])).toEqual(new Map());
        const gone = await rejection(shard.countIndex(byTag.table, undefined));
        expect(QueryError.is(gone), String(gone)).toBe(true);
      }
      await slim.dropIndex(byTag); // idempotent
      // The entity goes on with its other index.
      const first = (await slim.get(saved[0]!.id))!;
      first.value = post({ group: 5, tags: ['b'] });
      await slim.save(first);
      expect((await slim.select(byGroup.c.group.eq(5))).map((r) => r.id)).toEqual([first.id]);
      expect(await slim.count(byGroup.c.group.eq(1))).toBe(3);
      expect(await slim.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
    });

    it('drop removes the records, the history and every index on every shard; create makes it anew, empty', async () => {
      const shards = await open(2);
      const tagShards = await open(2);
      const { posts, byGroup, byTag, names } = blog(options, shards, tagShards, undefined, { history: true });
      await posts.create();
      const record = await posts.save(posts.new(post({ group: 1, tags: ['a'] })));
      record.value = post({ group: 2, tags: ['b'] });
      await posts.save(record);

      // Shards given in another order: refused before anything is dropped.
      const swapped = new Entity(names.post, {
        shards: [...shards].reverse(),
        indices: [],
        serializer: options.serializer,
      });
      expect(await rejection(swapped.drop())).toBeInstanceOf(ShardMapError);
      expect((await posts.get(record.id))?.version).toBe(2);

      await posts.drop();
      const tables = [names.post, `${names.post}__history`, names.byGroup];
      for (const shard of shards) expect(await shard.readMeta(tables)).toEqual(new Map());
      for (const shard of tagShards) expect(await shard.readMeta([names.byTag])).toEqual(new Map());
      const unused = await rejection(posts.get(record.id));
      expect(unused).toBeInstanceOf(ShardMapError);
      expect((unused as Error).message).toMatch(/has no table ".*" yet: run create\(\) first/);
      await posts.drop(); // idempotent

      await posts.create();
      expect(await posts.get(record.id)).toBeUndefined();
      expect(await posts.history(record.id)).toEqual([]);
      expect(await posts.count(byGroup.c.group.gte(0))).toBe(0);
      expect(await posts.count(byTag.c.tag.in(['a', 'b']))).toBe(0);
    });
  });
}
