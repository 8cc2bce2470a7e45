import { Entity, Index, integer } from '@waffle/core';
import { libsqlShard } from '@waffle/libsql';
import { json } from '@waffle/serializer-json';
import { rmSync, mkdirSync } from 'node:fs';
rmSync('/tmp/p7', { recursive: true, force: true }); mkdirSync('/tmp/p7');
const doc = (i) => ({ title: 'x'.repeat(800), time: i, tags: ['a', 'b'] });
const shard = libsqlShard({ url: 'file:/tmp/p7/w.db' });
const byTime = new Index('p_time', { columns: { time: integer() }, shard: [shard], mapper: (d) => [{ time: d.value.time }] });
const e = new Entity('p', { shards: [shard], indices: [byTime], serializer: json() });
await e.create();
const recs = Array.from({ length: 5000 }, (_, i) => e.new(doc(i)));
await e.saveMany(recs);
const mode = process.argv[2];
let n = 0; const t0 = performance.now();
while (performance.now() - t0 < 5000) {
  if (mode === 'q') await e.select(byTime.c.time.gte((n * 37) % 4800), { limit: 100 });
  else if (mode === 'm') await e.getMany(Array.from({ length: 100 }, (_, i) => recs[(n * 7 + i * 13) % 5000].id));
  else await e.get(recs[(n * 7) % 5000].id);
  n++;
}
console.log(mode, n / 5);
