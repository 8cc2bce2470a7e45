import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareBytes, compareText, compareValues } from '../src/columns.js';
import {
  bigint,
  boolean,
  bytes,
  type ColumnKind,
  ColumnType,
  integer,
  real,
  text,
  timestamp,
  ValidationError,
} from '../src/index.js';
import { codePoints, compareArrays, expectError, wellFormed } from './helpers.js';

const W = 'ix.col';
const invalid = (type: ColumnType, value: unknown, ...fragments: string[]) =>
  expectError(() => type.normalize(value, W), ValidationError, 'VALIDATION', `${W}: `, ...fragments);

describe('integer()', () => {
  const t = integer();
  it('accepts the int32 range, extremes included', () => {
    for (const v of [0, 1, -1, 42, 2 ** 31 - 1, -(2 ** 31)]) expect(t.normalize(v, W)).toBe(v);
  });
  it('rejects values outside int32', () => {
    for (const v of [2 ** 31, -(2 ** 31) - 1, 2 ** 53, Number.MAX_SAFE_INTEGER]) {
      invalid(t, v, 'expected integer', '32-bit signed integer', `got ${v} (number)`);
    }
  });
  it('rejects non-integers and other types', () => {
    for (const v of [1.5, -0.1, Number.NaN, Number.POSITIVE_INFINITY, '1', 1n, true, new Date(0), {}, []]) {
      invalid(t, v, 'expected integer');
    }
    invalid(t, '1', 'got "1" (string)');
    invalid(t, 1n, 'got 1n (bigint)');
  });
  it('turns -0 into 0', () => {
    expect(Object.is(t.normalize(-0, W), 0)).toBe(true);
  });
});

describe('bigint()', () => {
  const t = bigint();
  const MIN = -(2n ** 63n);
  const MAX = 2n ** 63n - 1n;
  it('accepts bigints in the int64 range, extremes included', () => {
    for (const v of [0n, 1n, -1n, MIN, MAX]) expect(t.normalize(v, W)).toBe(v);
  });
  it('accepts safe integer numbers, as bigints', () => {
    expect(t.normalize(42, W)).toBe(42n);
    expect(t.normalize(-0, W)).toBe(0n);
    expect(t.normalize(Number.MAX_SAFE_INTEGER, W)).toBe(BigInt(Number.MAX_SAFE_INTEGER));
    expect(t.normalize(Number.MIN_SAFE_INTEGER, W)).toBe(BigInt(Number.MIN_SAFE_INTEGER));
  });
  it('rejects bigints outside int64 (±2^63 bounds)', () => {
    invalid(t, MAX + 1n, 'expected bigint', '64-bit signed integer', `${MAX + 1n}n (bigint)`);
    invalid(t, MIN - 1n, '64-bit signed integer');
    invalid(t, 2n ** 64n, '64-bit signed integer');
  });
  it('rejects unsafe or fractional numbers and other types', () => {
    for (const v of [2 ** 53, -(2 ** 63), 1.5, Number.NaN, Number.POSITIVE_INFINITY, '1', true, {}]) {
      invalid(t, v, 'expected bigint', 'a bigint, or a number that is a safe integer');
    }
  });
});

describe('real()', () => {
  const t = real();
  it('accepts finite numbers', () => {
    for (const v of [0, 1.5, -1e308, Number.MAX_VALUE, Number.MIN_VALUE, -Number.MAX_VALUE, 2 ** 60]) {
      expect(t.normalize(v, W)).toBe(v);
    }
  });
  it('turns -0 into 0', () => {
    expect(Object.is(t.normalize(-0, W), 0)).toBe(true);
  });
  it('rejects NaN, infinities and non-numbers', () => {
    for (const v of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])
      invalid(t, v, 'expected real', 'a finite number');
    for (const v of ['1.5', 1n, false, {}]) invalid(t, v, 'expected real');
  });
});

describe('text()', () => {
  const t = text();
  it('accepts well-formed strings, astral characters included', () => {
    for (const v of ['', 'abc', 'héllo', '😀', '\u{10FFFF}', '%_', 'a\u0001b', '\uFFFF'])
      expect(t.normalize(v, W)).toBe(v);
  });
  it('rejects NUL and lone surrogates', () => {
    for (const v of ['\u0000', 'a\u0000b', '\ud800', 'a\udc00', '\udc00\ud800', '😀\ud83d']) {
      invalid(t, v, 'expected text', 'no NUL character or lone surrogate');
    }
  });
  it('rejects non-strings', () => {
    for (const v of [1, true, new Uint8Array(1), ['a']]) invalid(t, v, 'expected text');
  });
});

describe('boolean()', () => {
  const t = boolean();
  it('accepts true and false only', () => {
    expect(t.normalize(true, W)).toBe(true);
    expect(t.normalize(false, W)).toBe(false);
    for (const v of [0, 1, 'true', 'false', {}]) invalid(t, v, 'expected boolean');
  });
});

