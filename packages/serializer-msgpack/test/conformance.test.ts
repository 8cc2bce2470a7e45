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
  invalidForms: [
    [
      { a: { $date: 'yesterday' } },
      'Not the JSON form of msgpack: a $date tag holding "yesterday", not a date in ISO 8601 form at $.a.$date',
    ],
    [{ $bigint: '12x' }, 'a $bigint tag holding "12x", not an integer in a string at $.$bigint'],
    [{ $bigint: 12 }, 'a $bigint tag holding 12, not an integer in a string'],
    [[{ $bytes: 'not base64!' }], 'a $bytes tag holding "not base64!", not base64 text at $[0].$bytes'],
    [{ $number: 'Infinityish' }, 'a $number tag holding "Infinityish", not "NaN", "Infinity" or "-Infinity"'],
    [{ $undefined: 1 }, 'a $undefined tag holding 1, not true'],
    [{ $object: [1] }, 'a $object tag holding [1], not an object'],
    [
      { x: { $map: [] } },
      'an unknown tag "$map" (known: $undefined, $number, $bigint, $date, $bytes, $object; wrap an object of one $ key in {"$object": …}) at $.x.$map',
    ],
    [JSON.parse('{"a":{"__proto__":1}}'), 'a property named __proto__ at $.a.__proto__'],
    [{ big: 1n }, 'a bigint, which JSON does not have at $.big'],
    [{ n: Number.NaN }, 'the number NaN (JSON has none) at $.n'],
    [{ u: undefined }, 'undefined, which JSON does not have at $.u'],
    [{ d: new Date(0) }, 'an object that is not plain, which JSON does not have at $.d'],
  ],
});
