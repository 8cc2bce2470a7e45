/**
 * The process the backfill-kill test kills: it opens the blog entity (whose
 * tag index is being built) and backfills the tag index in small batches,
 * printing "ready" once it has done a few, until SIGKILL.
 * Argument: a JSON object { shards, tagShards, names }.
 */
import { json } from '@waffle/serializer-json';
import { blog } from '@waffle/testkit';
import { shardFor } from './shard-for.mjs';

const { shards, tagShards, names } = JSON.parse(process.argv[2]);
const options = { name: 'backfill', serializer: json(), openShards: async () => [] };
const { posts, byTag } = blog(options, shards.map(shardFor), tagShards.map(shardFor), names);
let told = false;
await posts.backfill(byTag, {
  batchSize: 10,
  rowsPerSecond: 400,
  onProgress: (progress) => {
    if (!told && progress.records >= 40) {
      told = true;
      process.stdout.write('ready\n');
    }
  },
});
process.stdout.write('finished\n');
