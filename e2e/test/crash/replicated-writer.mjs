/**
 * The process the replicated crash test kills: records and their index, each
 * with 2 replicas, written in a loop (updates, inserts, deletes of a fixed set
 * of ids) as fast as it can, until SIGKILL. After each acknowledged write it
 * prints one JSON line: `{"id","version","value"}` after a save or update,
 * `{"id","version","deleted":true}` after a delete (the version of its
 * tombstone: this process is the only writer). Plain JavaScript on the built
 * packages, so that it starts fast.
 * Argument: a JSON object { shards, indexShards, name, ids }.
 */
import { Entity, Index, integer, ShardByColumn, ShardByPrimaryKey } from '@waffle/core';
import { json } from '@waffle/serializer-json';
import { shardFor } from './shard-for.mjs';

const { shards, indexShards, name, ids } = JSON.parse(process.argv[2]);
const byN = new Index(`${name}_n`, {
  columns: { n: integer() },
  shard: new ShardByColumn('n', indexShards.map(shardFor), { replicas: 2 }),
  mapper: (d) => [{ n: d.value.n }],
});
const docs = new Entity(name, {
  shards: new ShardByPrimaryKey(shards.map(shardFor), { replicas: 2 }),
  indices: [byN],
  serializer: json(),
});
const pick = (list) => list[Math.floor(Math.random() * list.length)];
const ack = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);

process.stdout.write('ready\n');
for (;;) {
  const id = pick(ids);
  const value = { n: Math.floor(Math.random() * 6), token: Math.random().toString(36).slice(2, 8) };
  const stored = await docs.get(id);
  if (!stored) {
    const record = docs.new(value, { id });
    await docs.save(record);
    ack({ id, version: record.version, value });
  } else if (Math.random() < 0.15) {
    if (await docs.delete(id)) ack({ id, version: stored.version + 1, deleted: true });
  } else {
    const doc = await docs.update(id, () => value);
    ack({ id, version: doc.version, value });
  }
}
