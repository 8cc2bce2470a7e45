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
 * the median of seven rounds, taken in turn over all codecs after a warm-up;
 * every codec's decode is checked once.
 */
import { isDeepStrictEqual } from 'node:util';
import * as zlib from 'node:zlib';
import { blogDocument, codecRates, DOCUMENT_SIZES } from '@waffle/bench/codecs';
import { benchTiming } from '@waffle/bench/harness';
import type { Serializer } from '@waffle/core';
import { json } from '@waffle/serializer-json';
import { msgpack } from '@waffle/serializer-msgpack';
import { superjson } from '@waffle/serializer-superjson';
import { isNativeAccelerationEnabled } from 'msgpackr';
import { compressed } from '../src/index.js';

// WAFFLE_BENCH_SMOKE=1 (CI) makes it one short round.
const timing = benchTiming({ warmupMs: 200, roundMs: Number(process.env.BENCH_ROUND_MS ?? 250), rounds: 7 });

const bodySize = (body: string | Uint8Array) =>
  typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;

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
for (const [label, bytes] of DOCUMENT_SIZES) {
  const doc = blogDocument(bytes);
  const jsonBytes = Buffer.byteLength(JSON.stringify(doc));
  for (const codec of codecs) {
    if (!isDeepStrictEqual(codec.decode(codec.encode(doc)), doc)) {
      throw new Error(`${codec.codec} changed the document`);
    }
  }
  for (const { codec, body, encode, decode } of await codecRates(codecs, doc, timing)) {
    const size = bodySize(body);
    const mb = (ops: number) => format((ops * jsonBytes) / 1e6);
    console.log(
      `| ${label} | ${codec.codec} | ${size.toLocaleString('en-US')} | ${Math.round((size / jsonBytes) * 100)}% | ${format(encode)} | ${mb(encode)} | ${format(decode)} | ${mb(decode)} |`,
    );
  }
}
