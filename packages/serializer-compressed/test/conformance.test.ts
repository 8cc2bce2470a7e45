import { json } from '@waffle/serializer-json';
import { msgpack } from '@waffle/serializer-msgpack';
import { superjson } from '@waffle/serializer-superjson';
import { equalButNegativeZero, serializerConformance, serializerValues } from '@waffle/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CompressionAlgorithm, compressed, HEADER } from '../src/index.js';

class Point {
  x = 1;
}

/** Each inner codec with its domain and some values it refuses. */
const INNER = [
  {
    make: json,
    values: serializerValues.json,
    equal: equalButNegativeZero,
    unrepresentable: [
      [{ a: 1n }, 'a BigInt at $.a'],
      [{ m: new Map() }, 'a Map at $.m'],
    ],
  },
  {
    make: superjson,
    values: serializerValues.superjson,
    equal: undefined,
    unrepresentable: [
      [{ f: () => 1 }, 'a function at $.f'],
      [{ p: [new Point()] }, 'a Point at $.p[0]'],
    ],
  },
  {
    make: msgpack,
    values: serializerValues.msgpack,
    equal: equalButNegativeZero,
    unrepresentable: [
      [{ s: new Set() }, 'a Set at $.s'],
      [{ big: 2n ** 64n }, 'a BigInt outside the 64-bit range at $.big'],
    ],
  },
] as const;

/** Thresholds that store small values as they are and compress larger ones, or compress all that shrinks. */
const SETUPS: { algorithm: CompressionAlgorithm; threshold: number }[] = [
  { algorithm: 'gzip', threshold: 0 },
  { algorithm: 'gzip', threshold: 48 },
  { algorithm: 'brotli', threshold: 48 },
];

for (const inner of INNER) {
  for (const setup of SETUPS) {
    const serializer = compressed(inner.make(), setup);
    serializerConformance({
      name: `${serializer.codec} (threshold ${setup.threshold})`,
      serializer,
      values: inner.values,
      equal: inner.equal,
      unrepresentable: inner.unrepresentable,
      garbage: [
        new Uint8Array([]),
        new Uint8Array([0x07, 1, 2, 3]), // an unknown header byte
        new Uint8Array([HEADER.gzip, 0x1f, 0x8b, 0x08, 0x00, 0x00]), // a gzip stream cut short
        new Uint8Array([HEADER.brotli, 0xff, 0xff]),
        new Uint8Array([HEADER.stored, 0xc1]), // stored, but not a body of the inner codec
      ],
    });

    if (setup.threshold > 0) {
      describe(`${serializer.codec} (threshold ${setup.threshold})`, () => {
        it('stores some values of its domain as they are and compresses others', () => {
          const headers = new Set(
            fc
              .sample(inner.values, { numRuns: 400, seed: 7 })
              .map((v) => (serializer.encode(v) as Uint8Array)[0]),
          );
          expect(headers).toEqual(new Set([HEADER.stored, HEADER[setup.algorithm]]));
        });
      });
    }
  }
}
