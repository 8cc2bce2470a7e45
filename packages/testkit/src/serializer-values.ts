import fc from 'fast-check';
import { expect } from 'vitest';

/** Whether an object key anywhere in `value` is one of `keys`. */
function hasKey(value: unknown, keys: ReadonlySet<string>): boolean {
  if (typeof value !== 'object' || value === null) return false;
  return Object.keys(value).some((k) => keys.has(k) || hasKey((value as Record<string, unknown>)[k], keys));
}

const PROTO = new Set(['__proto__']);
/** Keys superjson refuses (its prototype pollution guard). */
const SUPERJSON_REFUSED = new Set(['__proto__', 'constructor', 'prototype']);

const keyWithout = (refused: ReadonlySet<string>) =>
  fc.string({ unit: 'grapheme', maxLength: 8 }).filter((k) => !refused.has(k));

const escapeRegExp = (s: string) => s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
const regexp = fc
  .tuple(fc.string({ maxLength: 8 }), fc.subarray([...'dgimsuy']))
  .map(([source, flags]) => new RegExp(escapeRegExp(source), flags.join('')));

const superjsonLeaf = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  fc.boolean(),
  fc.string({ unit: 'grapheme' }),
  fc.double(),
  fc.bigInt(),
  fc.date({ noInvalidDate: true }),
  regexp,
);

const superjsonExtras = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    superjsonLeaf,
    tie('array'),
    tie('object'),
    tie('map'),
    tie('set'),
  ),
  array: fc.array(tie('value'), { maxLength: 5 }),
  object: fc.dictionary(keyWithout(SUPERJSON_REFUSED), tie('value'), { maxKeys: 5 }),
  map: fc
    .array(fc.tuple(fc.oneof(superjsonLeaf, tie('value')), tie('value')), { maxLength: 4 })
    .map((entries) => new Map(entries)),
  set: fc.array(tie('value'), { maxLength: 4 }).map((items) => new Set(items)),
})).value;

const msgpackLeaf = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  fc.boolean(),
  fc.string({ unit: 'grapheme' }),
  fc.integer(),
  fc.double(),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
  fc.date({ noInvalidDate: true }),
  fc.uint8Array({ maxLength: 64 }),
);

const msgpackExtras = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, msgpackLeaf, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 6 }),
  object: fc.dictionary(keyWithout(PROTO), tie('value'), { maxKeys: 6 }),
})).value;

/**
 * The domains of waffle's serializers, for {@link serializerConformance} (and
 * for any serializer that claims the same domain):
 * - `json`: JSON values;
 * - `superjson`: JSON values and undefined, BigInt, Date, RegExp, Map, Set,
 *   NaN, ±Infinity, -0, without the keys superjson refuses (`__proto__`,
 *   `constructor`, `prototype`);
 * - `msgpack`: JSON values and binary (Uint8Array), Date, 64-bit BigInts,
 *   undefined, NaN, ±Infinity, without `__proto__` keys.
 */
export const serializerValues: {
  readonly json: fc.Arbitrary<unknown>;
  readonly superjson: fc.Arbitrary<unknown>;
  readonly msgpack: fc.Arbitrary<unknown>;
} = {
  json: fc.jsonValue(),
  superjson: fc.oneof(
    fc.jsonValue().filter((v) => !hasKey(v, SUPERJSON_REFUSED)),
    superjsonExtras,
  ),
  msgpack: fc.oneof(
    fc.jsonValue().filter((v) => !hasKey(v, PROTO)),
    msgpackExtras,
  ),
};

/** `value` with every -0 (in arrays and plain objects) made 0. */
function withoutNegativeZero(value: unknown): unknown {
  if (Object.is(value, -0)) return 0;
  if (Array.isArray(value)) return value.map(withoutNegativeZero);
  const proto = typeof value === 'object' && value !== null ? Object.getPrototypeOf(value) : undefined;
  if (proto === Object.prototype || proto === null) {
    return Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, withoutNegativeZero(v)]));
  }
  return value;
}

/**
 * An `equal` for codecs that read -0 back as 0 (JSON, MessagePack), the one
 * change they make to a value of their domain. Fails with vitest's diff.
 */
export function equalButNegativeZero(decoded: unknown, original: unknown): boolean {
  expect(decoded).toEqual(withoutNegativeZero(original));
  return true;
}
