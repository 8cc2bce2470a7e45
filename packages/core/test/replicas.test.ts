import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  and,
  BUCKETS,
  Entity,
  Index,
  integer,
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
import { newer } from '../src/replicas.js';
import {
  checkStrategyReplicas,
  colocated,
  coveringPositions,
  replicaCount,
  replicaPositions,
  replicasOf,
  shardOfBucket,
} from '../src/shard-strategy.js';
import type { Commit, NoteRef, RecordRow } from '../src/types.js';
import { expectError, fakeShards, jsonSerializer, predicateTree } from './helpers.js';

/** Fails unless `fn` throws a ValidationError whose message is exactly `message`. */
function expectValidation(fn: () => unknown, message: string): void {
  const error = expectError(fn, ValidationError, 'VALIDATION');
  expect(error.message).toBe(message);
}

/** The preference list of an owner, written out independently of the implementation. */
function expectedList(owner: number, count: number, replicas: number): number[] {
  const out: number[] = [];
  for (let p = owner; out.length < replicas; p = p + 1 === count ? 0 : p + 1) out.push(p);
  return out;
}

describe('replica placement', () => {
  it('replicas: 1 (or no options) keeps the layouts and routing of today', () => {
    const shards = fakeShards(3);
    for (const options of [undefined, {}, { replicas: 1 }, { replicas: undefined }]) {
      const byId = new ShardByPrimaryKey(shards, options);
      const byColumn = new ShardByColumn('author', shards, options);
      expect(byId.replicas).toBe(1);
      expect(byColumn.replicas).toBe(1);
      expect(byId.layout).toBe('primary-key:4096:3');
      expect(byColumn.layout).toBe('column:author:4096:3');
      for (const id of ['a', 'abc', 'hello', 'user:42', uuidv7()]) {
        expect(byId.replicasOf({ id })).toEqual([byId.shardOf({ id })]);
        const row = { author: id };
        expect(byColumn.replicasOf({ id: 'x', row })).toEqual([byColumn.shardOf({ id: 'x', row })]);
      }
      expect(byId.shardsFor()).toEqual([0, 1, 2]);
      expect(colocated(byId, new ShardByPrimaryKey(shards))).toBe(true);
    }
  });

  it('more replicas: the layout says how many; the owner stays first and keeps today’s position', () => {
    const shards = fakeShards(4);
    const plain = new ShardByPrimaryKey(shards);
    const byId = new ShardByPrimaryKey(shards, { replicas: 2 });
    const byColumn = new ShardByColumn('author', shards, { replicas: 3 });
    expect(byId.layout).toBe('primary-key:4096:4:replicas=2');
    expect(byColumn.layout).toBe('column:author:4096:4:replicas=3');
    expect(byId.replicas).toBe(2);
    expect(byColumn.replicas).toBe(3);
    // Pinned: 'a' is in bucket 2482 (owner 2 of 4), 'ann@example.com' in 4080 (owner 3 of 4: wraps).
    expect(byId.replicasOf({ id: 'a' })).toEqual([2, 3]);
    expect(byId.replicasOf({ id: 'ann@example.com' })).toEqual([3, 0]);
    for (let i = 0; i < 500; i++) {
      const id = uuidv7();
      const owner = plain.shardOf({ id });
      expect(byId.shardOf({ id })).toBe(owner);
      expect(byId.replicasOf({ id })).toEqual(expectedList(owner, 4, 2));
      const row = { author: id };
      const columnOwner = byColumn.shardOf({ id: 'x', row });
      expect(columnOwner).toBe(new ShardByColumn('author', shards).shardOf({ id: 'x', row }));
      expect(byColumn.replicasOf({ id: 'x', row })).toEqual(expectedList(columnOwner, 4, 3));
    }
  });

  it('preference lists are distinct positions, owner first, wrapping around', () => {
    for (const count of [1, 2, 3, 5, 8, 64]) {
      for (const replicas of new Set([1, 2, Math.ceil(count / 2), count].filter((r) => r <= count))) {
        for (let owner = 0; owner < count; owner++) {
          const list = replicaPositions(owner, count, replicas);
          expect(list).toEqual(expectedList(owner, count, replicas));
          expect(new Set(list).size).toBe(replicas);
          expect(list.every((p) => Number.isInteger(p) && p >= 0 && p < count)).toBe(true);
        }
      }
    }
    expect(replicaPositions(2, 3, 3)).toEqual([2, 0, 1]);
  });

  // Exact counts over the 4096 buckets: each shard is first for ~1/n of them and holds ~R/n.
  const SPREAD: [count: number, replicas: number, first: number[], holds: number[]][] = [
    [3, 2, [1366, 1365, 1365], [2731, 2731, 2730]],
    [4, 2, [1024, 1024, 1024, 1024], [2048, 2048, 2048, 2048]],
    [5, 3, [820, 819, 819, 819, 819], [2458, 2458, 2458, 2457, 2457]],
    [7, 3, [586, 585, 585, 585, 585, 585, 585], [1756, 1756, 1756, 1755, 1755, 1755, 1755]],
    [3, 3, [1366, 1365, 1365], [4096, 4096, 4096]],
  ];

  it.each(SPREAD)(
    '%i shards, %i replicas: buckets first and held per shard',
    (count, replicas, first, holds) => {
      const firsts = new Array<number>(count).fill(0);
      const held = new Array<number>(count).fill(0);
      for (let bucket = 0; bucket < BUCKETS; bucket++) {
        const list = replicaPositions(shardOfBucket(bucket, count), count, replicas);
        firsts[list[0]!]!++;
        for (const p of list) held[p]!++;
      }
      expect(firsts).toEqual(first);
      expect(held).toEqual(holds);
      expect(held.reduce((a, b) => a + b, 0)).toBe(BUCKETS * replicas);
    },
  );

  it('10,000 uuidv7 ids over 5 shards with 2 replicas: each shard first for and holding within ±10% of even', () => {
    const strategy = new ShardByPrimaryKey(fakeShards(5), { replicas: 2 });
    const first = new Array<number>(5).fill(0);
    const held = new Array<number>(5).fill(0);
    for (let i = 0; i < 10_000; i++) {
      const list = strategy.replicasOf({ id: uuidv7() });
      first[list[0]!]!++;
      for (const p of list) held[p]!++;
    }
    for (const n of first) expect(Math.abs(n - 2000)).toBeLessThanOrEqual(200);
    for (const n of held) expect(Math.abs(n - 4000)).toBeLessThanOrEqual(400);
  });

  it('refuses a replicas that is not an integer from 1 to the number of shards, and options that are not an object', () => {
    const shards = fakeShards(3);
    const cases: [unknown, string][] = [
      [0, '0 (number)'],
      [-1, '-1 (number)'],
      [1.5, '1.5 (number)'],
      [4, '4 (number)'],
      [Number.NaN, 'NaN (number)'],
      ['2', '"2" (string)'],
      [null, 'null'],
    ];
    for (const [replicas, shown] of cases) {
      expectValidation(
        () => new ShardByPrimaryKey(shards, { replicas: replicas as number }),
        `ShardByPrimaryKey: replicas must be an integer from 1 to the number of shards (3), got ${shown}`,
      );
      expectValidation(
        () => new ShardByColumn('author', shards, { replicas: replicas as number }),
        `ShardByColumn: replicas must be an integer from 1 to the number of shards (3), got ${shown}`,
      );
    }
    expectValidation(
      () => new ShardByPrimaryKey(shards, 2 as never),
      'ShardByPrimaryKey: options must be an object ({ replicas }), got 2 (number)',
    );
    expectValidation(
      () => new ShardByColumn('author', shards, null as never),
      'ShardByColumn: options must be an object ({ replicas }), got null',
    );
    expect(new ShardByPrimaryKey(shards, { replicas: 3 }).replicas).toBe(3);
  });

  it('ShardByColumn.shardsFor: every replica of the buckets a predicate pins, ascending; all when unsure', () => {
    const shards = fakeShards(5);
    const strategy = new ShardByColumn('author', shards, { replicas: 2 });
    const ix = new Index('by_author_r', {
      columns: { author: text(), time: integer() },
      shard: new ShardByColumn('author', shards),
      mapper: () => [],
    });
    const { author, time } = ix.c;
    const ownerOf = (a: string) => strategy.shardOf({ id: 'x', row: { author: a } });
    const names = Array.from({ length: 200 }, (_, i) => `author${i}`);
    const onOwner = [0, 1, 2, 3, 4].map((s) => names.find((n) => ownerOf(n) === s)!);
    expect(strategy.shardsFor(author.eq(onOwner[1]!))).toEqual([1, 2]);
    expect(strategy.shardsFor(author.eq(onOwner[4]!))).toEqual([0, 4]);
    expect(strategy.shardsFor(author.in([onOwner[4]!, onOwner[1]!]))).toEqual([0, 1, 2, 4]);
    expect(strategy.shardsFor(author.in([]))).toEqual([]);
    expect(strategy.shardsFor(and(time.gt(1), author.eq(onOwner[2]!)))).toEqual([2, 3]);
    expect(strategy.shardsFor(time.gt(1))).toEqual([0, 1, 2, 3, 4]);
    expect(strategy.shardsFor(undefined)).toEqual([0, 1, 2, 3, 4]);
    expect(strategy.ownersFor(author.in([onOwner[4]!, onOwner[1]!]))).toEqual([1, 4]);

    // Every replica of a matching row is among the positions chosen (fast-check).
    const value = fc.constantFrom(...names.slice(0, 12));
    const leaf = fc.oneof(
      value.map((v) => author.eq(v)),
      fc.array(value, { maxLength: 3 }).map((vs) => author.in(vs)),
      fc.integer({ min: 0, max: 3 }).map((n) => time.gt(n)),
    );
    const tree = predicateTree(leaf);
    fc.assert(
      fc.property(tree, value, fc.integer({ min: 0, max: 3 }), (where, a, t) => {
        const row = { author: a, time: t };
        const matches = evaluate(where as Predicate, (ref) => row[ref.name as 'author' | 'time']) === true;
        const chosen = strategy.shardsFor(where as Predicate);
        expect(chosen).toEqual([...new Set(chosen)].sort((x, y) => x - y));
        if (matches) for (const p of strategy.replicasOf({ id: 'x', row })) expect(chosen).toContain(p);
      }),
      { numRuns: 500 },
    );
  });

  it('colocated only with the same shards and order, and never over replicas', () => {
    const shards = fakeShards(3);
    const two = new ShardByPrimaryKey(shards, { replicas: 2 });
    expect(colocated(new ShardByPrimaryKey(shards), new ShardByPrimaryKey(shards, { replicas: 1 }))).toBe(
      true,
    );
    expect(colocated(two, new ShardByPrimaryKey(shards, { replicas: 2 }))).toBe(false);
    expect(colocated(two, two)).toBe(false);
    expect(colocated(two, new ShardByPrimaryKey(shards))).toBe(false);
    expect(colocated(new ShardByPrimaryKey(shards), two)).toBe(false);
    expect(colocated(two, new ShardByPrimaryKey([shards[1]!, shards[0]!, shards[2]!], { replicas: 2 }))).toBe(
      false,
    );
    expect(colocated(two, new ShardByColumn('a', shards, { replicas: 2 }))).toBe(false);
  });

  it('a custom strategy without replicas has one: its shardOf', () => {
    const shards = fakeShards(2);
    const custom: ShardStrategy = { shards, layout: 'custom', shardOf: () => 1, shardsFor: () => [0, 1] };
    expect(replicaCount(custom)).toBe(1);
    expect(replicasOf(custom, { id: 'x' })).toEqual([1]);
    expect(replicaCount(new ShardByPrimaryKey(shards, { replicas: 2 }))).toBe(2);
    expect(replicasOf(new ShardByPrimaryKey(shards, { replicas: 2 }), { id: 'a' })).toEqual([1, 0]);
  });
});

