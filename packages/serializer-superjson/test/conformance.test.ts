import { serializerConformance, serializerValues } from '@waffle/testkit';
import { superjson } from '../src/index.js';

class Point {
  x = 1;
}

serializerConformance({
  name: 'superjson',
  serializer: superjson(),
  values: serializerValues.superjson,
  unrepresentable: [
    [{ f: () => 1 }, 'a function at $.f'],
    [{ list: [1, Symbol('x')] }, 'a symbol at $.list[1]'],
    [{ p: new Point() }, 'a Point at $.p'],
    [{ when: new Date(Number.NaN) }, 'an invalid Date at $.when'],
    [{ raw: Buffer.from('abc') }, 'a Buffer at $.raw'],
    [{ raw: new ArrayBuffer(4) }, 'an ArrayBuffer at $.raw'],
    [{ v: new Float64Array([1, Number.NaN]) }, 'a Float64Array holding NaN, ±Infinity or -0 at $.v'],
    [JSON.parse('{"a":{"__proto__":1}}'), 'a property named __proto__ at $.a.__proto__'],
    [{ constructor: 1 }, 'a property named constructor at $.constructor'],
    [{ m: new Map([['k', () => 1]]) }, 'a function at $.m.get("k")'],
    [{ m: new Map([[{}, new Point()]]) }, 'a Point at $.m.values()[0]'],
    [{ m: new Map([[Symbol('k'), 1]]) }, 'a symbol at $.m.keys()[0]'],
    [{ s: new Set([1, new WeakMap()]) }, 'a WeakMap at $.s.values()[1]'],
    [{ e: new Error('boom', { cause: () => 1 }) }, 'a function at $.e.cause'],
  ],
  garbage: [
    '',
    'null',
    '"a string"',
    '{"meta":{}}',
    '{"json":1,"meta":[]}',
    '{"json":1,"extra":2}',
    '{"json":{"a":1},"meta":{"values":{"a":["nope"]}}}',
  ],
  invalidForms: [
    [null, 'JSON form is not valid superjson: not a superjson envelope ({ json, meta? })'],
    [[1], 'not a superjson envelope'],
    [{ meta: {} }, 'not a superjson envelope'],
    [{ json: 1, extra: 2 }, 'not a superjson envelope'],
    [{ json: 1, meta: [] }, 'not a superjson envelope'],
    [{ json: { a: 'x' }, meta: { values: { a: ['bigint'] } } }, 'JSON form is not valid superjson: '],
    [{ json: { a: 1 }, meta: { values: { a: ['nope'] } } }, 'JSON form is not valid superjson: '],
  ],
});
