import { and, not, or, type Predicate, type Query } from '@waffle/core';
import { describe, expect, it } from 'vitest';
import { blogFixtures, type Post, post } from './fixtures.js';
import type { ConformanceOptions } from './options.js';

/** Eight posts with fixed ids: [id, title, group, score, tags, rank]. */
const POSTS: readonly [string, string, number, number | null, string[], number][] = [
  ['f1', 'apple', 1, 2.5, ['red', 'fruit'], 3],
  ['f2', 'Apple', 2, null, ['fruit'], 1],
  ['f3', 'banana', 1, -1, ['yellow', 'fruit'], 2],
  ['f4', 'a_b', 3, 0, [], 5],
  ['f5', 'a%b', 2, 10, ['red'], 4],
  ['f6', 'cherry', -1, 2.5, ['red', 'fruit', 'small'], 0],
  ['f7', 'ab', 0, null, ['small'], 3],
  ['f8', 'é', 5, 1000, ['fruit'], 3],
];

/**
 * Queries whose answers are written out in the test, worked out by hand from
 * the documented rules (text by code point, `null` first in ascending order,
 * SQL's three-valued logic, ties by id in the direction of the last order
 * term, each record once at its first matching row): an oracle that shares
 * nothing with core. The other query suites judge adapters with core's own
 * `evaluate` and `compareValues`, so a change in core's meaning would pass
 * them; it does not pass these (issue 13, item 7).
 */
export function fixedAnswerSuite(options: ConformanceOptions): void {
  const { blogOn } = blogFixtures(options);

  const fixture = async () => {
    const blog = await blogOn(3);
    await blog.posts.create();
    await blog.posts.saveMany(
      POSTS.map(([id, title, group, score, tags, rank]) =>
        blog.posts.new(post({ title, group, score, tags, rank }), { id }),
      ),
    );
    const ids = async (query: Query<Post>) => (await query).map((r) => r.id);
    return { ...blog, ids };
  };

  describe('fixed queries, answers written out', () => {
    it('predicates, order and limit over one value per record', async () => {
      const { posts, byGroup: g, ids } = await fixture();
      const c = g.c;
      const select = (where: Predicate, rest: Parameters<typeof posts.select>[1] = {}) =>
        ids(posts.select(where, rest));
      // No order: the index's columns ascending (group, title, score), then id.
      expect(await select(c.group.eq(1))).toEqual(['f1', 'f3']);
      expect(await select(or(c.group.eq(-1), c.title.eq('é')))).toEqual(['f6', 'f8']);
      // Ties by id in the direction of the last term (descending here).
      expect(await select(c.group.gte(2), { orderBy: c.group.desc() })).toEqual(['f8', 'f4', 'f5', 'f2']);
      expect(await select(c.group.gte(2), { orderBy: c.group.desc(), limit: 3 })).toEqual(['f8', 'f4', 'f5']);
      expect(await select(c.group.in([3, 5, 7]), { orderBy: c.group.desc() })).toEqual(['f8', 'f4']);
      expect(await select(c.group.ne(1), { orderBy: c.title.asc(), limit: 2 })).toEqual(['f2', 'f5']);
      // Text by code point: 'A' (65) < 'a' (97), and '%' (37) < '_' (95) < 'b' (98); 'é' (233) > 'z' (122).
      expect(await select(c.title.lt('b'), { orderBy: c.title.desc() })).toEqual([
        'f1',
        'f7',
        'f4',
        'f5',
        'f2',
      ]);
      expect(await select(c.title.gt('z'))).toEqual(['f8']);
      // startsWith takes % and _ literally.
      expect(await select(c.title.startsWith('a_'))).toEqual(['f4']);
      expect(await select(c.title.startsWith('a%'))).toEqual(['f5']);
      expect(await select(c.title.startsWith('a'), { orderBy: c.title.asc() })).toEqual([
        'f5',
        'f4',
        'f7',
        'f1',
      ]);
      // null: matched by isNull only, first in ascending order, last in descending.
      expect(await select(c.score.isNull(), { orderBy: c.title.desc() })).toEqual(['f7', 'f2']);
      expect(await select(c.group.between(0, 2), { orderBy: c.score.desc() })).toEqual([
        'f5',
        'f1',
        'f3',
        'f7',
        'f2',
      ]);
      expect(await select(c.group.between(0, 2), { orderBy: c.score.asc() })).toEqual([
        'f2',
        'f7',
        'f3',
        'f1',
        'f5',
      ]);
      // Three-valued logic: not(score > 0) is unknown, so false, for a null score.
      expect(await select(not(c.score.gt(0)), { orderBy: c.score.desc() })).toEqual(['f4', 'f3']);
      expect(await select(and(c.score.gt(0), not(c.group.eq(1))), { orderBy: c.score.asc() })).toEqual([
        'f6',
        'f5',
        'f8',
      ]);
      // Two terms: score ascending, then title descending; ties of both by id descending.
      expect(await select(c.score.gte(2.5), { orderBy: [c.score.asc(), c.title.desc()] })).toEqual([
        'f6',
        'f1',
        'f5',
        'f8',
      ]);
      expect(await posts.count(c.score.isNull())).toBe(2);
      expect(await posts.count(c.group.between(1, 2))).toBe(4);
    });

    it('a multi-valued index: each record once, at its first matching row; counts; pages with cursors', async () => {
      const { posts, byTag: t, ids } = await fixture();
      const c = t.c;
      expect(await ids(posts.select(c.tag.eq('fruit'), { orderBy: c.rank.asc() }))).toEqual([
        'f6',
        'f2',
        'f3',
        'f1',
        'f8',
      ]);
      // No order: (tag, rank) ascending; f6 first at its row ('red', 0), not again at ('small', 0).
      expect(await ids(posts.select(c.tag.in(['red', 'small'])))).toEqual(['f6', 'f1', 'f5', 'f7']);
      expect(await ids(posts.select(c.tag.in([])))).toEqual([]);
      expect(await posts.count(c.tag.eq('fruit'))).toBe(5);
      // Tag descending: each record at its greatest tag with rank >= 1 (f1 at 'red', not 'fruit'); ties by id descending.
      const where = c.rank.gte(1);
      const orderBy = c.tag.desc();
      expect(await ids(posts.select(where, { orderBy }))).toEqual(['f3', 'f7', 'f5', 'f1', 'f8', 'f2']);
      const pages: string[][] = [];
      let after: string | undefined;
      for (let n = 0; n < 10; n++) {
        const page = await posts.select(where, { orderBy, limit: 2, after }).page();
        pages.push(page.records.map((r) => r.id));
        if (!page.next) break;
        after = page.next;
      }
      expect(pages.filter((p) => p.length > 0)).toEqual([
        ['f3', 'f7'],
        ['f5', 'f1'],
        ['f8', 'f2'],
      ]);
      expect(pages.length).toBeLessThanOrEqual(4);
    });
  });
}
