import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareText } from '../src/columns.js';
import {
  and,
  bigint,
  boolean,
  type ColumnRef,
  type ColumnValue,
  Index,
  integer,
  not,
  or,
  type Predicate,
  real,
  text,
  timestamp,
  ValidationError,
} from '../src/index.js';
import { evaluate, isPredicate, prefixRange } from '../src/predicate.js';
import { expectError, fakeShards, wellFormed } from './helpers.js';

const ix = new Index('ix', {
  columns: {
    n: integer().nullable(),
    s: text().nullable(),
    big: bigint(),
    r: real(),
    b: boolean(),
    t: timestamp(),
  },
  shard: fakeShards(1),
  mapper: () => [],
});
const { c } = ix;

/** Evaluates `p` against a row given as { column: value }; absent columns read as null. */
const on = (p: Predicate, row: Record<string, ColumnValue>) =>
  evaluate(p, (ref: ColumnRef) => row[ref.name] ?? null);

describe('predicate builders', () => {
  it('build plain, inspectable objects with normalised values', () => {
    const p = c.n.eq(-0);
    expect(isPredicate(p)).toBe(true);
    expect(p).toMatchObject({ op: 'eq', column: c.n });
    expect(Object.is((p as { value: unknown }).value, 0)).toBe(true);
    expect(c.big.gt(5 as never)).toMatchObject({ op: 'gt', value: 5n });
    expect(c.n.in([1, 2])).toMatchObject({ op: 'in', values: [1, 2] });
    expect(c.n.between(1, 2)).toMatchObject({ op: 'between', low: 1, high: 2 });
    expect(c.s.startsWith('a%')).toMatchObject({ op: 'startsWith', prefix: 'a%' });
    expect(c.n.isNull()).toMatchObject({ op: 'isNull', column: c.n });
    expect(c.n.asc()).toEqual({ column: c.n, direction: 'asc' });
    expect(c.n.desc()).toEqual({ column: c.n, direction: 'desc' });
  });

  it('reject a wrongly typed value, naming index.column.op', () => {
    const cases: [() => unknown, string, string][] = [
      [() => c.n.eq('1' as never), 'ix.n.eq()', 'expected integer'],
      [() => c.n.ne(1.5 as never), 'ix.n.ne()', 'expected integer'],
      [() => c.n.lt((2 ** 31) as never), 'ix.n.lt()', '32-bit'],
      [() => c.s.lte(1 as never), 'ix.s.lte()', 'expected text'],
      [() => c.s.gt('a\u0000' as never), 'ix.s.gt()', 'no NUL'],
      [() => c.r.gte(Number.NaN), 'ix.r.gte()', 'finite number'],
      [() => c.b.eq(1 as never), 'ix.b.eq()', 'expected boolean'],
      [() => c.t.eq(new Date(Number.NaN)), 'ix.t.eq()', 'a valid Date'],
      [() => c.big.eq(1.5 as never), 'ix.big.eq()', 'expected bigint'],
      [() => c.n.in([1, 'x' as never]), 'ix.n.in()', 'expected integer'],
      [() => c.n.between(1, 'x' as never), 'ix.n.between()', 'expected integer'],
      [() => c.n.between('x' as never, 1), 'ix.n.between()', 'expected integer'],
      [() => c.s.startsWith(5 as never), 'ix.s.startsWith()', 'expected text'],
      [() => c.s.startsWith('\ud800' as never), 'ix.s.startsWith()', 'lone surrogate'],
    ];
    for (const [build, where, why] of cases) expectError(build, ValidationError, 'VALIDATION', where, why);
  });

  it('reject null and undefined, pointing to isNull()', () => {
    for (const v of [null, undefined]) {
      for (const op of ['eq', 'ne', 'lt', 'lte', 'gt', 'gte'] as const) {
        // n is nullable: null is still not a value to compare with.
        expectError(
          () => c.n[op](v as never),
          ValidationError,
          'VALIDATION',
          `ix.n.${op}()`,
          `got ${v}`,
          'isNull()',
        );
      }
      expectError(() => c.n.in([1, v as never]), ValidationError, 'VALIDATION', 'ix.n.in()', 'isNull()');
      expectError(
        () => c.n.between(v as never, 1),
        ValidationError,
        'VALIDATION',
        'ix.n.between()',
        'isNull()',
      );
      expectError(
        () => c.s.startsWith(v as never),
        ValidationError,
        'VALIDATION',
        'ix.s.startsWith()',
        'isNull()',
      );
    }
  });

  it('startsWith() only on text columns', () => {
    expectError(
      () => (c.n as ColumnRef).startsWith('1' as never),
      ValidationError,
      'VALIDATION',
      'ix.n.startsWith()',
      'only text columns have prefixes, this one is integer',
    );
    expectError(
      () => (c.b as ColumnRef).startsWith('t' as never),
      ValidationError,
      'VALIDATION',
      'this one is boolean',
    );
  });

  it('in() needs an array', () => {
    for (const v of ['1', 1, new Set([1]), { 0: 1, length: 1 }, null]) {
      expectError(() => c.n.in(v as never), ValidationError, 'VALIDATION', 'ix.n.in(): expected an array');
    }
    expect(c.n.in([])).toMatchObject({ op: 'in', values: [] });
  });

  it('and/or/not take predicates only', () => {
    const good = c.n.eq(1);
    expectError(() => and(1 as never), ValidationError, 'VALIDATION', 'and(): argument 1 is not a predicate');
    expectError(
      () => and(good, 'x' as never),
      ValidationError,
      'VALIDATION',
      'and(): argument 2 is not a predicate',
    );
    expectError(
      () => or(good, good, {} as never),
      ValidationError,
      'VALIDATION',
      'or(): argument 3 is not a predicate',
    );
    expectError(() => or({ op: 'nope' } as never), ValidationError, 'VALIDATION', 'or(): argument 1');
    expectError(
      () => not(null as never),
      ValidationError,
      'VALIDATION',
      'not(): argument 1 is not a predicate (null)',
    );
    expectError(() => not(undefined as never), ValidationError, 'VALIDATION', 'not(): argument 1');
    expectError(() => and(c.n.asc() as never), ValidationError, 'VALIDATION', 'and(): argument 1');
    expect(and(good, or(good), not(good))).toMatchObject({ op: 'and' });
  });
});

