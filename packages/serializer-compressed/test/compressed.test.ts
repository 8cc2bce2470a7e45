import { randomBytes } from 'node:crypto';
import * as zlib from 'node:zlib';
import { SerializationError, type Serializer, ValidationError } from '@waffle/core';
import { json } from '@waffle/serializer-json';
import { msgpack } from '@waffle/serializer-msgpack';
import { superjson } from '@waffle/serializer-superjson';
import { equalButNegativeZero, serializerConformance, serializerValues, thrown } from '@waffle/testkit';
import { describe, expect, it } from 'vitest';
import { compressed, HEADER } from '../src/index.js';

const hasZstd = typeof (zlib as { zstdCompressSync?: unknown }).zstdCompressSync === 'function';
const post = { title: 'My First Blog Post', body: 'All work and no play. '.repeat(40), tags: ['sunny'] };

describe('compressed()', () => {
  it('tags rows with the algorithm and the inner codec, and always writes bytes', () => {
    const gz = compressed(json(), { algorithm: 'gzip', threshold: 1024 });
    expect([gz.codec, gz.format]).toEqual(['gzip+json', 'binary']);
    expect(compressed(msgpack(), { algorithm: 'brotli', threshold: 0 }).codec).toBe('brotli+msgpack');
    expect(compressed(superjson(), { algorithm: 'gzip', threshold: 0, codec: 'sj.gz' }).codec).toBe('sj.gz');
  });

  it('stores bodies below the threshold as they are, after the header byte 0x00', () => {
    const codec = compressed(json(), { algorithm: 'gzip', threshold: 1024 });
    const body = codec.encode({ a: 'é' }) as Uint8Array;
    expect([...body]).toEqual([HEADER.stored, ...new TextEncoder().encode('{"a":"é"}')]);
    expect(codec.decode(body)).toEqual({ a: 'é' });
  });

  it.each([
    ['gzip', HEADER.gzip, (b: Uint8Array) => zlib.gunzipSync(b)],
    ['brotli', HEADER.brotli, (b: Uint8Array) => zlib.brotliDecompressSync(b)],
  ] as const)('compresses larger bodies with %s, after its header byte', (algorithm, header, inflate) => {
    const codec = compressed(msgpack(), { algorithm, threshold: 256 });
    const body = codec.encode(post) as Uint8Array;
    const plain = msgpack().encode(post) as Uint8Array;
    expect(body[0]).toBe(header);
    expect(body.length).toBeLessThan(plain.length / 4);
    expect(new Uint8Array(inflate(body.subarray(1)))).toEqual(plain);
    expect(codec.decode(body)).toEqual(post);
    expect(body.constructor).toBe(Uint8Array);
  });

  it('stores a body as it is when compression would not make it smaller', () => {
    const noise = new Uint8Array(randomBytes(4096));
    const body = compressed(msgpack(), { algorithm: 'gzip', threshold: 0 }).encode({ noise }) as Uint8Array;
    expect(body[0]).toBe(HEADER.stored);
  });

  it('reads every body the wrapper writes, whatever the algorithm, threshold or level that wrote it', () => {
    const reader = compressed(json(), { algorithm: 'gzip', threshold: 100 });
    const writers: Serializer[] = [
      compressed(json(), { algorithm: 'gzip', threshold: 0, level: 9 }),
      compressed(json(), { algorithm: 'gzip', threshold: 1_000_000, level: 1 }),
      compressed(json(), { algorithm: 'brotli', threshold: 0, level: 11 }),
    ];
    for (const writer of writers) expect(reader.decode(writer.encode(post))).toEqual(post);
  });

  it('passes on what the inner serializer refuses', () => {
    const error = thrown(() => compressed(json(), { algorithm: 'gzip', threshold: 0 }).encode({ n: 1n }));
    expect(SerializationError.is(error)).toBe(true);
    expect(error.message).toBe('JSON cannot represent a BigInt at $.n');
  });

  it('reports corrupt bodies as SerializationErrors with the cause', () => {
    const codec = compressed(json(), { algorithm: 'gzip', threshold: 0 });
    const body = codec.encode(post) as Uint8Array;
    const flipped = body.slice();
    flipped[flipped.length - 6]! ^= 0xff; // inside the CRC-32 of the gzip trailer
    const corrupt = thrown(() => codec.decode(flipped));
    expect(SerializationError.is(corrupt)).toBe(true);
    expect(corrupt.message).toMatch(/^Stored body is not valid gzip\+json: corrupt gzip data \(/);
    expect(corrupt.cause).toBeInstanceOf(Error);
    expect(thrown(() => codec.decode(new Uint8Array([0x09]))).message).toBe(
      'Stored body is not valid gzip+json: unknown header byte 0x09',
    );
    expect(thrown(() => codec.decode(new Uint8Array([HEADER.stored, 0xff]))).message).toBe(
      'Stored body is not valid gzip+json: not UTF-8 text',
    );
    expect(thrown(() => codec.decode('{"a":1}')).message).toBe(
      'Stored body is not valid gzip+json: compressed bodies are bytes, not text',
    );
  });

  it.each([
    [{ algorithm: 'lz4', threshold: 0 }, "algorithm must be 'gzip', 'brotli' or 'zstd', not \"lz4\""],
    [{ algorithm: 'gzip', threshold: -1 }, 'threshold must be a number of bytes (an integer ≥ 0), not -1'],
    [{ algorithm: 'gzip', threshold: 1.5 }, 'threshold must be a number of bytes (an integer ≥ 0), not 1.5'],
    [{ algorithm: 'gzip', threshold: 0, level: 10 }, 'gzip level must be an integer from 0 to 9, not 10'],
    [
      { algorithm: 'brotli', threshold: 0, level: -1 },
      'brotli level must be an integer from 0 to 11, not -1',
    ],
  ])('refuses options %o with a ValidationError', (options, message) => {
    const error = thrown(() => compressed(json(), options as never));
    expect(ValidationError.is(error)).toBe(true);
    expect(error.message).toBe(`compressed(): ${message}`);
  });

  it('refuses something that is not a serializer', () => {
    const error = thrown(() => compressed({} as Serializer, { algorithm: 'gzip', threshold: 0 }));
    expect(ValidationError.is(error)).toBe(true);
  });

  it.skipIf(hasZstd)('says which Node.js zstd needs, when this one has no zstd', () => {
    const error = thrown(() => compressed(json(), { algorithm: 'zstd', threshold: 0 }));
    expect(ValidationError.is(error)).toBe(true);
    expect(error.message).toBe(
      `compressed(): zstd needs Node.js 22.15 or later (zlib.zstdCompressSync); this is Node.js ${process.version}`,
    );
    const read = thrown(() =>
      compressed(json(), { algorithm: 'gzip', threshold: 0 }).decode(
        new Uint8Array([HEADER.zstd, 0x28, 0xb5]),
      ),
    );
    expect(SerializationError.is(read)).toBe(true);
    expect(read.message).toContain('zstd needs Node.js 22.15 or later');
  });

  it.runIf(hasZstd)('compresses with zstd where Node.js has it', () => {
    const codec = compressed(msgpack(), { algorithm: 'zstd', threshold: 256 });
    expect(codec.codec).toBe('zstd+msgpack');
    const body = codec.encode(post) as Uint8Array;
    expect(body[0]).toBe(HEADER.zstd);
    expect(codec.decode(body)).toEqual(post);
  });
});

if (hasZstd) {
  serializerConformance({
    name: 'zstd+json (threshold 48)',
    serializer: compressed(json(), { algorithm: 'zstd', threshold: 48 }),
    values: serializerValues.json,
    equal: equalButNegativeZero,
    unrepresentable: [[{ a: 1n }, 'a BigInt at $.a']],
  });
}

describe('the JSON form of compressed()', () => {
  it("is the inner serializer's, with the inner serializer's refusals", () => {
    const value = { at: new Date('2024-01-02T03:04:05.678Z'), big: 5n, raw: new Uint8Array([1, 2]) };
    const outer = compressed(msgpack(), { algorithm: 'gzip', threshold: 0 });
    const form = outer.toJSON!(value);
    expect(form).toEqual(msgpack().toJSON!(value));
    expect(outer.fromJSON!(JSON.parse(JSON.stringify(form)))).toEqual(value);
    const error = thrown(() => outer.toJSON!({ m: new Map() }));
    expect(SerializationError.is(error)).toBe(true);
    expect(error.message).toBe('MessagePack cannot represent a Map at $.m');
    expect(thrown(() => outer.fromJSON!({ $x: 1 })).message).toContain(
      'Not the JSON form of msgpack: an unknown tag "$x"',
    );
  });

  it('has none when the inner serializer has none', () => {
    const bare: Serializer = {
      codec: 'bare',
      format: 'text',
      encode: (value) => JSON.stringify(value),
      decode: (body) => JSON.parse(String(body)),
    };
    const outer = compressed(bare, { algorithm: 'gzip', threshold: 0 });
    expect(outer.toJSON).toBeUndefined();
    expect(outer.fromJSON).toBeUndefined();
    expect(outer.decode(outer.encode({ a: 1 }))).toEqual({ a: 1 });
  });
});
