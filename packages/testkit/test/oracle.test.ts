import { type Doc, Index, integer, text } from '@waffle/core';
import { isPredicate } from '@waffle/core/adapter';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bruteForce, orderArbitrary, predicateArbitrary } from '../src/index.js';

// The oracle decides what every adapter must return, so it is checked by hand here.
type Item = { tags: string[]; n: number };
const fakeShard = { queryIndex: () => Promise.resolve([]) } as never;
const byTag = new Index('tags', {
  columns: { tag: text(), n: integer() },
  shard: [fakeShard],
  mapper: (item: Doc<Item>) => item.value.tags.map((tag) => ({ tag, n: item.value.n })),
});
const doc = (id: string, tags: string[], n: number): Doc<Item> => ({
  id,
  value: { tags, n },
  version: 1,
  createdAt: new Date(0),
  updatedAt: new Date(0),
});
const records = [doc('a', ['x', 'z'], 3), doc('b', ['y'], 1), doc('c', [], 9), doc('d', ['z', 'x'], 1)];

describe('bruteForce', () => {
  it('ranks each record at its first matching row, then by id', () => {
    expect(bruteForce(records, byTag, byTag.c.tag.in(['x', 'z']), [])).toEqual(['d', 'a']); // (x,1,d) < (x,3,a)
    expect(bruteForce(records, byTag, byTag.c.tag.eq('z'), [byTag.c.n.desc()])).toEqual(['a', 'd']);
    expect(bruteForce(records, byTag, byTag.c.n.lte(3), [byTag.c.tag.desc()])).toEqual(['d', 'a', 'b']); // z,z,y: ids desc on ties
    expect(bruteForce(records, byTag, undefined, [byTag.c.n.asc()], 2)).toEqual(['b', 'd']);
  });

  it('never returns a record without rows', () => {
    expect(bruteForce(records, byTag, undefined, [])).not.toContain('c');
  });
});

describe('arbitraries', () => {
  it('produce predicates and order terms on the given columns', () => {
    const refs = [byTag.c.tag, byTag.c.n];
    for (const p of fc.sample(predicateArbitrary(refs.map((ref) => ({ ref }))), 200))
      expect(isPredicate(p)).toBe(true);
    for (const order of fc.sample(orderArbitrary(refs), 50)) {
      expect(new Set(order.map((t) => t.column.name)).size).toBe(order.length);
    }
  });
});
