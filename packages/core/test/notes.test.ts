import { describe, expect, it } from 'vitest';
import { bigint, bytes, Index, integer, real, text, timestamp } from '../src/index.js';
import { decodeNote, encodeNote, isEmpty, noRows, planWrite } from '../src/notes.js';
import { fakeShards } from './helpers.js';

const byTag = new Index('by_tag', {
  columns: { tag: text(), n: integer() },
  shard: fakeShards(1),
  mapper: () => [],
});
const every = new Index('every', {
  columns: { b: bigint(), r: real(), t: timestamp().nullable(), x: bytes() },
  shard: fakeShards(1),
  mapper: () => [],
});
const indices = [byTag, every];

describe('notes', () => {
  it('round-trips rows of every kind by index name', () => {
    const note = {
      remove: [[['a', 1]], [[2n ** 62n, 1.5, new Date(5), new Uint8Array([0, 255])]]],
      add: [[['b', -3]], [[-1n, 0, null, new Uint8Array()]]],
    };
    const text = encodeNote(indices, note)!;
    expect(JSON.parse(text)).toEqual({
      r: { by_tag: [['a', 1]], every: [['4611686018427387904', 1.5, 5, 'AP8=']] },
      a: { by_tag: [['b', -3]], every: [['-1', 0, null, '']] },
    });
    expect(decodeNote(indices, text)).toEqual(note);
  });

  it('keeps the replicas still to copy to ("c"), and reads bad positions as none', () => {
    const note = { remove: noRows(indices), add: noRows(indices), copies: [2, 0] };
    const text = encodeNote(indices, note)!;
    expect(JSON.parse(text)).toEqual({ c: [2, 0] });
    expect(isEmpty(decodeNote(indices, text))).toBe(false);
    expect(decodeNote(indices, text)).toEqual(note);
    expect(encodeNote(indices, { ...note, copies: [] })).toBeUndefined();
    const stored = JSON.stringify({ c: [1, -1, 1.5, '2', null, 1, 3], r: { by_tag: [['a', 1]] } });
    expect(decodeNote(indices, stored)).toEqual({
      remove: [[['a', 1]], []],
      add: noRows(indices),
      copies: [1, 3],
    });
    for (const c of ['x', {}, [], [-1]]) {
      expect(isEmpty(decodeNote(indices, JSON.stringify({ c })))).toBe(true);
    }
  });

  it('is absent when there is nothing to do, and reads nothing from no note or a foreign one', () => {
    expect(encodeNote(indices, { remove: noRows(indices), add: noRows(indices) })).toBeUndefined();
    for (const stored of [null, undefined, '', 'not json', '[1]', '{"r":{"by_tag":"x"}}']) {
      expect(isEmpty(decodeNote(indices, stored))).toBe(true);
    }
  });

  it('drops rows of indices that are gone and rows that no longer fit the columns', () => {
    const stored = JSON.stringify({ r: { gone: [['a']], by_tag: [['a', 1], ['b'], ['c', 'not a number']] } });
    expect(decodeNote(indices, stored).remove).toEqual([[['a', 1]], []]);
    // Only the indices given now are read: the note is by name, not position.
    expect(decodeNote([every, byTag], stored).remove).toEqual([[], [['a', 1]]]);
  });

  it('plans the difference of two versions and takes over an unfinished note', () => {
    const only = [byTag];
    const plain = planWrite(
      only,
      [
        [
          ['a', 1],
          ['b', 1],
        ],
      ],
      [
        [
          ['b', 1],
          ['c', 1],
        ],
      ],
      {
        remove: [[]],
        add: [[]],
      },
    );
    expect(plain).toEqual({ add: [[['c', 1]]], remove: [[['a', 1]]] });
    // The stored version's note had not removed x, nor added b and d: b and x go, d is added again.
    const merged = planWrite(
      only,
      [
        [
          ['a', 1],
          ['d', 1],
        ],
      ],
      [
        [
          ['d', 1],
          ['c', 1],
        ],
      ],
      {
        remove: [
          [
            ['x', 1],
            ['c', 1],
          ],
        ],
        add: [
          [
            ['d', 1],
            ['b', 1],
          ],
        ],
      },
    );
    expect(merged).toEqual({
      add: [
        [
          ['d', 1],
          ['c', 1],
        ],
      ],
      remove: [
        [
          ['a', 1],
          ['x', 1],
          ['b', 1],
        ],
      ],
    });
  });
});
