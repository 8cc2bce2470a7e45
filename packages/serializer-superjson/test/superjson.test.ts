import { serializationError } from '@waffle/testkit';
import SuperJSON from 'superjson';
import { describe, expect, it } from 'vitest';
import { superjson } from '../src/index.js';

describe('superjson()', () => {
  const codec = superjson();

  it('is a text codec tagged superjson', () => {
    expect(codec.codec).toBe('superjson');
    expect(codec.format).toBe('text');
    expect(superjson({ codec: 'sj' }).codec).toBe('sj');
  });

  it('writes JSON text: the value as JSON, plus the types JSON loses under meta', () => {
    expect(codec.encode({ title: 'x', views: 3 })).toBe('{"json":{"title":"x","views":3}}');
    expect(JSON.parse(codec.encode({ when: new Date(0), n: 10n }) as string)).toEqual({
      json: { when: '1970-01-01T00:00:00.000Z', n: '10' },
      meta: { values: { when: ['Date'], n: ['bigint'] }, v: 1 },
    });
    expect(codec.decode(new TextEncoder().encode('{"json":{"a":"é𝒳"}}'))).toEqual({ a: 'é𝒳' });
  });

  it('keeps undefined, BigInt, Date, RegExp, Map, Set, URL, Error, typed arrays, NaN, ±Infinity and -0', () => {
    const value = {
      gone: undefined,
      big: 2n ** 100n,
      when: new Date('2024-01-02T03:04:05.678Z'),
      pattern: /a\/b[/]+/gimsuy,
      map: new Map<unknown, unknown>([
        [1, 'one'],
        [{ k: 1 }, new Set([1n])],
      ]),
      url: new URL('https://example.com/a?b#c'),
      numbers: [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0],
      bytes: new Uint8Array([1, 255]),
      floats: new Float32Array([1.5, -2]),
    };
    const back = codec.decode(codec.encode(value)) as typeof value;
    expect(back).toEqual(value);
    expect('gone' in back).toBe(true);
    expect(Object.is(back.numbers[3], -0)).toBe(true);
    expect(back.url).toBeInstanceOf(URL);
    expect(back.floats).toBeInstanceOf(Float32Array);
    const error = codec.decode(codec.encode({ e: new TypeError('boom', { cause: 'why' }) })) as { e: Error };
    expect(error.e).toBeInstanceOf(Error);
    expect([error.e.name, error.e.message, error.e.cause]).toEqual(['TypeError', 'boom', 'why']);
  });

  it('keeps shared and circular references', () => {
    const shared = { s: 1 };
    const back = codec.decode(codec.encode([shared, shared])) as unknown[];
    expect(back[0]).toBe(back[1]);
    const loop: Record<string, unknown> = { name: 'loop' };
    loop.self = loop;
    loop.map = new Map([['me', loop]]);
    const again = codec.decode(codec.encode(loop)) as typeof loop;
    expect(again.self).toBe(again);
    expect((again.map as Map<string, unknown>).get('me')).toBe(again);
  });

  it.each([
    ['a function at $.f', { f: () => 1 }],
    ['a symbol at $.tags.values()[1]', { tags: new Set(['a', Symbol('b')]) }],
    ['an invalid Date at $.m.get(2n)', { m: new Map([[2n, new Date(Number.NaN)]]) }],
    ['a Buffer at $["the bytes"]', { 'the bytes': Buffer.from('x') }],
    ['a property named prototype at $.a[0].prototype', { a: [{ prototype: 1 }] }],
    ['an object of an anonymous class at $', new (class {})()],
  ])('refuses %s with a SerializationError saying what and where', (where, value) => {
    expect(serializationError(() => codec.encode(value)).message).toBe(`superjson cannot represent ${where}`);
  });

  it('refuses classes registered on superjson’s default instance: they would change how bodies read', () => {
    class Point {
      x = 1;
    }
    SuperJSON.registerClass(Point, 'Point');
    expect(serializationError(() => codec.encode({ p: new Point() })).message).toBe(
      'superjson cannot represent a Point at $.p',
    );
  });

  it('reports corrupt bodies as SerializationErrors with the cause', () => {
    const notJson = serializationError(() => codec.decode('{"json":'));
    expect(notJson.message).toMatch(/^Stored body is not valid superjson: /);
    expect(notJson.cause).toBeInstanceOf(SyntaxError);
    expect(serializationError(() => codec.decode('[1,2]')).message).toBe(
      'Stored body is not valid superjson: not a superjson envelope ({ json, meta? })',
    );
    const badMeta = serializationError(() =>
      codec.decode('{"json":{"a":1},"meta":{"values":{"a":["nope"]}}}'),
    );
    expect(badMeta.cause).toBeInstanceOf(Error);
    expect(serializationError(() => codec.decode(new Uint8Array([0xff]))).cause).toBeInstanceOf(TypeError);
  });

  it("writes its JSON form as superjson's own { json, meta }, the body parsed, and reads it back", () => {
    const value = {
      at: new Date('2024-01-02T03:04:05.678Z'),
      big: 2n ** 70n,
      tags: new Set(['a', 'b']),
      byName: new Map([['ann', 1]]),
    };
    const form = codec.toJSON!(value);
    expect(JSON.stringify(form)).toBe(codec.encode(value));
    expect(form).toEqual({
      json: {
        at: '2024-01-02T03:04:05.678Z',
        big: '1180591620717411303424',
        tags: ['a', 'b'],
        byName: [['ann', 1]],
      },
      meta: { values: { at: ['Date'], big: ['bigint'], tags: ['set'], byName: ['map'] }, v: 1 },
    });
    expect(codec.fromJSON!(JSON.parse(JSON.stringify(form)))).toEqual(value);
    expect(codec.toJSON!({ plain: [1, 'x'] })).toEqual({ json: { plain: [1, 'x'] } });
  });

  it('refuses in toJSON what it refuses to encode, and a form that is not an envelope, with the cause', () => {
    expect(serializationError(() => codec.toJSON!({ f: () => 1 })).message).toBe(
      'superjson cannot represent a function at $.f',
    );
    const error = serializationError(() => codec.fromJSON!({ json: 1, extra: 2 }));
    expect(error.message).toBe(
      'JSON form is not valid superjson: not a superjson envelope ({ json, meta? })',
    );
    expect(error.cause).toBeInstanceOf(TypeError);
  });
});
