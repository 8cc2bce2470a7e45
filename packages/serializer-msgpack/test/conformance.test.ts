import { equalButNegativeZero, serializerConformance, serializerValues } from '@waffle/testkit';
import { msgpack } from '../src/index.js';

class Point {
  x = 1;
}
const circular: Record<string, unknown> = { a: { b: 1 } };
(circular.a as Record<string, unknown>).self = circular;

serializerConformance({
  name: 'msgpack',
  serializer: msgpack(),
  values: serializerValues.msgpack,
  equal: equalButNegativeZero, // msgpackr writes -0 as the integer 0
  unrepresentable: [
    [{ m: new Map([['k', 1]]) }, 'a Map at $.m'],
    [{ list: [1, new Set([1])] }, 'a Set at $.list[1]'],
    [{ p: new Point() }, 'a Point at $.p'],
    [[/x/g], 'a RegExp at $[0]'],
    [{ e: new Error('boom') }, 'an Error at $.e'],
    [{ f: () => 1 }, 'a function at $.f'],
    [{ s: Symbol('x') }, 'a symbol at $.s'],
    [{ big: 2n ** 64n }, 'a BigInt outside the 64-bit range at $.big'],
    [{ big: -(2n ** 63n) - 1n }, 'a BigInt outside the 64-bit range at $.big'],
    [circular, 'a circular reference at $.a.self'],
    [{ text: 'a\udc00b' }, 'a string with a lone surrogate at $.text'],
    [{ 'odd \ud800': 1 }, 'a property name with a lone surrogate at $["odd \\ud800"]'],
    [JSON.parse('{"a":{"__proto__":1}}'), 'a property named __proto__ at $.a.__proto__'],
    [new Int16Array([1]), 'an Int16Array at $'],
    [{ raw: new ArrayBuffer(2) }, 'an ArrayBuffer at $.raw'],
    [{ when: new Date(Number.NaN) }, 'an invalid Date at $.when'],
  ],
  garbage: [
    new Uint8Array([]),
    new Uint8Array([0x92, 0x01]), // an array of two with one element
    new Uint8Array([0x01, 0x02]), // bytes after the value
    new Uint8Array([0xd4, 0x05, 0x00]), // an unknown extension type
    new Uint8Array([0xdf, 0xff, 0xff, 0xff, 0xff]), // a map claiming 4 billion entries
    'not bytes',
  ],
});
