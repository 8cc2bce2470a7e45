/**
 * Pongo (a MongoDB-like API on PostgreSQL JSONB): W0 insertOne into a
 * collection without an index, W1 insertOne, W2
 * insertMany, W3 updateOne (with the expected version, a compare-and-set),
 * R1 findOne by _id, R2 find with _id $in, Q1 find with a range filter on
 * `time` over an expression index on that field. Pongo 0.16's find has no
 * sort or limit, so Q1 asks for a range that holds exactly 100 documents
 * (times are unique and consecutive in the preloaded data) and gets them
 * unsorted. Its range filters compare `data #>> '{time}'` as text; all times
 * have ten digits (TIME_BASE), so text order is number order.
 */
import { rawSql } from '@event-driven-io/dumbo';
import { pongoClient } from '@event-driven-io/pongo';
import type { BenchConfig } from '../config.js';
import { type Picks, type Preload, preloadChunks } from '../workload/data.js';
import { type BenchPost, benchPost, TIME_BASE } from '../workload/document.js';
import { uuidv7 } from '../workload/ids.js';
import { type Side, sanityCheck } from '../workload/operations.js';

type PongoPost = BenchPost & { _id: string };

/** The Pongo side on collection (table) `name` of the database at `url`, with `preload` stored. */
export async function pongoSide(
  url: string,
  name: string,
  config: BenchConfig,
  preload: Preload,
  pick: Picks,
): Promise<Side> {
  const client = pongoClient(url);
  try {
    const posts = client.db().collection<PongoPost>(name);
    await posts.createCollection();
    // W0's collection: no index but its key.
    const plain = client.db().collection<PongoPost>(`${name}_plain`);
    await plain.createCollection();
    await posts.sql.command(rawSql(`CREATE INDEX "${name}_time" ON "${name}" ((data #>> '{time}'))`));
    const versions: bigint[] = [];
    for (const part of preloadChunks(preload, config.batch)) {
      const result = await posts.insertMany(part.map(({ id, value }) => ({ ...value, _id: id })));
      sanityCheck(result.insertedCount === part.length, 'insertMany');
      for (const _ of part) versions.push(1n);
    }
    let next = preload.ids.length;
    const insertOne = async (into: typeof posts) => {
      sanityCheck((await into.insertOne({ ...benchPost(next++), _id: uuidv7() })).successful, 'insertOne');
    };
    return {
      name: 'Pongo',
      ops: {
        W0: () => insertOne(plain),
        W1: () => insertOne(posts),
        async W2() {
          const docs = Array.from({ length: config.batch }, () => ({ ...benchPost(next++), _id: uuidv7() }));
          sanityCheck((await posts.insertMany(docs)).insertedCount === config.batch, 'insertMany');
        },
        async W3() {
          const i = pick.index();
          const time = TIME_BASE + next++;
          const result = await posts.updateOne(
            { _id: preload.ids[i]! },
            { $set: { time }, $inc: { edits: 1 } },
            { expectedVersion: versions[i]! },
          );
          sanityCheck(result.successful && result.modifiedCount === 1, 'updateOne');
          versions[i] = result.nextExpectedVersion;
        },
        async R1() {
          sanityCheck((await posts.findOne({ _id: pick.id() })) !== null, 'findOne');
        },
        async R2() {
          const ids = pick.ids(config.many);
          const found = await posts.find({ _id: { $in: ids } });
          sanityCheck(found.length === new Set(ids).size, 'find by _id $in');
        },
        async Q1() {
          const from = pick.rangeStart();
          const found = await posts.find({ time: { $gte: from, $lt: from + config.range } });
          sanityCheck(found.length === config.range, 'find by range');
        },
      },
      close: () => client.close(),
    };
  } catch (error) {
    await client.close();
    throw error;
  }
}
