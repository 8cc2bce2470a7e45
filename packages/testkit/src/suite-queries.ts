import {
  and,
  type Doc,
  Entity,
  Index,
  integer,
  type OrderTerm,
  ShardByPrimaryKey,
  ValidationError,
} from '@waffle/core';
import { forEachColumn } from '@waffle/core/adapter';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { orderArbitrary, predicateArbitrary } from './arbitraries.js';
import { blog, blogFixtures, type Post, post } from './fixtures.js';
import { type ConformanceOptions, uniqueName } from './options.js';
import { bruteForce } from './oracle.js';

const titles = ['', 'a', 'A', 'ab', 'a%', 'a_', 'é', '𝒳', 'b', 'z'];
const tags = ['x', 'y', 'z', 'x_', 'X', 'é'];

/** A random post from a seeded generator, over small domains so predicates match often. */
function randomPost(random: () => number): Post {
  const pick = <V>(values: readonly V[]) => values[Math.floor(random() * values.length)]!;
  return post({
    title: pick(titles),
    group: Math.floor(random() * 10) - 2,
    score: random() < 0.2 ? null : pick([-1.5, 0, 0.25, 2, 1e300]),
    tags: Array.from({ length: Math.floor(random() * 4) }, () => pick(tags)),
    rank: Math.floor(random() * 20),
  });
}

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Queries: correctness against brute force, pagination, multi-valued rows, stale rows, query errors. */
export function querySuite(options: ConformanceOptions): void {
  const { open, blogOn } = blogFixtures(options);
  const scale = options.scale ?? 1;

  describe('queries', () => {
    // Mutants: an index over as many shards as the records, but other ones, taken as co-located (read with a JOIN).
    it('an index spread by record id over as many shards as the records, but other databases, is not co-located: queries fetch its records', async () => {
      const [a, b, c, d] = await open(4);
      const byRank = new Index<Post>(uniqueName('by_rank'), {
        columns: { rank: integer() },
        shard: new ShardByPrimaryKey([c!, d!]),
        mapper: (p) => [{ rank: p.value.rank }],
      });
      const posts = new Entity<Post>(uniqueName('apart'), {
        shards: [a!, b!],
        indices: [byRank],
        serializer: options.serializer,
      });
      await posts.create();
      const records = await posts.saveMany(
        Array.from({ length: 20 }, (_, i) => posts.new(post({ rank: i }))),
      );
      const where = byRank.c.rank.gte(5);
      const orderBy = [byRank.c.rank.desc()];
      expect((await posts.select(where, { orderBy, limit: 10 })).map((r) => r.id)).toEqual(
        bruteForce(records, byRank, where, orderBy, 10),
      );
      expect(await posts.count(where)).toBe(15);
    });

    it('random predicates, orders and limits return exactly what brute force returns', async () => {
      const { posts, byGroup, byTag } = await blogOn(3);
      await posts.create();
      const random = seeded(20091);
      const records: Doc<Post>[] = Array.from({ length: Math.round(1000 * scale) }, () =>
        posts.new(randomPost(random)),
      );
      await posts.saveMany(records);
      let nonEmpty = 0;
      const property = (index: typeof byGroup | typeof byTag, columns: { ref: any }[]) =>
        fc.asyncProperty(
          predicateArbitrary(columns),
          orderArbitrary(columns.map((c) => c.ref)),
          fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined }),
          async (where, orderBy, limit) => {
            // A query names its index through its columns: `and()` alone names none.
            let columns = orderBy.length;
            forEachColumn(where, () => columns++);
            fc.pre(columns > 0);
            const expected = bruteForce(records, index, where, orderBy as OrderTerm[], limit);
            const got = await posts.select(where, { orderBy, limit });
            expect(got.map((r) => r.id)).toEqual(expected);
            if (expected.length > 0) nonEmpty++;
          },
        );
      const runs = Math.max(20, Math.round(150 * scale));
      await fc.assert(
        property(byGroup, [{ ref: byGroup.c.group }, { ref: byGroup.c.title }, { ref: byGroup.c.score }]),
        { numRuns: runs, seed: 7 },
      );
      await fc.assert(property(byTag, [{ ref: byTag.c.tag }, { ref: byTag.c.rank }]), {
        numRuns: runs,
        seed: 8,
      });
      expect(nonEmpty).toBeGreaterThan(runs / 2); // the predicates are not trivially empty
    });

    it('pages with `after` return every match exactly once, in order', async () => {
      const { posts, byGroup, byTag } = await blogOn(3);
      await posts.create();
      const random = seeded(7);
      const records = Array.from({ length: Math.round(300 * scale) }, () => posts.new(randomPost(random)));
      await posts.saveMany(records);
      const cases = [
        { index: byTag, where: byTag.c.tag.in(['x', 'y', 'é']), orderBy: [byTag.c.rank.desc()] },
        { index: byTag, where: byTag.c.rank.gte(3), orderBy: [] },
        {
          index: byGroup,
          where: byGroup.c.group.between(0, 5),
          orderBy: [byGroup.c.score.asc(), byGroup.c.title.desc()],
        },
        { index: byGroup, where: byGroup.c.title.startsWith('a'), orderBy: [byGroup.c.score.desc()] },
      ];
      for (const { index, where, orderBy } of cases) {
        const expected = bruteForce(records, index, where, orderBy);
        expect(expected.length).toBeGreaterThan(10);
        for (const size of [1, 7, 50]) {
          const seen: string[] = [];
          let after: string | undefined;
          for (let pages = 0; pages < 1000; pages++) {
            const page = await posts.select(where, { orderBy, limit: size, after }).page();
            seen.push(...page.records.map((r) => r.id));
            if (!page.next) break;
            expect(page.records).toHaveLength(size);
            after = page.next;
          }
          expect(seen).toEqual(expected);
        }
        const streamed: string[] = [];
        for await (const r of posts.select(where, { orderBy })) streamed.push(r.id);
        expect(streamed).toEqual(expected);
      }
    });

    it('multi-valued and empty mappers: a record matching through two rows appears once', async () => {
      const { posts, byTag } = await blogOn(3);
      await posts.create();
      const both = await posts.save(posts.new(post({ tags: ['x', 'y', 'x'], rank: 1 })));
      const none = await posts.save(posts.new(post({ tags: [], rank: 1 })));
      const one = await posts.save(posts.new(post({ tags: ['y'], rank: 2 })));
      const got = await posts.select(byTag.c.tag.in(['x', 'y']), { orderBy: byTag.c.tag.asc() });
      expect(got.map((r) => r.id)).toEqual([both.id, one.id]);
      expect(await posts.count(byTag.c.rank.gte(0))).toBe(2);
      expect((await posts.select(byTag.c.rank.eq(1))).map((r) => r.id)).toEqual([both.id]);
      expect(none.version).toBe(1);
      both.value.tags = ['z'];
      await posts.save(both);
      expect((await posts.select(byTag.c.tag.in(['x', 'y']))).map((r) => r.id)).toEqual([one.id]);
      expect((await posts.select(byTag.c.tag.eq('z'))).map((r) => r.id)).toEqual([both.id]);
    });

    it('count counts the index rows in SQL, each record once; { verify: true } checks each match', async () => {
      const { posts, byGroup, byTag } = await blogOn(2);
      await posts.create();
      const saved = await posts.saveMany(
        Array.from({ length: 30 }, (_, i) =>
          posts.new(post({ group: i % 3, tags: i % 2 ? ['x', 'y'] : ['z'] })),
        ),
      );
      const where = byGroup.c.group.eq(1);
      expect(await posts.count(where)).toBe(10);
      expect(await posts.count(where, { verify: true })).toBe(10);
      // A record with rows on two tag shards counts once.
      expect(await posts.count(byTag.c.tag.in(['x', 'y']))).toBe(15);
      expect(await posts.count(byTag.c.rank.gte(0))).toBe(30);
      // An orphan row (a write in flight, or a crash before drain) counts until it is cleaned; verified, it does not.
      const ghost = 'ghost-record';
      const shard = byGroup.strategy.shards[byGroup.strategy.shardOf({ id: ghost })]!;
      await shard.putIndexRows(byGroup.table, [{ id: ghost, values: [1, 't', null], version: 1 }]);
      expect(await posts.count(where)).toBe(11);
      expect(await posts.count(where, { verify: true })).toBe(10);
      await posts.delete(saved[1]!.id);
      expect(await posts.count(where)).toBe(10);
      for (const [options, message] of [
        [null, 'options must be an object, got null'],
        [{ verify: 'yes' }, 'verify must be true or false, got "yes" (string)'],
      ] as const) {
        const error = (() => {
          try {
            posts.count(where, options as never);
          } catch (e) {
            return e;
          }
        })();
        expect(error).toBeInstanceOf(ValidationError);
        expect((error as Error).message).toBe(`${posts.name}.count(): ${message}`);
      }
    });

    it('a stale index row never yields a record that does not match', async () => {
      const { posts, byTag, byGroup } = await blogOn(2);
      await posts.create();
      const p = await posts.save(posts.new(post({ tags: ['real'], group: 1 })));
      // Rows the record's value does not produce, written behind waffle's back.
      const tagShard =
        byTag.strategy.shards[byTag.strategy.shardOf({ id: p.id, row: { tag: 'fake', rank: 0 } })]!;
      await tagShard.putIndexRows(byTag.table, [{ id: p.id, values: ['fake', 0], version: 1 }]);
      await tagShard.putIndexRows(byTag.table, [{ id: 'no-such-record', values: ['fake', 0], version: 1 }]);
      const groupShard = byGroup.strategy.shards[byGroup.strategy.shardOf({ id: p.id })]!;
      await groupShard.putIndexRows(byGroup.table, [{ id: p.id, values: [99, 't', null], version: 1 }]);
      expect(await posts.select(byTag.c.tag.eq('fake'))).toEqual([]);
      expect(await posts.select(byGroup.c.group.eq(99))).toEqual([]);
      // The stale row sorts first, but the record is returned once, at its real row.
      const all = await posts.select(byGroup.c.group.gte(0), { orderBy: byGroup.c.group.desc() });
      expect(all.map((r) => r.id)).toEqual([p.id]);
      const page = await posts.select(byTag.c.rank.eq(0), { limit: 1 }).page();
      expect(page.records.map((r) => r.id)).toEqual([p.id]);
      expect(page.next).toBeUndefined();
    });

    it('read-repair deletes the stale rows a query meets, but not rows a writer may still commit', async () => {
      const { posts, byTag } = await blogOn(2);
      await posts.create();
      const p = await posts.save(posts.new(post({ tags: ['real'] })));
      const shardOf = (tag: string) =>
        byTag.strategy.shards[byTag.strategy.shardOf({ id: p.id, row: { tag, rank: 0 } })]!;
      const rows = async (tag: string) =>
        (
          await shardOf(tag).queryIndex(byTag.table, {
            where: byTag.c.tag.eq(tag),
            orderBy: [{ column: '__id', direction: 'asc' }],
            limit: 10,
          })
        ).map((r) => `${r.id}@${r.version}`);
      await shardOf('stale').putIndexRows(byTag.table, [{ id: p.id, values: ['stale', 0], version: 1 }]);
      await shardOf('inflight').putIndexRows(byTag.table, [
        { id: p.id, values: ['inflight', 0], version: 2 },
      ]);
      await shardOf('stale').putIndexRows(byTag.table, [{ id: 'not-yet', values: ['stale', 0], version: 1 }]);
      expect(await posts.select(byTag.c.tag.in(['stale', 'inflight']))).toEqual([]);
      expect(await rows('stale')).toEqual(['not-yet@1']); // a record not committed (yet) keeps its rows
      expect(await rows('inflight')).toEqual([`${p.id}@2`]); // tagged by a version not committed (yet)
      expect(await rows('real')).toEqual([`${p.id}@1`]);
      p.value.tags = ['inflight'];
      await posts.save(p); // the writer of version 2 commits: its row was never lost
      expect((await posts.select(byTag.c.tag.eq('inflight'))).map((r) => r.id)).toEqual([p.id]);
    });

    it('indices on other shards than the records', async () => {
      const [a, b, c, d] = await open(4);
      const { posts, byTag } = blog(options, [a!, b!], [c!, d!]);
      await posts.create();
      for (const tag of ['p', 'q', 'r', 's', 't']) await posts.save(posts.new(post({ tags: [tag] })));
      expect(
        (await posts.select(byTag.c.tag.in(['p', 't']), { orderBy: byTag.c.tag.desc() })).map(
          (r) => r.value.tags[0],
        ),
      ).toEqual(['t', 'p']);
      const recordTables = await a!.readMeta([byTag.name]);
      expect(recordTables.size).toBe(0); // the index lives only on its own shards
    });

    it('query errors are raised before any database is touched', async () => {
      const { posts, byGroup, byTag, shards } = await blogOn(1);
      await posts.create();
      await posts.save(posts.new(post({ tags: ['x'] })));
      const other = new Index(uniqueName('other'), {
        columns: { n: integer() },
        shard: shards,
        mapper: () => [],
      });
      const twoIndices = () => posts.select(and(byGroup.c.group.eq(1), byTag.c.tag.eq('x')));
      expect(twoIndices).toThrow(ValidationError);
      expect(twoIndices).toThrow(/uses the columns of one index/);
      expect(() => posts.select(byGroup.c.group.eq(1), { orderBy: byTag.c.tag.asc() })).toThrow(
        /uses the columns of one index/,
      );
      expect(() => posts.select(other.c.n.eq(1))).toThrow(/is not one of this entity's indices/);
      const unknown = () => (byGroup.c as any).nope.eq(1);
      expect(unknown).toThrow(ValidationError);
      expect(unknown).toThrow(/has no column "nope"/);
      expect(() => byGroup.c.group.eq('1' as unknown as number)).toThrow(/expected integer/);
      expect(() => posts.select(byGroup.c.group.eq(1), { limit: 0 })).toThrow(
        /limit must be a positive integer/,
      );
      const page = await posts.select(byTag.c.tag.eq('x'), { limit: 1 }).page();
      expect(page.next).toBeUndefined();
      const first = await posts.select(byTag.c.rank.gte(0), { limit: 1 }).page();
      expect(first.records).toHaveLength(1);
      expect(() => posts.select(byGroup.c.group.gte(0), { after: 'garbage' })).toThrow(/Invalid cursor/);
      // A cursor holds its index and its order, direction included: the same query the other way refuses it.
      await posts.save(posts.new(post({ tags: ['y'] })));
      const up = await posts.select(byTag.c.rank.gte(0), { orderBy: byTag.c.rank.asc(), limit: 1 }).page();
      expect(up.next).toBeDefined();
      const down = () => posts.select(byTag.c.rank.gte(0), { orderBy: byTag.c.rank.desc(), after: up.next });
      expect(down).toThrow(ValidationError);
      expect(down).toThrow(/it was made by a query with another index or order/);
    });
  });
}
