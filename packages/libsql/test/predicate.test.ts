import {
  and,
  type ColumnValue,
  evaluate,
  type IndexRow,
  not,
  or,
  type Predicate,
  prefixRange,
} from '@waffle/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { libsqlShard } from '../src/index.js';
import { indexSpec, ref } from './helpers.js';

const spec = indexSpec('things', [
  ['n', 'integer', true],
  ['s', 'text', true],
  ['f', 'boolean', true],
  ['big', 'bigint', true],
  ['r', 'real', true],
  ['d', 'timestamp', true],
  ['x', 'bytes', true],
]);
const c = Object.fromEntries(['n', 's', 'f', 'big', 'r', 'd', 'x', '__id'].map((n) => [n, ref(spec, n)]));

const texts = [
  'a%b',
  'a_b',
  'axb',
  'A%b',
  'a%',
  '%',
  '_',
  'ab',
  'a',
  '',
  '😀x',
  '😀',
  '\uFFFF',
  '\uD7FF',
  '\uE000z',
  '\u{10FFFF}',
  '\u{10FFFF}a',
  'Ab',
];
const pool = {
  n: [-(2 ** 31), -1, 0, 1, 7, 2 ** 31 - 1],
  s: texts,
  f: [false, true],
  big: [-(2n ** 63n), -1n, 0n, 9007199254740993n, 2n ** 63n - 1n],
  r: [-1.5, 0, 0.1, 2.5, 1e300],
  d: [new Date(Date.UTC(1, 0, 1)), new Date(-1), new Date(0), new Date(1_700_000_000_000)],
  x: [new Uint8Array(0), new Uint8Array([0]), new Uint8Array([1, 2]), new Uint8Array([255])],
} as const;
const columns = ['n', 's', 'f', 'big', 'r', 'd', 'x'] as const;

// Deterministic pseudo-random numbers (mulberry32).
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = random(20240601);
const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;

const rows: IndexRow[] = texts.map((s, i) => ({
  id: `r${String(i).padStart(2, '0')}`,
  values: columns.map((name) =>
    name === 's' ? s : rnd() < 0.25 ? null : pick(pool[name] as readonly ColumnValue[]),
  ),
  version: 1,
}));
rows.push({ id: 'nulls', values: columns.map(() => null), version: 1 });
rows.push({
  id: 'r99',
  values: columns.map((name) => (name === 's' ? 'r99' : (pool[name] as readonly ColumnValue[])[0]!)),
  version: 1,
});

const shard = libsqlShard({ url: ':memory:' });
beforeAll(async () => {
  await shard.createTables([spec]);
  await shard.putIndexRows(spec, rows);
  return () => shard.close();
});

async function sqlIds(where: Predicate | undefined): Promise<string[]> {
  const got = await shard.queryIndex(spec, {
    where,
    orderBy: [{ column: '__id', direction: 'asc' }],
    limit: 1000,
  });
  return got.map((r) => r.id);
}

function jsIds(where: Predicate): string[] {
  return rows
    .filter(
      (row) =>
        evaluate(where, (col) =>
          col.name === '__id' ? row.id : row.values[columns.indexOf(col.name as never)]!,
        ) === true,
    )
    .map((r) => r.id)
    .sort();
}

/** A readable form of a predicate for failure messages. */
function show(p: Predicate): string {
  const v = (x: unknown) =>
    typeof x === 'bigint'
      ? `${x}n`
      : x instanceof Date
        ? `Date(${x.getTime()})`
        : x instanceof Uint8Array
          ? `bytes[${x}]`
          : JSON.stringify(x);
  switch (p.op) {
    case 'and':
    case 'or':
      return `${p.op}(${p.items.map(show).join(', ')})`;
    case 'not':
      return `not(${show(p.item)})`;
    case 'const':
      return String(p.value);
    case 'isNull':
      return `${p.column.name} isNull`;
    case 'in':
      return `${p.column.name} in [${p.values.map(v).join(', ')}]`;
    case 'between':
      return `${p.column.name} between ${v(p.low)} and ${v(p.high)}`;
    case 'startsWith':
      return `${p.column.name} startsWith ${v(p.prefix)}`;
    default:
      return `${p.column.name} ${p.op} ${v(p.value)}`;
  }
}

