/**
 * waffle (Entity over one postgresShard) against raw postgres.js doing the
 * same work, side by side in one run, on tables of their own in the first
 * shard database (`waffle_s0` of WAFFLE_POSTGRES_URL, dropped afterwards),
 * with ~1 KB JSON documents and an index on one integer.
 *
 *   npx -y pnpm@12.4.2 bench        (or `pnpm bench` in packages/postgres)
 */
import { performance } from 'node:perf_hooks';
import { Entity, Index, integer, uuidv7 } from '@waffle/core';
import { postgresShard } from '@waffle/postgres';
import { json } from '@waffle/serializer-json';
import { servers, shardDatabaseUrls } from '@waffle/testkit';
import postgres from 'postgres';

type Post = { title: string; body: string; author: string; tags: string[]; time: number; edits: number };

const WARMUP_MS = 500;
const ROUND_MS = 1000;
const ROUNDS = 3;
const BATCH = 500;
const MANY = 100;
const RANGE = 100;
const FILLER = 'The quick brown fox jumps over the lazy dog. '.repeat(21); // with the rest, ~1 KB of JSON

/** The same six operations, on waffle or on the raw client. Each checks its result. */
interface Side {
  saveOne(): Promise<void>;
  insertBatch(): Promise<void>;
  getOne(): Promise<void>;
  getMany(): Promise<void>;
  range(): Promise<void>;
  updateOne(): Promise<void>;
  close(): Promise<void>;
}

const OPERATIONS: { name: string; units: number; run: (side: Side) => Promise<void> }[] = [
  { name: 'save one (ops/s)', units: 1, run: (s) => s.saveOne() },
  { name: `insert ${BATCH}/batch (docs/s)`, units: BATCH, run: (s) => s.insertBatch() },
  { name: 'get one (ops/s)', units: 1, run: (s) => s.getOne() },
  { name: `get ${MANY} by id (docs/s)`, units: MANY, run: (s) => s.getMany() },
  { name: `range query, ${RANGE} rows (q/s)`, units: 1, run: (s) => s.range() },
  { name: 'update one (ops/s)', units: 1, run: (s) => s.updateOne() },
];

const post = (time: number): Post => ({
  title: `Post number ${time}`,
  body: FILLER,
  author: `author${time % 100}`,
  tags: ['bench', 'postgres', 'waffle'],
  time,
  edits: 0,
});
const randomInt = (below: number) => Math.floor(Math.random() * below);
const pick = (ids: readonly string[]) => ids[randomInt(ids.length)]!;
const sample = (ids: readonly string[], n: number) => Array.from({ length: n }, () => pick(ids));

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`benchmark sanity check failed: ${what}`);
}

async function waffleSide(url: string, suffix: string): Promise<Side> {
  const shard = postgresShard({ url, max: 4 });
  const byTime = new Index<Post>(`bench_time_${suffix}`, {
    columns: { time: integer() },
    shard: [shard],
    mapper: (p) => [{ time: p.value.time }],
  });
  const posts = new Entity<Post>(`bench_${suffix}`, {
    shards: [shard],
    indices: [byTime],
    serializer: json(),
  });
  await posts.create();
  const ids: string[] = [];
  let next = 0; // time of the next post; every time below it is stored once
  return {
    async saveOne() {
      ids.push((await posts.save(posts.new(post(next++)))).id);
    },
    async insertBatch() {
      const docs = Array.from({ length: BATCH }, () => posts.new(post(next++)));
      for (const doc of await posts.saveMany(docs)) ids.push(doc.id);
    },
    async getOne() {
      check((await posts.get(pick(ids))) !== undefined, 'get');
    },
    async getMany() {
      check(
        (await posts.getMany(sample(ids, MANY))).every((d) => d !== undefined),
        'getMany',
      );
    },
    async range() {
      const found = await posts.select(byTime.c.time.gte(randomInt(next - RANGE)), { limit: RANGE });
      check(found.length === RANGE, 'range');
    },
    async updateOne() {
      await posts.update(pick(ids), (value) => ({ ...value, edits: value.edits + 1 }));
    },
    async close() {
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      await sql.unsafe(`DROP TABLE IF EXISTS "bench_${suffix}", "bench_time_${suffix}"`);
      await sql.unsafe('DELETE FROM __waffle_meta WHERE key IN ($1, $2)', [
        `bench_${suffix}`,
        `bench_time_${suffix}`,
      ]);
      await sql.end();
      await shard.close();
    },
  };
}

