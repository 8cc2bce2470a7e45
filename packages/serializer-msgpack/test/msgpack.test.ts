import { serializationError } from '@waffle/testkit';
import { describe, expect, it } from 'vitest';
import { msgpack } from '../src/index.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'hex'));

describe('msgpack()', () => {
  const codec = msgpack();

  it('is a binary codec tagged msgpack', () => {
    expect(codec.codec).toBe('msgpack');
    expect(codec.format).toBe('binary');
    expect(msgpack({ codec: 'msgpack2' }).codec).toBe('msgpack2');
  });

  it('writes standard MessagePack (maps, not msgpackr records), readable by any implementation', () => {
    expect(hex(codec.encode({ a: 1, b: [true, null, 'x'] }) as Uint8Array)).toBe('82a16101a16293c3c0a178');
    expect(hex(codec.encode(1.5) as Uint8Array)).toBe('cb3ff8000000000000');
    // A Date is a timestamp extension (type -1): here the 64-bit form, with milliseconds.
    expect(hex(codec.encode(new Date('2024-01-02T03:04:05.678Z')) as Uint8Array)).toBe(
      'd7ffa1a5d60065937d25',
    );
    expect(hex(codec.encode(new Uint8Array([1, 2, 3])) as Uint8Array)).toBe('c403010203');
    expect(hex(codec.encode(5n) as Uint8Array)).toBe('d30000000000000005');
  });

  it('keeps Dates, binary, BigInts, undefined, NaN and ±Infinity', () => {
    const value = {
      when: new Date('2024-01-02T03:04:05.678Z'),
      raw: new Uint8Array([0, 255, 7]),
      big: -(2n ** 63n),
      huge: 2n ** 64n - 1n,
      small: 5n,
      n: 2 ** 53 + 2,
      int: 2 ** 32,
      gone: undefined,
      list: [undefined, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY],
    };
    const back = codec.decode(codec.encode(value)) as typeof value;
    expect(back).toEqual(value);
    expect('gone' in back).toBe(true);
    expect(typeof back.small).toBe('bigint');
    expect(typeof back.n).toBe('number');
    expect(typeof back.int).toBe('number');
  });

  it('encodes to a plain, standalone Uint8Array and decodes binary to plain Uint8Arrays', () => {
    const body = codec.encode({ raw: new Uint8Array([1, 2]) }) as Uint8Array;
    expect(body.constructor).toBe(Uint8Array);
    expect(body.byteOffset).toBe(0);
    expect(body.buffer.byteLength).toBe(body.byteLength);
    const back = codec.decode(Buffer.from(body)) as { raw: Uint8Array };
    expect(back.raw.constructor).toBe(Uint8Array);
    expect(back.raw).toEqual(new Uint8Array([1, 2]));
  });

  it('reads what other writers write: 64-bit integers as BigInt, 32-bit ones as numbers', () => {
    expect(codec.decode(bytes('d3fffffffffffffffb'))).toBe(-5n);
    expect(codec.decode(bytes('cf0000000100000000'))).toBe(2n ** 32n);
    expect(codec.decode(bytes('ceffffffff'))).toBe(2 ** 32 - 1);
    expect(codec.decode(bytes('c0'))).toBe(null);
  });

  it.each([
    ['a Map at $.m', { m: new Map() }],
    ['a Set at $.s', { s: new Set() }],
    ['a URL at $.when[0]', { when: [new URL('https://example.com')] }],
    ['a function at $.f', { f() {} }],
    ['a BigInt outside the 64-bit range at $["odd key"]', { 'odd key': 2n ** 64n }],
    ['an object of an anonymous class at $', new (class {})()],
  ])('refuses %s with a SerializationError saying what and where', (where, value) => {
    expect(serializationError(() => codec.encode(value)).message).toBe(
      `MessagePack cannot represent ${where}`,
    );
  });

  it('refuses circular references, but writes shared ones twice', () => {
    const shared = { s: 1 };
    expect(codec.decode(codec.encode([shared, shared]))).toEqual([{ s: 1 }, { s: 1 }]);
    const loop: unknown[] = [];
    loop.push({ loop });
    expect(serializationError(() => codec.encode(loop)).message).toBe(
      'MessagePack cannot represent a circular reference at $[0].loop',
    );
  });

  it('refuses nesting deeper than the stack allows with a SerializationError', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(serializationError(() => codec.encode(deep)).message).toMatch(
      /^MessagePack cannot represent this value: /,
    );
    expect(codec.decode(codec.encode({ ok: true }))).toEqual({ ok: true }); // the encoder still works
  });

  it('reports corrupt bodies as SerializationErrors with the cause', () => {
    const cut = serializationError(() => codec.decode(bytes('92c3')));
    expect(cut.message).toBe('Stored body is not valid msgpack: Unexpected end of MessagePack data');
    expect(cut.cause).toBeInstanceOf(Error);
    expect(serializationError(() => codec.decode(bytes('c1'))).message).toBe(
      'Stored body is not valid msgpack: the never-used byte 0xC1',
    );
    expect(serializationError(() => codec.decode('{"a":1}')).message).toBe(
      'Stored body is not valid msgpack: MessagePack bodies are bytes, not text',
    );
  });

  it('writes its JSON form with a one-key tag for each type JSON lacks, and reads it back', () => {
    const value = {
      when: new Date('2024-01-02T03:04:05.678Z'),
      raw: new Uint8Array([0, 255, 7]),
      big: -(2n ** 63n),
      gone: undefined,
      list: [1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 'x', null],
    };
    const text = JSON.stringify(codec.toJSON!(value));
    expect(text).toBe(
      '{"when":{"$date":"2024-01-02T03:04:05.678Z"},"raw":{"$bytes":"AP8H"},"big":{"$bigint":"-9223372036854775808"},' +
        '"gone":{"$undefined":true},"list":[1,{"$number":"NaN"},{"$number":"Infinity"},{"$number":"-Infinity"},"x",null]}',
    );
    const back = codec.fromJSON!(JSON.parse(text)) as typeof value;
    expect(back).toEqual(value);
    expect('gone' in back).toBe(true);
    expect(back.raw.constructor).toBe(Uint8Array);
  });

  it('wraps an object of the value that looks like a tag, so it reads back as it was', () => {
    const value = { a: { $date: 'not a date' }, b: { $x: { $bigint: 1n } }, c: { $a: 1, $b: 2 }, d: {} };
    const text = JSON.stringify(codec.toJSON!(value));
    expect(text).toBe(
      '{"a":{"$object":{"$date":"not a date"}},"b":{"$object":{"$x":{"$object":{"$bigint":{"$bigint":"1"}}}}},"c":{"$a":1,"$b":2},"d":{}}',
    );
    expect(codec.fromJSON!(JSON.parse(text))).toEqual(value);
  });

  it('reads its JSON form exactly as a body: what it reads, encode takes', () => {
    const form = { at: { $date: '+020000-01-01T00:00:00.000Z' }, n: { $bigint: '18446744073709551615' } };
    const value = codec.fromJSON!(form);
    expect(value).toEqual({ at: new Date('+020000-01-01T00:00:00.000Z'), n: 2n ** 64n - 1n });
    expect(codec.decode(codec.encode(value))).toEqual(value);
  });

  it('refuses in toJSON what it refuses to encode, and a form nested beyond the stack', () => {
    expect(serializationError(() => codec.toJSON!({ m: new Map() })).message).toBe(
      'MessagePack cannot represent a Map at $.m',
    );
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    const error = serializationError(() => codec.fromJSON!(deep));
    expect(error.message).toMatch(/^Not the JSON form of msgpack: .*call stack/);
    expect(error.cause).toBeInstanceOf(RangeError);
  });
});