const sOf = (ids: string[]) => ids.map((id) => rows.find((r) => r.id === id)!.values[1]);

describe('predicate compilation', () => {
  it('startsWith treats % and _ literally and is case-sensitive', async () => {
    const starts = (prefix: string) => sqlIds({ op: 'startsWith', column: c.s!, prefix });
    expect(sOf(await starts('a%')).sort()).toEqual(['a%', 'a%b']);
    expect(sOf(await starts('a_'))).toEqual(['a_b']);
    expect(sOf(await starts('%'))).toEqual(['%']);
    expect(sOf(await starts('_'))).toEqual(['_']);
    expect(sOf(await starts('A')).sort()).toEqual(['A%b', 'Ab']);
    expect(sOf(await starts('a')).sort()).toEqual(['a', 'a%', 'a%b', 'a_b', 'ab', 'axb']);
  });

  it('startsWith works for astral and boundary code points', async () => {
    const starts = (prefix: string) => sqlIds({ op: 'startsWith', column: c.s!, prefix });
    expect(sOf(await starts('😀')).sort()).toEqual(['😀', '😀x']);
    expect(sOf(await starts('\uD7FF'))).toEqual(['\uD7FF']);
    expect(sOf(await starts('\uFFFF'))).toEqual(['\uFFFF']);
    expect(prefixRange('\u{10FFFF}').high).toBeUndefined();
    expect(sOf(await starts('\u{10FFFF}')).sort()).toEqual(['\u{10FFFF}', '\u{10FFFF}a']);
    expect((await starts('')).length).toBe(rows.length - 1); // every non-null text
  });

  it('empty and(), or(), in() and constants', async () => {
    const everything = rows.map((r) => r.id).sort();
    expect(await sqlIds(and())).toEqual(everything);
    expect(await sqlIds(or())).toEqual([]);
    expect(await sqlIds({ op: 'const', value: true })).toEqual(everything);
    expect(await sqlIds({ op: 'const', value: false })).toEqual([]);
    expect(await sqlIds({ op: 'in', column: c.n!, values: [] })).toEqual([]);
    // in [] is false even for a null column, so not(in []) holds for every row (as in core's evaluate).
    const notIn = not({ op: 'in', column: c.n!, values: [] });
    expect(await sqlIds(notIn)).toEqual(everything);
    expect(await sqlIds(notIn)).toEqual(jsIds(notIn));
  });

  it('uses three-valued logic with nulls', async () => {
    const ne = { op: 'ne', column: c.n!, value: 0 } as const;
    expect(await sqlIds(ne)).not.toContain('nulls');
    expect(await sqlIds(not({ op: 'eq', column: c.n!, value: 0 }))).not.toContain('nulls');
    expect(await sqlIds({ op: 'isNull', column: c.n! })).toContain('nulls');
    expect(await sqlIds(not({ op: 'isNull', column: c.n! }))).not.toContain('nulls');
    expect(await sqlIds(or(ne, { op: 'isNull', column: c.n! }))).toContain('nulls');
  });

  it('between includes both ends; in matches listed values', async () => {
    const between: Predicate = { op: 'between', column: c.n!, low: -1, high: 1 };
    expect(await sqlIds(between)).toEqual(jsIds(between));
    const inList: Predicate = { op: 'in', column: c.big!, values: [2n ** 63n - 1n, -(2n ** 63n)] };
    expect(await sqlIds(inList)).toEqual(jsIds(inList));
    expect(await sqlIds(inList)).toContain('r99');
  });

  it('compares every kind in its storage form', async () => {
    const cases: Predicate[] = [
      { op: 'eq', column: c.f!, value: true },
      { op: 'lt', column: c.f!, value: true },
      { op: 'gte', column: c.d!, value: new Date(0) },
      { op: 'lt', column: c.d!, value: new Date(0) },
      { op: 'gt', column: c.x!, value: new Uint8Array([0]) },
      { op: 'eq', column: c.x!, value: new Uint8Array(0) },
      { op: 'lte', column: c.r!, value: 0.1 },
      { op: 'gt', column: c.big!, value: 9007199254740992n },
      { op: 'lt', column: c.s!, value: '\uFFFF' },
      { op: 'gt', column: c.s!, value: '\uFFFF' },
      { op: 'gte', column: c.__id!, value: 'r10' },
      { op: 'in', column: c.__id!, values: ['r01', 'nulls', 'missing'] },
    ];
    for (const where of cases) expect(await sqlIds(where), show(where)).toEqual(jsIds(where));
  });

  it('agrees with core evaluate on random predicates', async () => {
    const leaf = (): Predicate => {
      const name = pick(columns);
      const column = c[name]!;
      const value = () => pick(pool[name] as readonly ColumnValue[]);
      switch (pick(['cmp', 'cmp', 'cmp', 'in', 'between', 'isNull', 'startsWith', 'const'] as const)) {
        case 'cmp':
          return { op: pick(['eq', 'ne', 'lt', 'lte', 'gt', 'gte'] as const), column, value: value() };
        case 'in':
          return { op: 'in', column, values: Array.from({ length: Math.floor(rnd() * 4) }, value) };
        case 'between':
          return { op: 'between', column, low: value(), high: value() };
        case 'isNull':
          return { op: 'isNull', column };
        case 'startsWith':
          // Whole code points only: core rejects prefixes with lone surrogates.
          return {
            op: 'startsWith',
            column: c.s!,
            prefix: Array.from(pick(texts))
              .slice(0, Math.floor(rnd() * 3))
              .join(''),
          };
        default:
          return { op: 'const', value: rnd() < 0.5 };
      }
    };
    const tree = (depth: number): Predicate => {
      if (depth === 0 || rnd() < 0.3) return leaf();
      const items = Array.from({ length: Math.floor(rnd() * 4) }, () => tree(depth - 1));
      const kind = pick(['and', 'or', 'not'] as const);
      return kind === 'not' ? not(tree(depth - 1)) : kind === 'and' ? and(...items) : or(...items);
    };
    for (let i = 0; i < 1000; i++) {
      const where = tree(3);
      expect(await sqlIds(where), show(where)).toEqual(jsIds(where));
    }
  });

  it('compiles long and/or lists without hitting the expression depth limit', async () => {
    const many = Array.from({ length: 5000 }, (_, i): Predicate => ({ op: 'eq', column: c.n!, value: i }));
    expect(await sqlIds(or(...many))).toEqual(jsIds(or(...many)));
    const negated = many.map((p) => not(p));
    expect(await sqlIds(and(...negated))).toEqual(jsIds(and(...negated)));
  });

  it('rejects unknown columns and kind mismatches as ValidationError', async () => {
    const other = indexSpec('other', [['zzz', 'integer']]);
    await expect(sqlIds({ op: 'eq', column: ref(other, 'zzz'), value: 1 })).rejects.toMatchObject({
      code: 'VALIDATION',
    });
    const wrong = indexSpec('things', [['n', 'text']]);
    await expect(sqlIds({ op: 'eq', column: ref(wrong, 'n'), value: 'x' })).rejects.toMatchObject({
      code: 'VALIDATION',
    });
    await expect(
      shard.queryIndex(spec, { where: undefined, orderBy: [{ column: 'nope', direction: 'asc' }], limit: 1 }),
    ).rejects.toMatchObject({ code: 'VALIDATION' });
  });
});
