/**
 * The process the crash test kills: it updates, inserts and deletes records
 * of one blog entity in a loop, as fast as it can, until SIGKILL. Plain
 * JavaScript on the built packages, so that it starts fast.
 * Argument: a JSON object { shards, tagShards, names, ids }.
 */
import { json } from '@waffle/serializer-json';
import { blog, post } from '@waffle/testkit';
import { shardFor } from './shard-for.mjs';

const { shards, tagShards, names, ids } = JSON.parse(process.argv[2]);
const options = { name: 'crash', serializer: json(), openShards: async () => [] };
const { posts } = blog(options, shards.map(shardFor), tagShards.map(shardFor), names);
const tags = ['a', 'b', 'c', 'd', 'e'];
const pick = (list) => list[Math.floor(Math.random() * list.length)];

let writes = 0;
for (;;) {
  const id = pick(ids);
  const value = post({
    group: Math.floor(Math.random() * 5),
    tags: tags.filter(() => Math.random() < 0.4),
    title: id,
  });
  try {
    const roll = Math.random();
    if (roll < 0.1) await posts.delete(id);
    else if (roll < 0.3 && !(await posts.get(id))) await posts.save(posts.new(value, { id }));
    else await posts.update(id, () => value, { retries: 3 });
  } catch {
    // NotFoundError after a delete, or a conflict: go on with another record.
  }
  if (++writes === 20) process.stdout.write('ready\n');
}
