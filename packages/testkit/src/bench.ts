/**
 * The harness of waffle's benchmarks: warm-up, rounds that alternate between
 * the things compared (so that a busy moment of the machine weighs on all of
 * them alike), medians and Markdown tables; and the workload an adapter's
 * benchmark runs through waffle and through its raw driver. Benchmarks print
 * figures; nothing here asserts anything about timing.
 */
import { performance } from 'node:perf_hooks';
import { Entity, Index, integer, type Serializer, type Shard, uuidv7 } from '@waffle/core';

/** The median of `values` (the upper one of an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

/** Units per second of `run`, called one after another for at least `ms` milliseconds. */
export async function rate(run: () => Promise<void>, units: number, ms: number): Promise<number> {
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

/** Calls per second of a synchronous `work`, called in groups of 8 for at least `ms` milliseconds. */
export function opsPerSecond(work: () => unknown, ms: number): number {
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < 8; i++) work();
    n += 8;
    elapsed = performance.now() - start;
  }
  return n / (elapsed / 1000);
}

/** Calls a synchronous `work` for `ms` milliseconds, so that the JIT has seen it before it is measured. */
export function warmUp(work: () => unknown, ms: number): void {
  const start = performance.now();
  while (performance.now() - start < ms) work();
}

/**
 * Runs `rounds` rounds, each measuring every case in turn; `measure` gives
 * one or more figures per case and round. Returns, per case, the median of
 * each figure.
 */
export async function alternateRounds<T>(
  cases: readonly T[],
  rounds: number,
  measure: (item: T) => readonly number[] | Promise<readonly number[]>,
): Promise<number[][]> {
  const figures = cases.map((): number[][] => []);
  for (let round = 0; round < rounds; round++) {
    for (const [i, item] of cases.entries()) {
      for (const [f, value] of (await measure(item)).entries()) {
        const series = figures[i]![f] ?? [];
        series.push(value);
        figures[i]![f] = series;
      }
    }
  }
  return figures.map((perFigure) => perFigure.map(median));
}

