/**
 * Why msgpack() uses msgpackr: the two MessagePack libraries of the npm
 * registry side by side — encode and decode throughput and encoded size for a
 * ~1 KB and a ~100 KB document, then what each does with the types JSON lacks.
 * msgpackr runs twice: with its optional native string decoder
 * (msgpackr-extract) and without it (pure JavaScript, as where the native
 * addon is not installed).
 *
 *   pnpm bench        (in packages/serializer-msgpack; also run by the root `pnpm bench`)
 *
 * MB/s are megabytes (10^6) of the document's JSON text per second; each
 * figure is the median of seven rounds, taken in turn over the libraries.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { Decoder, Encoder } from '@msgpack/msgpack';
import { isNativeAccelerationEnabled, Packr, Unpackr } from 'msgpackr';

const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 250);
const ROUNDS = 7;
const child = process.env.MSGPACK_BENCH_CHILD === '1';

/** The same deterministic blog post as the codecs benchmark of @waffle/serializer-compressed. */
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

const format = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));

/** msgpackr as msgpack() configures it: standard maps, int64 BigInts. */
const packr = new Packr({ useRecords: false, variableMapSize: true, int64AsType: 'bigint' });
const unpackr = new Unpackr({
  useRecords: false,
  mapsAsObjects: true,
  int64AsType: 'bigint',
  copyBuffers: true,
});
const encoder = new Encoder({ useBigInt64: true });
const decoder = new Decoder({ useBigInt64: true });

const libraries = [
  {
    name: `msgpackr 2.1.4 (${isNativeAccelerationEnabled ? 'native decoder' : 'pure JS'})`,
    encode: (v: unknown) => packr.pack(v),
    decode: (b: Uint8Array) => unpackr.unpack(b),
  },
  ...(child
    ? []
    : [
        {
          name: '@msgpack/msgpack 3.1.3',
          encode: (v: unknown) => encoder.encode(v),
          decode: (b: Uint8Array) => decoder.decode(b),
        },
      ]),
];

function rows(): string[] {
  const out: string[] = [];
  for (const [label, bytes] of [
    ['1 KB', 1024],
    ['100 KB', 100 * 1024],
  ] as const) {
    const doc = blogPost(bytes);
    const jsonBytes = Buffer.byteLength(JSON.stringify(doc));
    const cases = libraries.map((lib) => {
      const body = lib.encode(doc);
      const warm = performance.now();
      while (performance.now() - warm < 200) lib.decode(lib.encode(doc));
      return { lib, body, encode: [] as number[], decode: [] as number[] };
    });
    // Rounds go over the libraries in turn, so that a busy moment of the machine weighs on all alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of cases) {
        c.encode.push(rate(() => c.lib.encode(doc)));
        c.decode.push(rate(() => c.lib.decode(c.body)));
      }
    }
    for (const { lib, body, encode: encodes, decode: decodes } of cases) {
      const encode = median(encodes);
      const decode = median(decodes);
      out.push(
        `| ${label} | ${lib.name} | ${body.byteLength.toLocaleString('en-US')} | ${format(encode)} | ${format((encode * jsonBytes) / 1e6)} | ${format(decode)} | ${format((decode * jsonBytes) / 1e6)} |`,
      );
    }
  }
  return out;
}

if (child) {
  // The pure-JavaScript run of msgpackr, started below with its native decoder switched off.
  console.log(rows().join('\n'));
} else {
  console.log(`Node.js ${process.version}, ${process.platform}-${process.arch}\n`);
  console.log(
    '| document | library | size (bytes) | encode ops/s | encode MB/s | decode ops/s | decode MB/s |',
  );
  console.log('|---|---|--:|--:|--:|--:|--:|');
  console.log(rows().join('\n'));
  console.log(
    execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
      env: { ...process.env, MSGPACK_BENCH_CHILD: '1', MSGPACKR_NATIVE_ACCELERATION_DISABLED: 'true' },
      encoding: 'utf8',
    }).trimEnd(),
  );

  class Point {
    x = 1;
  }
  const samples: [string, unknown][] = [
    ['Date', new Date('2024-01-02T03:04:05.678Z')],
    ['Uint8Array', new Uint8Array([1, 2])],
    ['BigInt 5n', 5n],
    ['BigInt 2n ** 64n', 2n ** 64n],
    ['{ a: undefined }', { a: undefined }],
    ['Map', new Map([['k', 1]])],
    ['Set', new Set([1])],
    ['class instance', new Point()],
  ];
  const outcome = (work: () => unknown) => {
    try {
      return inspect(work(), { breakLength: Number.POSITIVE_INFINITY }).replaceAll('|', '\\|');
    } catch (error) {
      return `throws ${(error as Error).constructor.name}: ${(error as Error).message.split(',')[0]}`;
    }
  };
  console.log(
    "\n| value | msgpackr (msgpack()'s options, before its checks) | @msgpack/msgpack (useBigInt64) |",
  );
  console.log('|---|---|---|');
  for (const [label, value] of samples) {
    const a = outcome(() => unpackr.unpack(new Uint8Array(packr.pack(value))));
    const b = outcome(() => decoder.decode(encoder.encode(value)));
    console.log(`| ${label} | ${a} | ${b} |`);
  }
}