describe('evaluate (SQL three-valued logic)', () => {
  const NULL = { n: null };
  const ONE = { n: 1 };
  const T = c.n.isNull(); // true on NULL row
  const F = not(c.n.isNull()); // false on NULL row

  it('a comparison with a null column is unknown', () => {
    for (const p of [
      c.n.eq(1),
      c.n.ne(1),
      c.n.lt(1),
      c.n.lte(1),
      c.n.gt(1),
      c.n.gte(1),
      c.n.in([1]),
      c.n.between(0, 2),
    ]) {
      expect(on(p, NULL)).toBeNull();
    }
    expect(on(c.s.startsWith(''), { s: null })).toBeNull();
  });

  it('isNull is never unknown', () => {
    expect(on(c.n.isNull(), NULL)).toBe(true);
    expect(on(c.n.isNull(), ONE)).toBe(false);
    expect(on(not(c.n.isNull()), NULL)).toBe(false);
    expect(on(not(c.n.isNull()), ONE)).toBe(true);
  });

  it('not(unknown) is unknown: a null column matches neither eq, ne nor their negations', () => {
    expect(on(not(c.n.eq(1)), NULL)).toBeNull();
    expect(on(not(c.n.ne(1)), NULL)).toBeNull();
    expect(on(not(not(c.n.eq(1))), NULL)).toBeNull();
    expect(on(not(c.n.eq(1)), ONE)).toBe(false);
    expect(on(not(c.n.ne(1)), ONE)).toBe(true);
  });

  it('and / or truth tables with unknown', () => {
    const U = c.n.eq(1);
    expect(on(and(U, T), NULL)).toBeNull();
    expect(on(and(U, F), NULL)).toBe(false);
    expect(on(and(F, U), NULL)).toBe(false);
    expect(on(and(U, U), NULL)).toBeNull();
    expect(on(and(T, T), NULL)).toBe(true);
    expect(on(or(U, T), NULL)).toBe(true);
    expect(on(or(T, U), NULL)).toBe(true);
    expect(on(or(U, F), NULL)).toBeNull();
    expect(on(or(F, F), NULL)).toBe(false);
    expect(on(not(and(U, T)), NULL)).toBeNull();
    expect(on(not(or(U, F)), NULL)).toBeNull();
  });

  it('and() is true and or() is false', () => {
    expect(on(and(), ONE)).toBe(true);
    expect(on(or(), ONE)).toBe(false);
    expect(on(and(), NULL)).toBe(true);
    expect(on(or(), NULL)).toBe(false);
    expect(on(not(and()), NULL)).toBe(false);
    expect(on(not(or()), NULL)).toBe(true);
  });

  it('in([]) is false, like or() — even on a null column, so not(in([])) matches every row', () => {
    expect(on(c.n.in([]), ONE)).toBe(false);
    expect(on(c.n.in([]), NULL)).toBe(false);
    expect(on(not(c.n.in([])), ONE)).toBe(true);
    expect(on(not(c.n.in([])), NULL)).toBe(true);
  });

  it('in() matches any listed value', () => {
    expect(on(c.n.in([3, 1, 2]), ONE)).toBe(true);
    expect(on(c.n.in([3, 2]), ONE)).toBe(false);
    expect(on(c.big.in([1n, 5 as never]), { big: 5n })).toBe(true);
  });

  it('comparisons', () => {
    const row = { n: 5, s: 'm', r: 1.5, b: true, big: 10n, t: new Date(1000) };
    expect(on(c.n.eq(5), row)).toBe(true);
    expect(on(c.n.ne(5), row)).toBe(false);
    expect(on(c.n.lt(5), row)).toBe(false);
    expect(on(c.n.lte(5), row)).toBe(true);
    expect(on(c.n.gt(4), row)).toBe(true);
    expect(on(c.n.gte(6), row)).toBe(false);
    expect(on(c.s.lt('n'), row)).toBe(true);
    expect(on(c.r.gt(1.25), row)).toBe(true);
    expect(on(c.b.eq(true), row)).toBe(true);
    expect(on(c.b.gt(false), row)).toBe(true);
    expect(on(c.big.lt(11n), row)).toBe(true);
    expect(on(c.t.eq(new Date(1000)), row)).toBe(true); // by time, not by identity
    expect(on(c.t.lt(new Date(999)), row)).toBe(false);
    expect(on(c.s.gt('\uFFFF'), { s: '😀' })).toBe(true); // code point order
  });

  it('between includes both ends', () => {
    const p = c.n.between(2, 4);
    expect([1, 2, 3, 4, 5].map((n) => on(p, { n }))).toEqual([false, true, true, true, false]);
    expect(on(c.n.between(4, 2), { n: 3 })).toBe(false);
    expect(on(c.n.between(3, 3), { n: 3 })).toBe(true);
    expect(on(c.s.between('a', 'b'), { s: 'b' })).toBe(true);
    expect(on(c.s.between('a', 'b'), { s: 'ba' })).toBe(false);
  });

  it('startsWith treats % and _ literally and is case-sensitive', () => {
    expect(on(c.s.startsWith('a%'), { s: 'a%c' })).toBe(true);
    expect(on(c.s.startsWith('a%'), { s: 'abc' })).toBe(false);
    expect(on(c.s.startsWith('a_'), { s: 'a_x' })).toBe(true);
    expect(on(c.s.startsWith('a_'), { s: 'ab' })).toBe(false);
    expect(on(c.s.startsWith('%'), { s: 'anything' })).toBe(false);
    expect(on(c.s.startsWith('\\'), { s: '\\x' })).toBe(true);
    expect(on(c.s.startsWith('ab'), { s: 'Abc' })).toBe(false);
    expect(on(c.s.startsWith('AB'), { s: 'abc' })).toBe(false);
    expect(on(c.s.startsWith(''), { s: '' })).toBe(true);
    expect(on(c.s.startsWith('😀'), { s: '😀!' })).toBe(true);
    expect(on(c.s.startsWith('abc'), { s: 'ab' })).toBe(false);
  });
});

