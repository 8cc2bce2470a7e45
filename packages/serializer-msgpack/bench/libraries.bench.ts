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
import { blogDocument, codecRates, DOCUMENT_SIZES } from '@waffle/bench/codecs';
import { benchTiming } from '@waffle/bench/harness';
import { isNativeAccelerationEnabled, Packr, Unpackr } from 'msgpackr';

// WAFFLE_BENCH_SMOKE=1 (CI) makes it one short round.
const timing = benchTiming({ warmupMs: 200, roundMs: Number(process.env.BENCH_ROUND_MS ?? 250), rounds: 7 });
const child = process.env.MSGPACK_BENCH_CHILD === '1';

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

/** Table rows for the document of the serializer benchmarks (`blogDocument`), at ~1 KB and ~100 KB. */
async function rows(): Promise<string[]> {
  const out: string[] = [];
  for (const [label, bytes] of DOCUMENT_SIZES) {
    const doc = blogDocument(bytes);
    const jsonBytes = Buffer.byteLength(JSON.stringify(doc));
    for (const { codec: lib, body, encode, decode } of await codecRates(libraries, doc, timing)) {
      out.push(
        `| ${label} | ${lib.name} | ${body.byteLength.toLocaleString('en-US')} | ${format(encode)} | ${format((encode * jsonBytes) / 1e6)} | ${format(decode)} | ${format((decode * jsonBytes) / 1e6)} |`,
      );
    }
  }
  return out;
}

if (child) {
  // The pure-JavaScript run of msgpackr, started below with its native decoder switched off.
  console.log((await rows()).join('\n'));
} else {
  console.log(`Node.js ${process.version}, ${process.platform}-${process.arch}\n`);
  console.log(
    '| document | library | size (bytes) | encode ops/s | encode MB/s | decode ops/s | decode MB/s |',
  );
  console.log('|---|---|--:|--:|--:|--:|--:|');
  console.log((await rows()).join('\n'));
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