describe('timestamp()', () => {
  const t = timestamp();
  it('accepts valid dates of years 1 to 9999', () => {
    for (const iso of [
      '1970-01-01T00:00:00.000Z',
      '2024-02-29T12:34:56.789Z',
      '0001-01-01T00:00:00.000Z',
      '0099-12-31T00:00:00.000Z',
      '1000-06-01T00:00:00.000Z',
      '1899-12-31T23:59:59.999Z',
      '9999-12-31T23:59:59.999Z',
    ]) {
      const d = new Date(iso);
      expect(t.normalize(d, W)).toBe(d);
    }
  });
  it('rejects invalid dates and non-dates', () => {
    invalid(t, new Date(Number.NaN), 'expected timestamp', 'a valid Date', 'Date(invalid)');
    invalid(t, new Date('not a date'), 'a valid Date');
    for (const v of [0, Date.now(), '2024-01-01', {}]) invalid(t, v, 'expected timestamp', 'a valid Date');
  });
  it('rejects dates out of years 1..9999', () => {
    invalid(t, new Date('+010000-01-01T00:00:00.000Z'), 'years 1 to 9999');
    invalid(t, new Date('0000-12-31T23:59:59.999Z'), 'years 1 to 9999');
    invalid(t, new Date('-000100-01-01T00:00:00.000Z'), 'years 1 to 9999');
    invalid(t, new Date(8.64e15), 'years 1 to 9999');
    invalid(t, new Date(-8.64e15), 'years 1 to 9999');
  });
});

describe('bytes()', () => {
  const t = bytes();
  it('keeps a plain Uint8Array as it is', () => {
    const v = new Uint8Array([1, 2, 3]);
    expect(t.normalize(v, W)).toBe(v);
  });
  it('turns a Buffer into a plain Uint8Array with the same bytes', () => {
    const buf = Buffer.from([9, 8, 7, 6]);
    const out = t.normalize(buf, W) as Uint8Array;
    expect(out.constructor).toBe(Uint8Array);
    expect(Buffer.isBuffer(out)).toBe(false);
    expect([...out]).toEqual([9, 8, 7, 6]);
    // A Buffer that views part of a larger pool keeps its own window.
    const slice = Buffer.from('xxhelloxx').subarray(2, 7);
    const sliced = t.normalize(slice, W) as Uint8Array;
    expect(sliced.constructor).toBe(Uint8Array);
    expect(new TextDecoder().decode(sliced)).toBe('hello');
  });
  it('accepts an empty array of bytes', () => {
    expect((t.normalize(new Uint8Array(0), W) as Uint8Array).length).toBe(0);
  });
  it('rejects other values', () => {
    for (const v of [[1, 2], new ArrayBuffer(2), new Uint16Array(2), 'abc', 5])
      invalid(t, v, 'expected bytes', 'a Uint8Array');
  });
});

describe('null and nullable()', () => {
  const types: ColumnType[] = [integer(), bigint(), real(), text(), boolean(), timestamp(), bytes()];
  it('columns are NOT NULL by default', () => {
    for (const type of types) {
      expect(type.isNullable).toBe(false);
      invalid(type, null, 'null in a column that is not nullable', '.nullable()');
    }
  });
  it('nullable() accepts null and leaves the original type unchanged', () => {
    for (const type of types) {
      const n = type.nullable();
      expect(n).toBeInstanceOf(ColumnType);
      expect(n.kind).toBe(type.kind);
      expect(n.isNullable).toBe(true);
      expect(n.normalize(null, W)).toBeNull();
      expect(type.isNullable).toBe(false);
    }
  });
  it('undefined is never null', () => {
    for (const type of types) invalid(type.nullable(), undefined, `expected ${type.kind}`, 'got undefined');
  });
  it('nullable columns still check their values', () => {
    invalid(integer().nullable(), 1.5, 'expected integer');
    invalid(text().nullable(), 'a\u0000', 'no NUL');
  });
});

/** Characters around the UTF-16 / code point ordering trouble spots. */
const tricky = fc
  .oneof(
    fc.integer({ min: 0x20, max: 0x7e }),
    fc.integer({ min: 0xd700, max: 0xd7ff }),
    fc.integer({ min: 0xe000, max: 0xe0ff }),
    fc.integer({ min: 0xff00, max: 0xffff }),
    fc.integer({ min: 0x10000, max: 0x100ff }),
    fc.integer({ min: 0x10ff00, max: 0x10ffff }),
    fc.constantFrom(0x01, 0xd7ff, 0xe000, 0xfffd, 0xffff, 0x10000, 0x1f600, 0x10ffff),
  )
  .map((cp) => String.fromCodePoint(cp));
const trickyString = fc.array(tricky, { maxLength: 6 }).map((a) => a.join(''));
const binaryString = fc.string({ unit: 'binary', maxLength: 12 }).filter(wellFormed);

