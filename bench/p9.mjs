import { Entity, Index, integer } from '@waffle/core';
import { postgresShard } from '@waffle/postgres';
import { json } from '@waffle/serializer-json';
const shard = postgresShard({ url: 'postgres://postgres@127.0.0.1:5432/waffle_s0' });
const name = 'p9_' + Date.now().toString(36);
const byTime = new Index(name + '_t', { columns: { time: integer() }, shard: [shard], mapper: (d) => [{ time: d.value.time }] });
const e = new Entity(name, { shards: [shard], indices: [byTime], serializer: json() });
await e.create();
const doc = (i) => ({ title: 'x'.repeat(800), time: i, tags: ['a', 'b'] });
const recs = Array.from({ length: 5000 }, (_, i) => e.new(doc(i)));
for (let i = 0; i < 5000; i += 500) await e.saveMany(recs.slice(i, i + 500));
const mode = process.argv[2];
let n = 0; const t0 = performance.now();
while (performance.now() - t0 < 6000) {
  if (mode === 'q') await e.select(byTime.c.time.gte((n * 37) % 4800), { limit: 100 });
  else if (mode === 'w2') await e.saveMany(Array.from({ length: 500 }, (_, i) => e.new(doc(i))));
  n++;
}
console.log(mode, n / 6);
const { default: postgres } = await import('postgres');
const sql = postgres('postgres://postgres@127.0.0.1:5432/waffle_s0', { onnotice: () => {} });
await sql.unsafe(`DROP TABLE "${name}", "${name}_t"`); await sql.unsafe(`DELETE FROM __waffle_meta WHERE key LIKE '${name}%'`); await sql.end(); await shard.close();
