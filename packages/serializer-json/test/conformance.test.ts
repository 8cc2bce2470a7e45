import { equalButNegativeZero, serializerConformance, serializerValues } from '@waffle/testkit';
import { json } from '../src/index.js';

const circular: Record<string, unknown> = { a: { b: 1 } };
(circular.a as Record<string, unknown>).self = circular;

serializerConformance({
  name: 'json',
  serializer: json(),
  values: serializerValues.json,
  equal: equalButNegativeZero, // JSON has no -0
  unrepresentable: [
    [{ a: 1n }, 'a BigInt at $.a'],
    [{ list: [1, () => 1] }, 'a function at $.list[1]'],
    [{ s: Symbol('x') }, 'a symbol at $.s'],
    [{ deep: { n: Number.NaN } }, 'the number NaN at $.deep.n'],
    [{ m: new Map() }, 'a Map at $.m'],
    [{ 'odd key': new Set() }, 'a Set at $["odd key"]'],
    [circular, 'a circular reference at $.a.self'],
    [undefined, 'undefined at $'],
  ],
  // Forms JSON.parse never makes, handed to fromJSON directly.
  invalidForms: [
    [{ a: 1n }, 'JSON cannot represent a BigInt at $.a'],
    [{ n: [Number.POSITIVE_INFINITY] }, 'JSON cannot represent the number Infinity at $.n[0]'],
    [undefined, 'JSON cannot represent undefined at $'],
  ],
});