const sign = (n: number) => (n < 0 ? -1 : n > 0 ? 1 : 0);
const textOracle = (a: string, b: string) => compareArrays(codePoints(a), codePoints(b));

describe('compareText', () => {
  it('orders by code point, not by UTF-16 unit', () => {
    expect(compareText('\uFFFF', '😀')).toBeLessThan(0); // JavaScript's < says the opposite
    expect('\uFFFF' < '😀').toBe(false);
    expect(compareText('\uE000', '\u{10000}')).toBeLessThan(0);
    expect(compareText('\uD7FF', '\uE000')).toBeLessThan(0);
    expect(compareText('\u{10FFFF}', '\u{10000}')).toBeGreaterThan(0);
    expect(compareText('a', 'ab')).toBeLessThan(0);
    expect(compareText('', '')).toBe(0);
    expect(compareText('B', 'a')).toBeLessThan(0); // binary, case-sensitive
    expect(compareText('😀x', '😀x')).toBe(0);
  });

  it('equals the code point order (fast-check, binary strings)', () => {
    fc.assert(
      fc.property(binaryString, binaryString, (a, b) => {
        expect(sign(compareText(a, b))).toBe(textOracle(a, b));
      }),
      { numRuns: 2000 },
    );
  });

  it('equals the code point order (fast-check, strings near the surrogate boundaries)', () => {
    fc.assert(
      fc.property(trickyString, trickyString, (a, b) => {
        expect(sign(compareText(a, b))).toBe(textOracle(a, b));
        expect(sign(compareText(b, a))).toBe(textOracle(b, a));
      }),
      { numRuns: 3000 },
    );
  });

  it('sorting with it gives the order of UTF-8 bytes', () => {
    fc.assert(
      fc.property(fc.array(trickyString, { maxLength: 20 }), (list) => {
        const byText = [...list].sort(compareText);
        const enc = new TextEncoder();
        const byBytes = [...list].sort((a, b) => compareBytes(enc.encode(a), enc.encode(b)));
        expect(byText).toEqual(byBytes);
      }),
    );
  });
});

describe('compareBytes', () => {
  it('is memcmp, then length', () => {
    const b = (...xs: number[]) => new Uint8Array(xs);
    expect(compareBytes(b(), b())).toBe(0);
    expect(compareBytes(b(1, 2), b(1, 2))).toBe(0);
    expect(compareBytes(b(1), b(1, 0))).toBeLessThan(0);
    expect(compareBytes(b(2), b(1, 255))).toBeGreaterThan(0);
    expect(compareBytes(b(0x7f), b(0x80))).toBeLessThan(0); // unsigned
    expect(compareBytes(b(255), b(0))).toBeGreaterThan(0);
  });
  it('equals lexicographic byte order (fast-check)', () => {
    const arr = fc.uint8Array({ maxLength: 8, max: 3 });
    fc.assert(
      fc.property(arr, arr, (a, b) => {
        expect(sign(compareBytes(a, b))).toBe(compareArrays([...a], [...b]));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('compareValues', () => {
  it('puts null before every value', () => {
    const samples: [ColumnKind, unknown][] = [
      ['integer', -(2 ** 31)],
      ['bigint', -(2n ** 63n)],
      ['real', -Number.MAX_VALUE],
      ['text', ''],
      ['boolean', false],
      ['timestamp', new Date('0001-01-01T00:00:00Z')],
      ['bytes', new Uint8Array(0)],
    ];
    for (const [kind, v] of samples) {
      expect(compareValues(kind, null, v as never)).toBeLessThan(0);
      expect(compareValues(kind, v as never, null)).toBeGreaterThan(0);
      expect(compareValues(kind, null, null)).toBe(0);
    }
  });
  it('orders each kind naturally', () => {
    expect(compareValues('integer', -5, 3)).toBeLessThan(0);
    expect(compareValues('real', 0.1, 0.2)).toBeLessThan(0);
    expect(compareValues('bigint', 2n ** 62n, -(2n ** 62n))).toBeGreaterThan(0);
    expect(compareValues('boolean', false, true)).toBeLessThan(0);
    expect(compareValues('boolean', true, true)).toBe(0);
    expect(compareValues('timestamp', new Date(1), new Date(2))).toBeLessThan(0);
    expect(compareValues('timestamp', new Date(5), new Date(5))).toBe(0);
    expect(compareValues('text', '\uFFFF', '😀')).toBeLessThan(0);
    expect(compareValues('bytes', new Uint8Array([1]), new Uint8Array([1, 0]))).toBeLessThan(0);
  });
  it('ColumnType.compare delegates to the kind', () => {
    expect(text().compare('\uFFFF', '😀')).toBeLessThan(0);
    expect(integer().nullable().compare(null, 0)).toBeLessThan(0);
  });
});
