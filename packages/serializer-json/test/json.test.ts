import { SerializationError } from '@waffle/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { json } from '../src/index.js';

/** JSON has no -0: it is read back as 0, the one change the codec makes to a JSON value. */
function withoutNegativeZero(value: unknown): unknown {
  if (Object.is(value, -0)) return 0;
  if (Array.isArray(value)) return value.map(withoutNegativeZero);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutNegativeZero(v)]));
  }
  return value;
}

describe('json()', () => {
  const codec = json();

  it('is a text codec tagged json', () => {
    expect(codec.codec).toBe('json');
    expect(codec.format).toBe('text');
    expect(json({ codec: 'json2' }).codec).toBe('json2');
  });

  it('round-trips every JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const body = codec.encode(value);
        expect(typeof body).toBe('string');
        expect(codec.decode(body)).toEqual(withoutNegativeZero(value));
      }),
      { numRuns: 1000 },
    );
  });

  it('decodes UTF-8 bytes as well as strings', () => {
    expect(codec.decode(new TextEncoder().encode('{"a":"é𝒳"}'))).toEqual({ a: 'é𝒳' });
  });

  it.each([
    [{ a: 1n }, 'a BigInt at $.a'],
    [{ list: [1, () => 1] }, 'a function at $.list[1]'],
    [{ s: Symbol('x') }, 'a symbol at $.s'],
    [{ deep: { n: Number.NaN } }, 'the number NaN at $.deep.n'],
    [[Number.POSITIVE_INFINITY], 'the number Infinity at $[0]'],
    [{ m: new Map() }, 'a Map at $.m'],
    [{ 'odd key': new Set() }, 'a Set at $["odd key"]'],
    [undefined, 'undefined at $'],
  ])('refuses %s with a SerializationError saying what and where', (value, message) => {
    const error = (() => {
      try {
        codec.encode(value);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(SerializationError);
    expect(SerializationError.is(error)).toBe(true);
    expect((error as Error).message).toBe(`JSON cannot represent ${message}`);
  });

  it('refuses circular references', () => {
    const value: Record<string, unknown> = { a: { b: 1 } };
    (value.a as Record<string, unknown>).self = value;
    expect(() => codec.encode(value)).toThrow('JSON cannot represent a circular reference at $.a.self');
  });

  it('reports a body that is not JSON as a SerializationError with the cause', () => {
    const error = (() => {
      try {
        codec.decode('{not json');
      } catch (e) {
        return e as SerializationError;
      }
    })();
    expect(error).toBeInstanceOf(SerializationError);
    expect(error?.message).toBe('Stored body is not valid json');
    expect(error?.cause).toBeInstanceOf(SyntaxError);
    expect(() => codec.decode(new Uint8Array([0xff, 0xfe]))).toThrow(SerializationError);
  });

  it('writes its JSON form as the value stored: a Date as its ISO string, undefined properties left out', () => {
    const value = { at: new Date('2024-01-02T03:04:05.678Z'), gone: undefined, n: [1, 'x', null] };
    const text = JSON.stringify(codec.toJSON!(value));
    expect(text).toBe('{"at":"2024-01-02T03:04:05.678Z","n":[1,"x",null]}');
    expect(text).toBe(codec.encode(value));
    expect(codec.fromJSON!(JSON.parse(text))).toEqual({ at: '2024-01-02T03:04:05.678Z', n: [1, 'x', null] });
  });

  it('refuses in toJSON and fromJSON what it refuses to encode', () => {
    for (const use of [codec.toJSON!, codec.fromJSON!]) {
      const error = (() => {
        try {
          use({ big: 1n });
        } catch (e) {
          return e as Error;
        }
      })();
      expect(error).toBeInstanceOf(SerializationError);
      expect(error?.message).toBe('JSON cannot represent a BigInt at $.big');
    }
  });
});
