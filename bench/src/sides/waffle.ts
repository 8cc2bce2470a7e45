/** The waffle side: the operations through the public API of Entity. */
import type { Doc, Shard } from '@waffle/core';
import type { BenchConfig } from '../config.js';
import { type Picks, type Preload, preloadChunks } from '../workload/data.js';
import { type BenchPost, benchPost, TIME_BASE } from '../workload/document.js';
import type { TableNames } from '../workload/names.js';
import { type Side, sanityCheck } from '../workload/operations.js';
import { benchEntities, plainEntity } from './entities.js';

/** Creates waffle's tables on `records` and `others`, stores `preload`, and returns the side. */
export async function waffleSide(
  config: BenchConfig,
  preload: Preload,
  pick: Picks,
  names: TableNames,
  records: Shard,
  others: readonly Shard[],
): Promise<Side> {
  const { posts, byTime, posts2, byOther } = benchEntities(names, records, others);
  const plain = plainEntity(names.plain, records);
  await plain.create();
  await posts.create();
  await posts2.create();
  const loaded: Doc<BenchPost>[] = [];
  for (const part of preloadChunks(preload, config.batch)) {
    loaded.push(...(await posts.saveMany(part.map(({ id, value }) => posts.new(value, { id })))));
    await posts2.saveMany(part.map(({ id, value }) => posts2.new(value, { id })));
  }
  let next = preload.ids.length; // the number of the next new document
  return {
    name: 'waffle',
    ops: {
      async W0() {
        await plain.save(plain.new(benchPost(next++)));
      },
      async W1() {
        await posts.save(posts.new(benchPost(next++)));
      },
      async W2() {
        await posts.saveMany(Array.from({ length: config.batch }, () => posts.new(benchPost(next++))));
      },
      async W3() {
        const doc = loaded[pick.index()]!;
        doc.value = { ...doc.value, time: TIME_BASE + next++, edits: doc.value.edits + 1 };
        await posts.save(doc);
      },
      async R1() {
        sanityCheck((await posts.get(pick.id())) !== undefined, 'get');
      },
      async R2() {
        const found = await posts.getMany(pick.ids(config.many));
        sanityCheck(
          found.every((d) => d !== undefined),
          'getMany',
        );
      },
      async Q1() {
        const found = await posts.select(byTime.c.time.gte(pick.rangeStart()), { limit: config.range });
        sanityCheck(found.length === config.range, 'range');
      },
      async Q2() {
        const found = await posts2.select(byOther.c.time.gte(pick.rangeStart()), { limit: config.range });
        sanityCheck(found.length === config.range, 'range, other shards');
      },
    },
    // The shards belong to the dialect's run, which closes them.
    close: async () => {},
  };
}
