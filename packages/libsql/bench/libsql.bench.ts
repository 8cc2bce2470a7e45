/**
 * waffle (Entity over one libsqlShard) against the raw @libsql/client doing the
 * same work, side by side in one run, each on its own temporary `file:`
 * database in WAL mode, with ~1 KB JSON documents and an index on one integer.
 *
 *   npx -y pnpm@12.4.2 bench        (or `pnpm bench` in packages/libsql)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createClient, type InStatement } from '@libsql/client';
import { Entity, Index, integer, uuidv7 } from '@waffle/core';
import { libsqlShard } from '@waffle/libsql';
import { json } from '@waffle/serializer-json';

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
  tags: ['bench', 'libsql', 'waffle'],
  time,
  edits: 0,
});
const randomInt = (below: number) => Math.floor(Math.random() * below);
const pick = (ids: readonly string[]) => ids[randomInt(ids.length)]!;
const sample = (ids: readonly string[], n: number) => Array.from({ length: n }, () => pick(ids));

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`benchmark sanity check failed: ${what}`);
}

async function waffleSide(file: string): Promise<Side> {
  const shard = libsqlShard({ url: `file:${file}` });
  const byTime = new Index<Post>('post_time', {
    columns: { time: integer() },
    shard: [shard],
    mapper: (p) => [{ time: p.value.time }],
  });
  const posts = new Entity<Post>('post', { shards: [shard], indices: [byTime], serializer: json() });
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
    close: () => shard.close(),
  };
}

async function rawSide(file: string): Promise<Side> {
  const client = createClient({ url: `file:${file}` });
  await client.execute('PRAGMA journal_mode = WAL');
  await client.batch(
    [
      'CREATE TABLE post (id TEXT PRIMARY KEY, body TEXT NOT NULL, version INTEGER NOT NULL)',
      'CREATE TABLE post_time (time INTEGER NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (time, id))',
    ],
    'write',
  );
  const ids: string[] = [];
  let next = 0;
  const tuples = (rows: number) => Array.from({ length: rows }, () => '(?, ?, ?)').join(', ');
  /** Index rows and records of new posts, as multi-row inserts, to run in one transaction. */
  const inserts = (docs: { id: string; value: Post }[]): InStatement[] => [
    {
      sql: `INSERT INTO post_time (time, id, version) VALUES ${tuples(docs.length)}`,
      args: docs.flatMap((d) => [d.value.time, d.id, 1]),
    },
    {
      sql: `INSERT INTO post (id, body, version) VALUES ${tuples(docs.length)}`,
      args: docs.flatMap((d) => [d.id, JSON.stringify(d.value), 1]),
    },
  ];
  const insert = async (count: number) => {
    const docs = Array.from({ length: count }, () => ({ id: uuidv7(), value: post(next++) }));
    await client.batch(inserts(docs), 'write');
    for (const d of docs) ids.push(d.id);
  };
  /** Decoded records in the order of `wanted`, like getMany. */
  const read = async (wanted: readonly string[]) => {
    const { rows } = await client.execute({
      sql: `SELECT id, body, version FROM post WHERE id IN (${wanted.map(() => '?').join(', ')})`,
      args: [...wanted],
    });
    const byId = new Map(
      rows.map((r) => [
        String(r[0]),
        { id: String(r[0]), value: JSON.parse(String(r[1])) as Post, version: Number(r[2]) },
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
      const { rows } = await client.execute({
        sql: 'SELECT id FROM post_time WHERE time >= ? ORDER BY time, id LIMIT ?',
        args: [randomInt(next - RANGE), RANGE],
      });
      const found = await read(rows.map((r) => String(r[0])));
      check(found.length === RANGE && found.every((d) => d !== undefined), 'range');
    },
    async updateOne() {
      const [doc] = await read([pick(ids)]);
      const value = { ...doc!.value, edits: doc!.value.edits + 1 };
      const result = await client.execute({
        sql: 'UPDATE post SET body = ?, version = version + 1 WHERE id = ? AND version = ?',
        args: [JSON.stringify(value), doc!.id, doc!.version],
      });
      check(result.rowsAffected === 1, 'update');
    },
    close: async () => client.close(),
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
  const dir = mkdtempSync(join(tmpdir(), 'waffle-bench-'));
  const sides: Side[] = [];
  try {
    sides.push(await rawSide(join(dir, 'raw.db')), await waffleSide(join(dir, 'waffle.db')));
    const number = (n: number) => Math.round(n).toLocaleString('en-US');
    const rows = [['operation', 'raw', 'waffle', 'waffle/raw']];
    for (const op of OPERATIONS) {
      const [raw, waffle] = await measure(op, sides);
      rows.push([op.name, number(raw!), number(waffle!), (waffle! / raw!).toFixed(2)]);
    }
    console.log(
      `libSQL file, WAL, ~1 KB JSON, median of ${ROUNDS} rounds of ${ROUND_MS / 1000} s (Node ${process.version})`,
    );
    printTable(rows);
    console.log(
      'raw: writes as multi-row INSERTs of index rows and records in one batch transaction;\n' +
        'range = index-table range query, then the records by `id IN (...)`; update = read, then compare-and-set UPDATE.',
    );
  } finally {
    for (const side of sides) await side.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