/** A Markdown table of `rows` (the first is the header): the first column left-aligned, the others right-aligned. */
export function markdownTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: readonly string[]) =>
    `| ${r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, c) => (c === 0 ? `${'-'.repeat(w + 1)}-` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(rows[0]!), rule, ...rows.slice(1).map(line)].join('\n');
}

/** How long an adapter benchmark warms up and measures. */
export const BENCH_TIMING = Object.freeze({ warmupMs: 500, roundMs: 1000, rounds: 3 });

/** Posts per batch insert, ids per getMany, rows per range query. */
export const BENCH_SIZES = Object.freeze({ batch: 500, many: 100, range: 100 });

/** A benchmark document: ~1 KB of JSON. */
export type BenchPost = {
  title: string;
  body: string;
  author: string;
  tags: string[];
  time: number;
  edits: number;
};

const FILLER = 'The quick brown fox jumps over the lazy dog. '.repeat(21); // with the rest, ~1 KB of JSON

/** The post of time `time`, tagged with the dialect's name. */
export function benchPost(time: number, dialect: string): BenchPost {
  return {
    title: `Post number ${time}`,
    body: FILLER,
    author: `author${time % 100}`,
    tags: ['bench', dialect, 'waffle'],
    time,
    edits: 0,
  };
}

/** The same six operations, on waffle or on a raw client. Each checks its result. */
export interface BenchSide {
  saveOne(): Promise<void>;
  insertBatch(): Promise<void>;
  getOne(): Promise<void>;
  getMany(): Promise<void>;
  range(): Promise<void>;
  updateOne(): Promise<void>;
  close(): Promise<void>;
}

const OPERATIONS: { name: string; units: number; run: (side: BenchSide) => Promise<void> }[] = [
  { name: 'save one (ops/s)', units: 1, run: (s) => s.saveOne() },
  {
    name: `insert ${BENCH_SIZES.batch}/batch (docs/s)`,
    units: BENCH_SIZES.batch,
    run: (s) => s.insertBatch(),
  },
  { name: 'get one (ops/s)', units: 1, run: (s) => s.getOne() },
  { name: `get ${BENCH_SIZES.many} by id (docs/s)`, units: BENCH_SIZES.many, run: (s) => s.getMany() },
  { name: `range query, ${BENCH_SIZES.range} rows (q/s)`, units: 1, run: (s) => s.range() },
  { name: 'update one (ops/s)', units: 1, run: (s) => s.updateOne() },
];

/** A random integer in [0, below). */
export const randomInt = (below: number): number => Math.floor(Math.random() * below);
/** A random one of `ids`. */
export const pick = (ids: readonly string[]): string => ids[randomInt(ids.length)]!;
/** `n` random ids of `ids`, repeats possible. */
export const sample = (ids: readonly string[], n: number): string[] =>
  Array.from({ length: n }, () => pick(ids));

/** Throws when a benchmark's result is wrong, so that a fast wrong answer is never reported. */
export function sanityCheck(ok: boolean, what: string): void {
  if (!ok) throw new Error(`benchmark sanity check failed: ${what}`);
}

/**
 * The waffle side: an entity `entity` over one shard, stored with
 * `serializer`, with an index `index` on the post's time. `close` runs before the shard closes (e.g. to drop the tables).
 */
export async function waffleBenchSide(
  shard: Shard,
  names: {
    entity: string;
    index: string;
    dialect: string;
    serializer: Serializer;
    close?: () => Promise<void>;
  },
): Promise<BenchSide> {
  const byTime = new Index<BenchPost>(names.index, {
    columns: { time: integer() },
    shard: [shard],
    mapper: (p) => [{ time: p.value.time }],
  });
  const posts = new Entity<BenchPost>(names.entity, {
    shards: [shard],
    indices: [byTime],
    serializer: names.serializer,
  });
  await posts.create();
  const ids: string[] = [];
  let next = 0; // time of the next post; every time below it is stored once
  const post = (time: number) => benchPost(time, names.dialect);
  return {
    async saveOne() {
      ids.push((await posts.save(posts.new(post(next++)))).id);
    },
    async insertBatch() {
      const docs = Array.from({ length: BENCH_SIZES.batch }, () => posts.new(post(next++)));
      for (const doc of await posts.saveMany(docs)) ids.push(doc.id);
    },
    async getOne() {
      sanityCheck((await posts.get(pick(ids))) !== undefined, 'get');
    },
    async getMany() {
      sanityCheck(
        (await posts.getMany(sample(ids, BENCH_SIZES.many))).every((d) => d !== undefined),
        'getMany',
      );
    },
    async range() {
      const found = await posts.select(byTime.c.time.gte(randomInt(next - BENCH_SIZES.range)), {
        limit: BENCH_SIZES.range,
      });
      sanityCheck(found.length === BENCH_SIZES.range, 'range');
    },
    async updateOne() {
      await posts.update(pick(ids), (value) => ({ ...value, edits: value.edits + 1 }));
    },
    async close() {
      await names.close?.();
      await shard.close();
    },
  };
}

/** A stored post as a raw client reads it: the JSON body undecoded. */
export interface RawPostRow {
  readonly id: string;
  readonly body: string;
  readonly version: number;
}

/**
 * What a raw driver does for the raw side, in plain SQL: the entity table
 * `(id, body, version)` and the index table `(time, id, version)`.
 */
export interface RawBenchStore {
  /** Inserts new posts (index rows, then records; version 1) as multi-row inserts in one transaction. */
  insert(posts: readonly { id: string; value: BenchPost }[]): Promise<void>;
  /** The rows of these ids, in any order. */
  read(ids: readonly string[]): Promise<RawPostRow[]>;
  /** The ids of the first `limit` index rows with a time of at least `from`, in index order. */
  range(from: number, limit: number): Promise<string[]>;
  /** Sets the body of `id` and adds 1 to its version where the version is `version`; returns the rows changed. */
  update(id: string, version: number, body: string): Promise<number>;
  close(): Promise<void>;
}

/** The raw side: the six operations done by hand on `store`, the way waffle does them. */
export function rawBenchSide(store: RawBenchStore, dialect: string): BenchSide {
  const ids: string[] = [];
  let next = 0; // time of the next post; every time below it is stored once
  const insert = async (count: number) => {
    const posts = Array.from({ length: count }, () => ({ id: uuidv7(), value: benchPost(next++, dialect) }));
    await store.insert(posts);
    for (const p of posts) ids.push(p.id);
  };
  /** Decoded records in the order of `wanted`, like getMany. */
  const read = async (wanted: readonly string[]) => {
    const byId = new Map(
      (await store.read(wanted)).map((r) => [
        r.id,
        { id: r.id, value: JSON.parse(r.body) as BenchPost, version: r.version },
      ]),
    );
    return wanted.map((id) => byId.get(id));
  };
  return {
    saveOne: () => insert(1),
    insertBatch: () => insert(BENCH_SIZES.batch),
    async getOne() {
      sanityCheck((await read([pick(ids)]))[0] !== undefined, 'get');
    },
    async getMany() {
      sanityCheck(
        (await read(sample(ids, BENCH_SIZES.many))).every((d) => d !== undefined),
        'getMany',
      );
    },
    async range() {
      const found = await read(await store.range(randomInt(next - BENCH_SIZES.range), BENCH_SIZES.range));
      sanityCheck(found.length === BENCH_SIZES.range && found.every((d) => d !== undefined), 'range');
    },
    async updateOne() {
      const [doc] = await read([pick(ids)]);
      const value = { ...doc!.value, edits: doc!.value.edits + 1 };
      sanityCheck((await store.update(doc!.id, doc!.version, JSON.stringify(value))) === 1, 'update');
    },
    close: () => store.close(),
  };
}

/**
 * Measures every operation on the raw side and the waffle side (a warm-up
 * each, then alternating rounds) and returns the table: operation, raw,
 * waffle, waffle/raw.
 */
export async function compareWithRaw(
  raw: BenchSide,
  waffle: BenchSide,
  timing: { warmupMs: number; roundMs: number; rounds: number } = BENCH_TIMING,
): Promise<string[][]> {
  const number = (n: number) => Math.round(n).toLocaleString('en-US');
  const rows = [['operation', 'raw', 'waffle', 'waffle/raw']];
  for (const op of OPERATIONS) {
    for (const side of [raw, waffle]) await rate(() => op.run(side), op.units, timing.warmupMs);
    const [[r], [w]] = (await alternateRounds([raw, waffle], timing.rounds, async (side) => [
      await rate(() => op.run(side), op.units, timing.roundMs),
    ])) as [[number], [number]];
    rows.push([op.name, number(r), number(w), (w / r).toFixed(2)]);
  }
  return rows;
}

/**
 * A deterministic blog post whose JSON is at least `bytes` long: text,
 * numbers, booleans, nesting (JSON values only, so every codec stores the
 * same thing). The document of the serializer benchmarks.
 */
export function blogDocument(bytes: number): Record<string, unknown> {
  let seed = 42;
  const random = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const words = [
    'waffle',
    'shard',
    'index',
    'record',
    'mapper',
    'query',
    'sunny',
    'blog',
    'post',
    'café',
    'naïve',
  ];
  const text = (n: number) =>
    Array.from({ length: n }, () => words[Math.floor(random() * words.length)]).join(' ');
  const comments: unknown[] = [];
  const post = {
    title: 'My First Blog Post',
    author: 'ann',
    created: 1_732_590_000_000,
    tags: ['sunny', 'first'],
    views: 3,
    published: true,
    comments,
  };
  while (JSON.stringify(post).length < bytes) {
    comments.push({
      id: Math.floor(random() * 1e9),
      author: text(1),
      text: text(8),
      score: Math.round(random() * 1000) / 10,
      likes: Math.floor(random() * 100),
      flagged: random() < 0.1,
    });
  }
  return post;
}

/** The document sizes of the serializer benchmarks: a label and the least length of its JSON. */
export const DOCUMENT_SIZES: readonly (readonly [label: string, bytes: number])[] = [
  ['1 KB', 1024],
  ['100 KB', 100 * 1024],
];

/** Something that encodes a document to a body and decodes it back: a serializer or a library. */
export interface BenchCodec {
  encode(value: unknown): unknown;
  /** Takes what `encode` returns. */
  decode(body: never): unknown;
}

/**
 * The encode and decode rates (calls per second, medians) of each codec on
 * `doc`, with its body: a warm-up each, then rounds alternating over the codecs.
 */
export async function codecRates<C extends BenchCodec>(
  codecs: readonly C[],
  doc: unknown,
  timing: { warmupMs: number; roundMs: number; rounds: number },
): Promise<{ codec: C; body: ReturnType<C['encode']>; encode: number; decode: number }[]> {
  const cases = codecs.map((codec) => {
    const body = codec.encode(doc) as ReturnType<C['encode']>;
    warmUp(() => codec.decode(codec.encode(doc) as never), timing.warmupMs);
    return { codec, body };
  });
  const medians = await alternateRounds(cases, timing.rounds, (c) => [
    opsPerSecond(() => c.codec.encode(doc), timing.roundMs),
    opsPerSecond(() => c.codec.decode(c.body as never), timing.roundMs),
  ]);
  return cases.map((c, i) => ({ ...c, encode: medians[i]![0]!, decode: medians[i]![1]! }));
}