describe('prefixRange', () => {
  it('hand cases', () => {
    expect(prefixRange('abc')).toEqual({ low: 'abc', high: 'abd' });
    expect(prefixRange('')).toEqual({ low: '', high: undefined });
    expect(prefixRange('a%')).toEqual({ low: 'a%', high: 'a&' });
    expect(prefixRange('a\uD7FF')).toEqual({ low: 'a\uD7FF', high: 'a\uE000' }); // skips the surrogates
    expect(prefixRange('a\uFFFF')).toEqual({ low: 'a\uFFFF', high: 'a\u{10000}' });
    expect(prefixRange('a\u{10FFFF}')).toEqual({ low: 'a\u{10FFFF}', high: 'b' });
    expect(prefixRange('a\u{10FFFF}\u{10FFFF}')).toEqual({ low: 'a\u{10FFFF}\u{10FFFF}', high: 'b' });
    expect(prefixRange('\u{10FFFF}')).toEqual({ low: '\u{10FFFF}', high: undefined });
    expect(prefixRange('\u{10FFFF}\u{10FFFF}').high).toBeUndefined();
    expect(prefixRange('😀')).toEqual({ low: '😀', high: '😁' });
  });

  const inRange = (s: string, p: string) => {
    const { low, high } = prefixRange(p);
    return compareText(low, s) <= 0 && (high === undefined || compareText(s, high) < 0);
  };

  /** Code points that stress the range ends: U+D7FF, U+E000, U+FFFF, U+10000, U+10FFFF and neighbours. */
  const point = fc
    .oneof(
      { weight: 3, arbitrary: fc.constantFrom(0x61, 0x62, 0xd7ff, 0xe000, 0xffff, 0x10000, 0x10ffff) },
      { weight: 1, arbitrary: fc.constantFrom(0x01, 0x7f, 0x80, 0xd7fe, 0xe001, 0xfffe, 0x10fffe) },
      {
        weight: 1,
        arbitrary: fc.integer({ min: 1, max: 0x10ffff }).filter((cp) => cp < 0xd800 || cp > 0xdfff),
      },
    )
    .map((cp) => String.fromCodePoint(cp));
  const str = fc.array(point, { maxLength: 5 }).map((a) => a.join(''));

  it('s.startsWith(p) iff low <= s < high (fast-check, boundary code points)', () => {
    fc.assert(
      fc.property(
        str,
        str,
        fc.oneof(
          str, // unrelated string
          str.map((suffix) => ({ suffix })), // p + suffix: always a match
        ),
        (p, other, s) => {
          const candidate = typeof s === 'string' ? s : p + s.suffix;
          for (const x of [candidate, other, p]) expect(inRange(x, p)).toBe(x.startsWith(p));
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('s.startsWith(p) iff low <= s < high (fast-check, binary strings)', () => {
    const bin = fc.string({ unit: 'binary', maxLength: 6 }).filter(wellFormed);
    fc.assert(
      fc.property(bin, bin, bin, (p, suffix, other) => {
        expect(inRange(p + suffix, p)).toBe(true);
        expect(inRange(other, p)).toBe(other.startsWith(p));
      }),
      { numRuns: 3000 },
    );
  });

  it('prefixes ending in U+10FFFF and U+D7FF (fast-check)', () => {
    fc.assert(
      fc.property(
        str,
        fc.constantFrom('\u{10FFFF}', '\uD7FF', '\u{10FFFF}\u{10FFFF}', '\uD7FF\u{10FFFF}'),
        str,
        str,
        (head, tail, suffix, other) => {
          const p = head + tail;
          expect(inRange(p + suffix, p)).toBe(true);
          expect(inRange(other, p)).toBe(other.startsWith(p));
          expect(inRange(head + other, p)).toBe((head + other).startsWith(p));
          const { high } = prefixRange(p);
          if (high !== undefined) {
            expect(compareText(p, high)).toBeLessThan(0);
            expect(high.startsWith(p)).toBe(false);
            expect(wellFormed(high)).toBe(true);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
