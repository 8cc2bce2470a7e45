import { Entity, Index, integer } from '@waffle/core';
import { libsqlShard } from '@waffle/libsql';
import { json } from '@waffle/serializer-json';
import { rmSync, mkdirSync } from 'node:fs';
rmSync('/tmp/p8', { recursive: true, force: true }); mkdirSync('/tmp/p8');
const doc = (i) => ({ title: 'x'.repeat(800), time: i, tags: ['a', 'b'] });
const shard = libsqlShard({ url: 'file:/tmp/p8/w.db' });
const byTime = new Index('p_time', { columns: { time: integer() }, shard: [shard], mapper: (d) => [{ time: d.value.time }] });
const e = new Entity('p', { shards: [shard], indices: [byTime], serializer: json() });
await e.create();
let n = 0; const t0 = performance.now();
while (performance.now() - t0 < 5000) { await e.save(e.new(doc(n++))); }
console.log(n / 5);
