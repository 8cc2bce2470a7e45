import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { murmur3 } from '../src/hash.js';
import {
  and,
  BUCKETS,
  bucketOf,
  Index,
  integer,
  not,
  or,
  type Predicate,
  type Shard,
  ShardByColumn,
  ShardByPrimaryKey,
  type ShardStrategy,
  text,
  uuidv7,
  ValidationError,
} from '../src/index.js';
import { evaluate } from '../src/predicate.js';
import { bucketOfValue, shardOfBucket } from '../src/shard-strategy.js';
import { expectError, fakeShard, fakeShards, predicateTree } from './helpers.js';

describe('murmur3 (x86, 32-bit)', () => {
  it('matches the reference vectors', () => {
    expect(murmur3('hello')).toBe(0x248bfa47);
    expect(murmur3('The quick brown fox jumps over the lazy dog')).toBe(0x2e4ff723);
    expect(murmur3('')).toBe(0);
    expect(murmur3('', 1)).toBe(0x514e28b7);
    expect(murmur3('abc')).toBe(0xb3dd93fa);
  });

  it('hashes the UTF-8 bytes of a string, and bytes as given', () => {
    const enc = new TextEncoder();
    for (const s of ['hello', 'héllo', '日本語', '😀', 'a'.repeat(37)])
      expect(murmur3(enc.encode(s))).toBe(murmur3(s));
    expect(murmur3(new Uint8Array(0))).toBe(0);
  });

  it('hashes any string as its UTF-8 bytes: ASCII ones (read from their char codes) and others, every tail length', () => {
    const enc = new TextEncoder();
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary-ascii', maxLength: 70 }),
          fc.string({ unit: 'grapheme', maxLength: 30 }),
        ),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        (s, seed) => {
          expect(murmur3(s, seed)).toBe(murmur3(enc.encode(s), seed));
        },
      ),
    );
  });

  it('returns unsigned 32-bit integers', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.integer({ min: 0, max: 2 ** 32 - 1 }), (s, seed) => {
        const h = murmur3(s, seed);
        expect(Number.isInteger(h) && h >= 0 && h < 2 ** 32).toBe(true);
      }),
    );
  });
});