async function rawSide(url: string, suffix: string): Promise<Side> {
  const sql = postgres(url, { max: 4, onnotice: () => {} });
  const post_ = `raw_${suffix}`;
  const time_ = `raw_time_${suffix}`;
  await sql.unsafe(
    `CREATE TABLE "${post_}" (id text COLLATE "C" PRIMARY KEY, body text NOT NULL, version int8 NOT NULL)`,
  );
  await sql.unsafe(
    `CREATE TABLE "${time_}" (time int4 NOT NULL, id text COLLATE "C" NOT NULL, version int8 NOT NULL, PRIMARY KEY (time, id))`,
  );
  const ids: string[] = [];
  let next = 0;
  const insert = async (count: number) => {
    const docs = Array.from({ length: count }, () => ({ id: uuidv7(), value: post(next++) }));
    // Index rows and records as multi-row inserts, in one transaction, as prepared statements.
    await sql.begin(async (tx) => {
      await tx`INSERT INTO ${tx(time_)} ${tx(docs.map((d) => ({ time: d.value.time, id: d.id, version: 1 })))}`;
      await tx`INSERT INTO ${tx(post_)} ${tx(docs.map((d) => ({ id: d.id, body: JSON.stringify(d.value), version: 1 })))}`;
    });
    for (const d of docs) ids.push(d.id);
  };
  /** Decoded records in the order of `wanted`, like getMany. */
  const read = async (wanted: readonly string[]) => {
    const rows =
      await sql`SELECT id, body, version FROM ${sql(post_)} WHERE id IN ${sql(wanted as string[])}`;
    const byId = new Map(
      rows.map((r) => [
        String(r.id),
        { id: String(r.id), value: JSON.parse(String(r.body)) as Post, version: Number(r.version) },
      ]),
    );
    return wanted.map((id) => byId.get(id));
  };
  return {
    saveOne: () => insert(1),
    insertBatch: () => insert(BATCH),
    async getOne() {
      check((await read([pick(ids)]))[0] !== undefined, 'get');
    },
    async getMany() {
      check(
        (await read(sample(ids, MANY))).every((d) => d !== undefined),
        'getMany',
      );
    },
    async range() {
      const rows =
        await sql`SELECT id FROM ${sql(time_)} WHERE time >= ${randomInt(next - RANGE)} ORDER BY time, id LIMIT ${RANGE}`;
      const found = await read(rows.map((r) => String(r.id)));
      check(found.length === RANGE && found.every((d) => d !== undefined), 'range');
    },
    async updateOne() {
      const [doc] = await read([pick(ids)]);
      const value = { ...doc!.value, edits: doc!.value.edits + 1 };
      const result =
        await sql`UPDATE ${sql(post_)} SET body = ${JSON.stringify(value)}, version = version + 1 WHERE id = ${doc!.id} AND version = ${doc!.version}`;
      check(result.count === 1, 'update');
    },
    async close() {
      await sql.unsafe(`DROP TABLE IF EXISTS "${post_}", "${time_}"`);
      await sql.end();
    },
  };
}

/** Units per second of `run`, repeated for at least `ms` milliseconds. */
async function rate(run: () => Promise<void>, units: number, ms: number): Promise<number> {
  const start = performance.now();
  let calls = 0;
  let elapsed = 0;
  do {
    await run();
    calls++;
    elapsed = performance.now() - start;
  } while (elapsed < ms);
  return (calls * units * 1000) / elapsed;
}

/** Median rate of each side: a warm-up each, then rounds alternating between the sides. */
async function measure(op: (typeof OPERATIONS)[number], sides: readonly Side[]): Promise<number[]> {
  for (const side of sides) await rate(() => op.run(side), op.units, WARMUP_MS);
  const rates = sides.map((): number[] => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, side] of sides.entries())
      rates[i]!.push(await rate(() => op.run(side), op.units, ROUND_MS));
  }
  return rates.map((r) => r.sort((a, b) => a - b)[r.length >> 1]!);
}

function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) =>
    `| ${r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join(' | ')} |`;
  console.log(line(rows[0]!));
  console.log(
    `|${widths.map((w, c) => (c === 0 ? `${'-'.repeat(w + 1)}-` : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
  );
  for (const r of rows.slice(1)) console.log(line(r));
}

async function main(): Promise<void> {
  const url = shardDatabaseUrls(servers.postgres)[0]!;
  const suffix = `${process.pid}_${Date.now().toString(36)}`;
  const sides: Side[] = [];
  try {
    sides.push(await rawSide(url, suffix), await waffleSide(url, suffix));
    const number = (n: number) => Math.round(n).toLocaleString('en-US');
    const rows = [['operation', 'raw', 'waffle', 'waffle/raw']];
    for (const op of OPERATIONS) {
      const [raw, waffle] = await measure(op, sides);
      rows.push([op.name, number(raw!), number(waffle!), (waffle! / raw!).toFixed(2)]);
    }
    console.log(
      `PostgreSQL (${url}), ~1 KB JSON, median of ${ROUNDS} rounds of ${ROUND_MS / 1000} s (Node ${process.version})`,
    );
    printTable(rows);
    console.log(
      'raw: postgres.js tagged templates (prepared); writes as multi-row INSERTs of index rows and records in one\n' +
        'transaction; range = index-table range query, then the records by `id IN (...)`; update = read, then\n' +
        'compare-and-set UPDATE.',
    );
  } finally {
    for (const side of sides) await side.close();
  }
}

await main();