describe('coveringPositions', () => {
  const up = () => true;
  const downAt =
    (...down: number[]) =>
    (p: number) =>
      !down.includes(p);

  it('every shard up: each owner range from its owner, as shardsFor with one shard per key', () => {
    for (const replicas of [1, 2, 3]) {
      const strategy = new ShardByPrimaryKey(fakeShards(4), { replicas });
      expect(coveringPositions(strategy, undefined, up)).toEqual([
        { position: 0, ranges: [0] },
        { position: 1, ranges: [1] },
        { position: 2, ranges: [2] },
        { position: 3, ranges: [3] },
      ]);
    }
  });

  it('a range whose owner is down is read from its next replica that is up', () => {
    const two = new ShardByPrimaryKey(fakeShards(4), { replicas: 2 });
    expect(coveringPositions(two, undefined, downAt(1))).toEqual([
      { position: 0, ranges: [0] },
      { position: 2, ranges: [1, 2] },
      { position: 3, ranges: [3] },
    ]);
    expect(coveringPositions(two, undefined, downAt(3))).toEqual([
      { position: 0, ranges: [0, 3] },
      { position: 1, ranges: [1] },
      { position: 2, ranges: [2] },
    ]);
    const three = new ShardByPrimaryKey(fakeShards(4), { replicas: 3 });
    expect(coveringPositions(three, undefined, downAt(1, 2))).toEqual([
      { position: 0, ranges: [0] },
      { position: 3, ranges: [1, 2, 3] },
    ]);
  });

  it('no replica of a range up: its owner is chosen (the read there fails as unavailable)', () => {
    const two = new ShardByPrimaryKey(fakeShards(4), { replicas: 2 });
    expect(coveringPositions(two, undefined, downAt(1, 2))).toEqual([
      { position: 0, ranges: [0] },
      { position: 1, ranges: [1] },
      { position: 3, ranges: [2, 3] },
    ]);
    const one = new ShardByPrimaryKey(fakeShards(2));
    expect(coveringPositions(one, undefined, () => false)).toEqual([
      { position: 0, ranges: [0] },
      { position: 1, ranges: [1] },
    ]);
  });

  it('ShardByColumn: only the ranges a predicate pins', () => {
    const shards = fakeShards(4);
    const strategy = new ShardByColumn('author', shards, { replicas: 2 });
    const ix = new Index('by_author_c', { columns: { author: text() }, shard: shards, mapper: () => [] });
    const names = Array.from({ length: 200 }, (_, i) => `author${i}`);
    const onOwner = (s: number) =>
      names.find((n) => strategy.shardOf({ id: 'x', row: { author: n } }) === s)!;
    expect(coveringPositions(strategy, ix.c.author.eq(onOwner(2)), up)).toEqual([
      { position: 2, ranges: [2] },
    ]);
    expect(coveringPositions(strategy, ix.c.author.eq(onOwner(2)), downAt(2))).toEqual([
      { position: 3, ranges: [2] },
    ]);
    expect(coveringPositions(strategy, ix.c.author.in([onOwner(3), onOwner(0)]), downAt(0))).toEqual([
      { position: 1, ranges: [0] },
      { position: 3, ranges: [3] },
    ]);
    expect(coveringPositions(strategy, ix.c.author.in([onOwner(3), onOwner(2)]), downAt(3))).toEqual([
      { position: 0, ranges: [3] },
      { position: 2, ranges: [2] },
    ]);
    expect(coveringPositions(strategy, ix.c.author.in([]), up)).toEqual([]);
  });

  it('a custom strategy with one shard per key: its shardsFor', () => {
    const shards = fakeShards(3);
    const custom: ShardStrategy = { shards, layout: 'custom', shardOf: () => 0, shardsFor: () => [0, 2] };
    expect(coveringPositions(custom, undefined, downAt(2))).toEqual([
      { position: 0, ranges: [0] },
      { position: 2, ranges: [2] },
    ]);
  });

  it('any shards down: each range is read once, from an up replica whenever it has one (fast-check)', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 9 })
          .chain((count) =>
            fc.tuple(
              fc.constant(count),
              fc.integer({ min: 1, max: count }),
              fc.array(fc.boolean(), { minLength: count, maxLength: count }),
            ),
          ),
        ([count, replicas, isUp]) => {
          const plan = coveringPositions(
            new ShardByPrimaryKey(fakeShards(count), { replicas }),
            undefined,
            (p) => isUp[p]!,
          );
          const ranges = plan.flatMap((read) => read.ranges).sort((a, b) => a - b);
          expect(ranges).toEqual(Array.from({ length: count }, (_, i) => i));
          expect(plan.map((read) => read.position)).toEqual(
            [...new Set(plan.map((read) => read.position))].sort((a, b) => a - b),
          );
          for (const { position, ranges: served } of plan) {
            for (const range of served) {
              const list = expectedList(range, count, replicas);
              const firstUp = list.find((p) => isUp[p]);
              expect(position).toBe(firstUp ?? range);
            }
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('entities and indices over replicas', () => {
  const shards = fakeShards(3);

  it('an Entity and an Index over strategies with 2 and 3 replicas are accepted', () => {
    const byAuthor = new Index('by_author', {
      columns: { author: text() },
      shard: new ShardByColumn('author', shards, { replicas: 3 }),
      mapper: () => [],
    });
    const blog = new Entity('blog', {
      shards: new ShardByPrimaryKey(shards, { replicas: 2 }),
      serializer: jsonSerializer,
      indices: [byAuthor],
    });
    expect(blog.strategy.replicas).toBe(2);
    expect(byAuthor.strategy.replicas).toBe(3);
  });

  it('writeQuorum is an integer from 1 to the replicas, or all; consistency one or all (ValidationError)', async () => {
    const strategy = new ShardByPrimaryKey(shards, { replicas: 2 });
    for (const [quorum, shown] of [
      [0, '0 (number)'],
      [3, '3 (number)'],
      [1.5, '1.5 (number)'],
      ['2', '"2" (string)'],
    ] as const) {
      expectValidation(
        () =>
          new Entity('blog', { shards: strategy, serializer: jsonSerializer, writeQuorum: quorum as never }),
        `Entity "blog": writeQuorum must be 'all' or an integer from 1 to the number of replicas (2), got ${shown}`,
      );
    }
    expect(new Entity('blog', { shards: strategy, serializer: jsonSerializer }).writeQuorum).toBe(1);
    for (const quorum of [1, 2] as const) {
      expect(
        new Entity('blog', { shards: strategy, serializer: jsonSerializer, writeQuorum: quorum }).writeQuorum,
      ).toBe(quorum);
    }
    expect(
      new Entity('blog', { shards: strategy, serializer: jsonSerializer, writeQuorum: 'all' }).writeQuorum,
    ).toBe('all');
    const blog = new Entity<{ a: number }>('blog', {
      shards: strategy,
      serializer: jsonSerializer,
      writeQuorum: 2,
    });
    await expect(blog.save(blog.new({ a: 1 }), { writeQuorum: 3 })).rejects.toThrow(
      "blog.save(): writeQuorum must be 'all' or an integer from 1 to the number of replicas (2), got 3 (number)",
    );
    await expect(blog.get('x', { consistency: 'most' as never })).rejects.toThrow(
      `blog.get(): consistency must be 'one' or 'all', got "most" (string)`,
    );
    await expect(blog.getMany(['x'], { consistency: 2 as never })).rejects.toThrow(
      `blog.getMany(): consistency must be 'one' or 'all', got 2 (number)`,
    );
  });

  it('a custom strategy with a replicas that is not an integer from 1 to its number of shards is a ValidationError', () => {
    const custom = (replicas: unknown): ShardStrategy =>
      ({ shards, layout: 'custom', replicas, shardOf: () => 0, shardsFor: () => [0] }) as ShardStrategy;
    for (const [replicas, shown] of [
      [0, '0 (number)'],
      [4, '4 (number)'],
      ['1', '"1" (string)'],
    ] as const) {
      expectValidation(
        () => new Entity('e', { shards: custom(replicas), serializer: jsonSerializer }),
        `Entity "e": the shard strategy's replicas must be an integer from 1 to the number of shards (3), got ${shown}`,
      );
    }
    expect(() => checkStrategyReplicas('Index "i"', custom(2))).not.toThrow();
  });

  it('replicas: 1, given or not, and custom strategies without replicas are accepted', () => {
    const strategies: ShardStrategy[] = [
      new ShardByPrimaryKey(shards, { replicas: 1 }),
      { shards, layout: 'custom', shardOf: () => 0, shardsFor: () => [0] },
      { shards, layout: 'custom', replicas: 1, shardOf: () => 0, shardsFor: () => [0] },
    ];
    for (const strategy of strategies) {
      expect(new Entity('e', { shards: strategy, serializer: jsonSerializer }).strategy).toBe(strategy);
      expect(new Index('i', { columns: { a: integer() }, shard: strategy, mapper: () => [] }).strategy).toBe(
        strategy,
      );
    }
    const records = new ShardByPrimaryKey(shards, { replicas: 1 });
    expect(new Entity('e', { shards, serializer: jsonSerializer }).strategy.layout).toBe(records.layout);
  });
});

/**
 * A shard in memory that logs every call it gets, with its arguments: two
 * entities given the same calls log the same lines exactly when they store
 * (and ask for) exactly the same.
 */
function recordingShard(name: string, log: unknown[]): Shard {
  const meta = new Map<string, string>();
  const records = new Map<string, RecordRow>();
  const call = (method: string, ...args: unknown[]) =>
    log.push(
      JSON.parse(JSON.stringify([name, method, ...args], (_, v) => (v instanceof Uint8Array ? [...v] : v))),
    );
  const unused = (method: string) => async () => {
    throw new Error(`recording shard: ${method} is not used by this test`);
  };
  return {
    name,
    limits: { maxParameters: 1000 },
    createTables: async (tables: unknown) => void call('createTables', tables),
    dropTables: unused('dropTables'),
    readMeta: async (keys: readonly string[]) => {
      call('readMeta', keys);
      return new Map(keys.filter((k) => meta.has(k)).map((k) => [k, meta.get(k)!] as [string, string]));
    },
    writeMeta: async (key: string, value: string) => {
      call('writeMeta', key, value);
      if (!meta.has(key)) meta.set(key, value);
      return meta.get(key)!;
    },
    replaceMeta: async (key: string, expected: string, value: string) => {
      call('replaceMeta', key, expected, value);
      if (meta.get(key) !== expected) return false;
      meta.set(key, value);
      return true;
    },
    getRecords: async (table: { name: string }, ids: readonly string[]) => {
      call('getRecords', table.name, ids);
      return ids.flatMap((id) => (records.has(id) ? [records.get(id)!] : []));
    },
    commit: async (work: Commit) => {
      call('commit', work);
      return work.writes.map(({ row, expected }) => {
        const current = records.get(row.id);
        const ok =
          expected === 'older'
            ? !current || current.version < row.version
            : (current?.version ?? 0) === expected;
        if (ok) records.set(row.id, row);
        return ok;
      });
    },
    clearNotes: async (table: { name: string }, notes: readonly NoteRef[]) => {
      call('clearNotes', table.name, notes);
      return notes.map(({ id, version }) => {
        const row = records.get(id);
        if (row?.version !== version) return false;
        records.set(id, { ...row, note: null });
        return true;
      });
    },
    putIndexRows: async (table: { name: string }, rows: unknown) =>
      void call('putIndexRows', table.name, rows),
    deleteIndexRows: async (table: { name: string }, rows: unknown) =>
      void call('deleteIndexRows', table.name, rows),
    scanRecords: unused('scanRecords'),
    getHistory: unused('getHistory'),
    queryIndex: unused('queryIndex'),
    countIndex: unused('countIndex'),
    countRows: unused('countRows'),
    close: async () => {},
  } as unknown as Shard;
}

describe('replicas: 1 stores exactly what it stores without replicas', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  type Doc = { author: string; n: number };

  /** The calls the shards get from one entity's create, saves, updates, deletes and reads. */
  async function calls(replicas: { replicas: 1 } | undefined): Promise<unknown[]> {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-01-02T03:04:05Z'));
    const log: unknown[] = [];
    const shards = [0, 1, 2].map((i) => recordingShard(`s${i}`, log));
    const indexShards = [0, 1].map((i) => recordingShard(`i${i}`, log));
    const byN = new Index<Doc>('same_n', {
      columns: { n: integer() },
      shard: replicas ? new ShardByPrimaryKey(shards, replicas) : shards, // beside the records
      mapper: (d) => [{ n: d.value.n }],
    });
    const byAuthor = new Index<Doc>('same_author', {
      columns: { author: text() },
      shard: new ShardByColumn('author', indexShards, replicas), // on other shards: notes
      mapper: (d) => [{ author: d.value.author }],
    });
    const docs = new Entity<Doc>('same', {
      shards: replicas ? new ShardByPrimaryKey(shards, replicas) : shards,
      indices: [byN, byAuthor],
      serializer: jsonSerializer,
    });
    await docs.create();
    const records = await docs.saveMany(
      ['a', 'b', 'c', 'd', 'e', 'f'].map((id, i) => docs.new({ author: `au${i % 3}`, n: i }, { id })),
    );
    vi.setSystemTime(new Date('2026-01-02T03:04:06Z'));
    records[0]!.value = { author: 'au9', n: 10 };
    await docs.save(records[0]!);
    await docs.update('b', (v) => ({ ...v, n: v.n + 100 }));
    expect(await docs.delete('c')).toBe(true);
    await docs.save(docs.new({ author: 'au1', n: 7 }, { id: 'c' })); // after its tombstone
    expect((await docs.getMany(['a', 'b', 'c', 'zz'])).map((d) => d?.version)).toEqual([2, 2, 3, undefined]);
    expect((await docs.get('d'))?.value).toEqual({ author: 'au0', n: 3 });
    await docs.drain().catch(() => {}); // scans: not recorded by these shards
    return log;
  }

  it('the same statements, rows, notes and metadata, call by call, given { replicas: 1 } or not', async () => {
    const plain = await calls(undefined);
    const one = await calls({ replicas: 1 });
    expect(plain.length).toBeGreaterThan(20);
    expect(one).toEqual(plain);
    // Index rows beside the records are committed with them, as without replication; no note lists copies.
    const commits = plain.filter((c) => (c as unknown[])[1] === 'commit') as [string, string, Commit][];
    expect(commits.some(([, , work]) => (work.put ?? []).some((p) => p.table.name === 'same_n'))).toBe(true);
    for (const [, , work] of commits) {
      for (const { row, expected } of work.writes) {
        expect(expected).not.toBe('older');
        expect(row.note ?? '').not.toMatch(/"c":/);
      }
    }
  });
});

describe('the conflict rule of replicas (newer)', () => {
  const row = (version: number, updatedAt: number, body: string | Uint8Array): RecordRow => ({
    id: 'r',
    version,
    codec: typeof body === 'string' ? 'json' : 'msgpack',
    body,
    createdAt: 0,
    updatedAt,
  });
  /** `a` wins over `b`, and `b` does not win over `a`. */
  const wins = (a: RecordRow, b: RecordRow) => {
    expect(newer(a, b)).toBe(true);
    expect(newer(b, a)).toBe(false);
  };

  it('the higher version wins, whatever the times and bodies', () => {
    wins(row(3, 1, 'a'), row(2, 9, 'z'));
    wins(row(10, 1, 'a'), row(9, 1, 'b')); // numbers, not text: 10 > 9
  });

  it('at one version, the later update time wins, whatever the bodies', () => {
    wins(row(2, 20, 'a'), row(2, 10, 'z'));
  });

  it('at one version and time, the greater body wins: text by code unit, bytes by byte then length, text before bytes', () => {
    wins(row(2, 10, 'b'), row(2, 10, 'a'));
    wins(row(2, 10, 'ab'), row(2, 10, 'a'));
    wins(row(2, 10, new Uint8Array([0])), row(2, 10, 'zzz'));
    wins(row(2, 10, new Uint8Array([1, 2])), row(2, 10, new Uint8Array([1, 1, 9])));
    wins(row(2, 10, new Uint8Array([1, 2, 0])), row(2, 10, new Uint8Array([1, 2])));
    wins(row(2, 10, new Uint8Array([200])), row(2, 10, new Uint8Array([100])));
  });

  it('a row does not win over an equal one', () => {
    expect(newer(row(2, 10, 'a'), row(2, 10, 'a'))).toBe(false);
    expect(newer(row(2, 10, new Uint8Array([1])), row(2, 10, new Uint8Array([1])))).toBe(false);
  });
});

describe('verifyReplicas and repairReplicas options', () => {
  it('refuses an after that is not an id and an onProgress that is not a function, before any shard call', async () => {
    const posts = new Entity<{ n: number }>('posts', {
      shards: new ShardByPrimaryKey(fakeShards(3), { replicas: 2 }),
      serializer: jsonSerializer,
    });
    const after = await posts.verifyReplicas({ after: 5 as never }).catch((e) => e);
    expect(after).toBeInstanceOf(ValidationError);
    expect(after.message).toBe(
      'posts.verifyReplicas(): after must be a record id (a string), got 5 (number)',
    );
    const progress = await posts.repairReplicas({ onProgress: 'log' as never }).catch((e) => e);
    expect(progress).toBeInstanceOf(ValidationError);
    expect(progress.message).toBe(
      'posts.repairReplicas(): onProgress must be a function, got "log" (string)',
    );
    const batch = await posts.verifyReplicas({ batchSize: 0 }).catch((e) => e);
    expect(batch).toBeInstanceOf(ValidationError);
    expect(batch.message).toContain('posts.verifyReplicas(): batchSize');
  });
});
