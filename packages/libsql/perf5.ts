import { mkdirSync, rmSync } from 'node:fs';
import { Entity, Index, integer } from '@waffle/core';
import { libsqlShard } from '@waffle/libsql';
import { json } from '@waffle/serializer-json';

rmSync('/tmp/perf5', { recursive: true, force: true });
mkdirSync('/tmp/perf5');
const doc = (i: number) => ({ title: 'x'.repeat(800), time: i, tags: ['a', 'b'] });
const shard = libsqlShard({ url: 'file:/tmp/perf5/w.db' });
const byTime = new Index<any>('p_time', {
  columns: { time: integer() },
  shard: [shard],
  mapper: (d) => [{ time: d.value.time }],
});
const e = new Entity<any>('p', { shards: [shard], indices: [byTime], serializer: json() });
await e.create();
const recs = Array.from({ length: 5000 }, (_, i) => e.new(doc(i)));
await e.saveMany(recs);
const mode = process.argv[2];
let n = 0;
const t0 = performance.now();
while (performance.now() - t0 < 5000) {
  if (mode === 'q') await e.select(byTime.c.time.gte((n * 37) % 4800), { limit: 100 });
  else await e.getMany(Array.from({ length: 100 }, (_, i) => recs[(n * 7 + i * 13) % 5000]!.id));
  n++;
}
console.log(mode, n / 5);