describe('bucketOf and shardOfBucket', () => {
  // Pinned forever: records live where these say. If this table changes, existing data is misrouted.
  // (Values computed once with this implementation and cross-checked with an independent murmur3.)
  const PINNED: [id: string, hash: number, bucket: number, of3: number, of4: number][] = [
    ['a', 0x3c2569b2, 2482, 1, 2],
    ['abc', 0xb3dd93fa, 1018, 0, 0],
    ['hello', 0x248bfa47, 2631, 1, 2],
    ['user:42', 0xc7a6a375, 885, 0, 0],
    ['ann@example.com', 0xfe8d3ff0, 4080, 2, 3],
    ['post-1', 0x15e72d17, 3351, 2, 3],
    ['018f3c2e-7b1a-7c3d-9e4f-0123456789ab', 0x05749919, 2329, 1, 2],
    ['héllo', 0xbc9fa068, 104, 0, 0],
    ['日本語', 0xa5a47297, 663, 0, 0],
    ['😀', 0xbeb42efa, 3834, 2, 3],
    ['00000000-0000-7000-8000-000000000000', 0x3b98fdbd, 3517, 2, 3],
    ['x'.repeat(255), 0xa86f33ac, 940, 0, 0],
  ];

  it('there are 4096 buckets', () => {
    expect(BUCKETS).toBe(4096);
  });

  it.each(PINNED)('%s → hash, bucket and shard are pinned', (id, hash, bucket, of3, of4) => {
    expect(murmur3(id)).toBe(hash);
    expect(bucketOf(id)).toBe(bucket);
    expect(shardOfBucket(bucket, 3)).toBe(of3);
    expect(shardOfBucket(bucket, 4)).toBe(of4);
    expect(new ShardByPrimaryKey(fakeShards(3)).shardOf({ id })).toBe(of3);
    expect(new ShardByPrimaryKey(fakeShards(4)).shardOf({ id })).toBe(of4);
  });

  // A column value's bucket places index rows (ShardByColumn): it must not change between releases either.
  it.each([
    ['null', null, 0],
    ['bytes [1, 2, 3]', new Uint8Array([1, 2, 3]), 516],
    ['Date(0)', new Date(0), 127],
    ['Date(1700000000000)', new Date(1_700_000_000_000), 3634],
    ['"ann"', 'ann', 3318],
    ['42', 42, 1078],
    ['-1.5', -1.5, 1543],
    ['10n', 10n, 2367],
    ['true', true, 3954],
  ] as const)('the bucket of the column value %s is pinned', (_, value, bucket) => {
    expect(bucketOfValue(value)).toBe(bucket);
  });

  it('bucket → shard: pinned boundaries for 3 and 4 shards', () => {
    expect([0, 1365, 1366, 2730, 2731, 4095].map((b) => shardOfBucket(b, 3))).toEqual([0, 0, 1, 1, 2, 2]);
    expect([0, 1023, 1024, 2047, 2048, 3071, 3072, 4095].map((b) => shardOfBucket(b, 4))).toEqual([
      0, 0, 1, 1, 2, 2, 3, 3,
    ]);
  });

  it('bucket → shard: contiguous, near-equal ranges covering every shard', () => {
    for (const count of [1, 2, 3, 4, 5, 7, 10, 64, 1000, 4096]) {
      const sizes = new Array<number>(count).fill(0);
      let previous = 0;
      for (let b = 0; b < BUCKETS; b++) {
        const s = shardOfBucket(b, count);
        expect(s === previous || s === previous + 1).toBe(true);
        previous = s;
        sizes[s]!++;
      }
      expect(shardOfBucket(0, count)).toBe(0);
      expect(shardOfBucket(BUCKETS - 1, count)).toBe(count - 1);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
  });

  it('10,000 uuidv7 ids spread evenly over 4 shards (each within ±10% of the mean)', () => {
    const strategy = new ShardByPrimaryKey(fakeShards(4));
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 10_000; i++) counts[strategy.shardOf({ id: uuidv7() })]!++;
    for (const n of counts) {
      expect(n).toBeGreaterThanOrEqual(2250);
      expect(n).toBeLessThanOrEqual(2750);
    }
  });
});

describe('ShardByPrimaryKey', () => {
  it('has a layout, frozen shards, and every shard for any predicate', () => {
    const shards = fakeShards(3);
    const s: ShardStrategy = new ShardByPrimaryKey(shards);
    expect(s.layout).toBe('primary-key:4096:3');
    expect(s.shards).toEqual(shards);
    expect(s.shards).not.toBe(shards);
    expect(Object.isFrozen(s.shards)).toBe(true);
    expect(s.shardsFor(undefined)).toEqual([0, 1, 2]);
    expect(s.shardsFor({ op: 'const', value: false })).toEqual([0, 1, 2]);
  });

  it('rejects an empty array, a duplicate shard, a non-shard', () => {
    const a = fakeShard('a');
    expectError(
      () => new ShardByPrimaryKey([]),
      ValidationError,
      'VALIDATION',
      'ShardByPrimaryKey',
      'non-empty array of shards',
    );
    expectError(
      () => new ShardByPrimaryKey('s' as never),
      ValidationError,
      'VALIDATION',
      'non-empty array of shards',
      '"s" (string)',
    );
    expectError(
      () => new ShardByPrimaryKey(undefined as never),
      ValidationError,
      'VALIDATION',
      'non-empty array',
    );
    expectError(
      () => new ShardByPrimaryKey([a, fakeShard('b'), a]),
      ValidationError,
      'VALIDATION',
      'shard 2 is the same shard as shard 0',
    );
    expectError(
      () => new ShardByPrimaryKey([a, {} as Shard]),
      ValidationError,
      'VALIDATION',
      'shard 1 is not a Shard (an object)',
    );
    expectError(
      () => new ShardByPrimaryKey([null as never]),
      ValidationError,
      'VALIDATION',
      'shard 0 is not a Shard (null)',
    );
    expectError(
      () => new ShardByPrimaryKey(['url' as never]),
      ValidationError,
      'VALIDATION',
      'shard 0 is not a Shard',
    );
    expectError(
      () => new ShardByPrimaryKey([{ queryIndex: 'no' } as never]),
      ValidationError,
      'VALIDATION',
      'shard 0 is not a Shard',
    );
    expectError(
      () => new ShardByPrimaryKey(fakeShards(4097)),
      ValidationError,
      'VALIDATION',
      'at most 4096 shards',
    );
    expect(new ShardByPrimaryKey(fakeShards(4096)).shards).toHaveLength(4096);
  });
});

