/**
 * Encode and decode throughput and encoded size of waffle's serializers, for a
 * ~1 KB and a ~100 KB document (a blog post with comments; JSON values only,
 * so every codec stores the same thing). Prints a Markdown table: the one in
 * the serializers' READMEs.
 *
 *   npx -y pnpm@12.4.2 bench        (or `pnpm bench` in packages/serializer-compressed)
 *
 * MB/s are megabytes (10^6) of the document's JSON text per second, so that
 * codecs compare on the same data whatever their encoded size. Each figure is
 * the median of ROUNDS rounds, taken in turn over all codecs after a warm-up;
 * every codec's decode is checked once.
 */
import { isDeepStrictEqual } from 'node:util';
import * as zlib from 'node:zlib';
import type { Serializer } from '@waffle/core';
import { json } from '@waffle/serializer-json';
import { msgpack } from '@waffle/serializer-msgpack';
import { superjson } from '@waffle/serializer-superjson';
import { isNativeAccelerationEnabled } from 'msgpackr';
import { compressed } from '../src/index.js';

const WARMUP_MS = 200;
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 250);
const ROUNDS = 7;

/** A deterministic blog post whose JSON is at least `bytes` long: text, numbers, booleans, nesting. */
function blogPost(bytes: number): Record<string, unknown> {
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

const bodySize = (body: string | Uint8Array) =>
  typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;

/** Operations per second of `work` over one round of ROUND_MS. */
function rate(work: () => unknown): number {
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ROUND_MS) {
    for (let i = 0; i < 8; i++) work();
    n += 8;
    elapsed = performance.now() - start;
  }
  return n / (elapsed / 1000);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const codecs: Serializer[] = [
  json(),
  superjson(),
  msgpack(),
  compressed(json(), { algorithm: 'gzip', threshold: 0 }),
  compressed(json(), { algorithm: 'brotli', threshold: 0 }),
  compressed(msgpack(), { algorithm: 'gzip', threshold: 0 }),
  compressed(msgpack(), { algorithm: 'brotli', threshold: 0 }),
  // zstd where this Node.js has it (22.15+).
  ...('zstdCompressSync' in zlib
    ? [
        compressed(json(), { algorithm: 'zstd', threshold: 0 }),
        compressed(msgpack(), { algorithm: 'zstd', threshold: 0 }),
      ]
    : []),
];

const format = (n: number) =>
  n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(n >= 10 ? 1 : 2).replace(/\.?0+$/, '');

console.log(
  `Node.js ${process.version}, ${process.platform}-${process.arch}; msgpackr native acceleration: ${
    isNativeAccelerationEnabled ? 'on' : 'off'
  }; gzip level 6, brotli quality 6, zstd level 3, threshold 0 (every body compressed)\n`,
);
console.log(
  '| document | codec | size (bytes) | vs JSON | encode ops/s | encode MB/s | decode ops/s | decode MB/s |',
);
console.log('|---|---|--:|--:|--:|--:|--:|--:|');
for (const [label, bytes] of [
  ['1 KB', 1024],
  ['100 KB', 100 * 1024],
] as const) {
  const doc = blogPost(bytes);
  const jsonBytes = Buffer.byteLength(JSON.stringify(doc));
  const cases = codecs.map((codec) => {
    const body = codec.encode(doc);
    if (!isDeepStrictEqual(codec.decode(body), doc)) throw new Error(`${codec.codec} changed the document`);
    const warm = performance.now();
    while (performance.now() - warm < WARMUP_MS) codec.decode(codec.encode(doc));
    return { codec, body, encode: [] as number[], decode: [] as number[] };
  });
  // Rounds go over every codec in turn, so that a busy moment of the machine weighs on all of them alike.
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of cases) {
      c.encode.push(rate(() => c.codec.encode(doc)));
      c.decode.push(rate(() => c.codec.decode(c.body)));
    }
  }
  for (const { codec, body, encode: encodes, decode: decodes } of cases) {
    const size = bodySize(body);
    const encode = median(encodes);
    const decode = median(decodes);
    const mb = (ops: number) => format((ops * jsonBytes) / 1e6);
    console.log(
      `| ${label} | ${codec.codec} | ${size.toLocaleString('en-US')} | ${Math.round((size / jsonBytes) * 100)}% | ${format(encode)} | ${mb(encode)} | ${format(decode)} | ${mb(decode)} |`,
    );
  }
}