describe('ShardByColumn', () => {
  const shards = fakeShards(4);
  const strategy = new ShardByColumn('author', shards);
  const ix = new Index('by_author', {
    columns: { author: text(), time: integer() },
    shard: strategy,
    mapper: () => [],
  });
  const { author, time } = ix.c;
  const ALL = [0, 1, 2, 3];
  const shardOfAuthor = (a: string) => strategy.shardOf({ id: 'any', row: { author: a, time: 0 } });
  const sorted = (xs: number[]) => [...new Set(xs)].sort((x, y) => x - y);

  // Authors that land on distinct shards, found deterministically.
  const names = Array.from({ length: 200 }, (_, i) => `author${i}`);
  const byShard = ALL.map((s) => names.find((n) => shardOfAuthor(n) === s)!);

  it('has a layout and reads one column', () => {
    expect(strategy.layout).toBe('column:author:4096:4');
    expect(strategy.columns).toEqual(['author']);
    expect(byShard.every((n) => typeof n === 'string')).toBe(true);
  });

  it('routes a row by the hash of its column value, ignoring the id', () => {
    expect(shardOfAuthor('ann')).toBe(shardOfBucket(bucketOfValue('ann'), 4));
    expect(strategy.shardOf({ id: 'x', row: { author: 'ann', time: 1 } })).toBe(
      strategy.shardOf({ id: 'y', row: { author: 'ann', time: 2 } }),
    );
  });

  it('eq pins one shard, the one its rows were written to (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary' }).filter((s) => !s.includes('\u0000')),
        (a) => {
          expect(strategy.shardsFor(author.eq(a))).toEqual([shardOfAuthor(a)]);
        },
      ),
    );
  });

  it('in pins the shards of its values; in([]) none', () => {
    expect(strategy.shardsFor(author.in([byShard[2]!, byShard[0]!, byShard[2]!]))).toEqual([0, 2]);
    expect(strategy.shardsFor(author.in(names))).toEqual(ALL);
    expect(strategy.shardsFor(author.in([]))).toEqual([]);
  });

  it('and: any conjunct that pins the column decides', () => {
    expect(strategy.shardsFor(and(author.eq(byShard[1]!), time.gt(5)))).toEqual([1]);
    expect(strategy.shardsFor(and(time.gt(5), author.in([byShard[3]!, byShard[1]!])))).toEqual([1, 3]);
    expect(strategy.shardsFor(and(time.gt(5), and(author.eq(byShard[2]!))))).toEqual([2]);
    expect(strategy.shardsFor(and(time.gt(5), time.lt(9)))).toEqual(ALL);
    expect(strategy.shardsFor(and())).toEqual(ALL);
  });

  it('or: the union when every branch pins the column, else all', () => {
    expect(strategy.shardsFor(or(author.eq(byShard[3]!), author.eq(byShard[0]!)))).toEqual([0, 3]);
    expect(strategy.shardsFor(or(author.eq(byShard[1]!), and(author.eq(byShard[1]!), time.eq(1))))).toEqual([
      1,
    ]);
    expect(strategy.shardsFor(or(author.eq(byShard[1]!), time.eq(1)))).toEqual(ALL);
    expect(strategy.shardsFor(or())).toEqual([]);
  });

  it('all shards when unsure: no predicate, other columns, other operators, not', () => {
    const a = byShard[1]!;
    for (const p of [
      undefined,
      time.eq(1),
      time.in([1, 2]),
      author.ne(a),
      author.gt(a),
      author.gte(a),
      author.lt(a),
      author.lte(a),
      author.between(a, a),
      author.startsWith(a),
      author.isNull(),
      not(author.eq(a)),
      not(not(author.eq(a))),
    ]) {
      expect(strategy.shardsFor(p)).toEqual(ALL);
    }
  });

  it('the pinned subset always contains the shard of every matching row (fast-check)', () => {
    const value = fc.constantFrom(...names.slice(0, 12));
    const leaf = fc.oneof(
      value.map((v) => author.eq(v)),
      fc.array(value, { maxLength: 3 }).map((vs) => author.in(vs)),
      fc.integer({ min: 0, max: 3 }).map((n) => time.gt(n)),
      value.map((v) => author.gt(v)),
    );
    const tree = predicateTree(leaf);
    fc.assert(
      fc.property(tree, value, fc.integer({ min: 0, max: 3 }), (where, a, t) => {
        const row = { author: a, time: t };
        const matches = evaluate(where as Predicate, (ref) => row[ref.name as 'author' | 'time']) === true;
        const chosen = strategy.shardsFor(where as never);
        expect(chosen).toEqual(sorted(chosen));
        if (matches) expect(chosen).toContain(shardOfAuthor(a));
      }),
      { numRuns: 2000 },
    );
  });

  it('shardOf needs the column in the row', () => {
    expectError(
      () => strategy.shardOf({ id: 'x' }),
      ValidationError,
      'VALIDATION',
      'ShardByColumn("author")',
      'no column "author"',
    );
    expectError(
      () => strategy.shardOf({ id: 'x', row: { time: 1 } }),
      ValidationError,
      'VALIDATION',
      'no column "author"',
    );
    const inherited = new ShardByColumn('constructor', shards);
    expectError(
      () => inherited.shardOf({ id: 'x', row: {} }),
      ValidationError,
      'VALIDATION',
      'no column "constructor"',
    );
  });

  it('works on non-text columns too', () => {
    const s = new ShardByColumn('n', fakeShards(3));
    const ixn = new Index('by_n', { columns: { n: integer() }, shard: s, mapper: () => [] });
    for (let n = -5; n < 50; n++)
      expect(s.shardsFor(ixn.c.n.eq(n))).toEqual([s.shardOf({ id: 'i', row: { n } })]);
  });

  it('rejects an empty array, a duplicate shard, a non-shard, a bad column name', () => {
    const a = fakeShard('a');
    expectError(
      () => new ShardByColumn('author', []),
      ValidationError,
      'VALIDATION',
      'ShardByColumn',
      'non-empty array of shards',
    );
    expectError(
      () => new ShardByColumn('author', [a, a]),
      ValidationError,
      'VALIDATION',
      'ShardByColumn',
      'shard 1 is the same shard as shard 0',
    );
    expectError(
      () => new ShardByColumn('author', [a, 5 as never]),
      ValidationError,
      'VALIDATION',
      'shard 1 is not a Shard (5 (number))',
    );
    expectError(
      () => new ShardByColumn('a-b', [a]),
      ValidationError,
      'VALIDATION',
      'Invalid column name "a-b"',
    );
    expectError(
      () => new ShardByColumn(7 as never, [a]),
      ValidationError,
      'VALIDATION',
      'Invalid column name 7',
    );
  });
});
