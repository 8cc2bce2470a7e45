import { describe, expect, it } from 'vitest';
import { toBase64, utf8 } from '../src/base64.js';
import { decodeCursor, encodeCursor } from '../src/cursor.js';
import {
  bigint,
  boolean,
  bytes,
  type ColumnValue,
  Index,
  integer,
  real,
  text,
  timestamp,
  ValidationError,
} from '../src/index.js';
import type { KeyPart } from '../src/order.js';
import { expectError, fakeShards } from './helpers.js';

/** A key of one column of every kind, in index order. */
const ix = new Index('cursor_kinds', {
  columns: {
    n: integer(),
    r: real(),
    t: text(),
    b: boolean(),
    g: bigint(),
    d: timestamp(),
    y: bytes(),
  },
  shard: fakeShards(1),
  mapper: () => [],
});
const refs = [ix.c.n, ix.c.r, ix.c.t, ix.c.b, ix.c.g, ix.c.d, ix.c.y];
const parts: KeyPart[] = refs.map((ref, position) => ({ ref, position, direction: 'asc' }));
const key: ColumnValue[] = [
  -3,
  1.5,
  'é',
  false,
  -(2n ** 63n),
  new Date(1_700_000_000_000),
  new Uint8Array([0, 255]),
];
const SIGNATURE = 'sig';

/** A cursor as page() would make it, from its JSON parts (to forge cursors page() never makes). */
const forged = (json: unknown) => toBase64(utf8(JSON.stringify(json)), true);

const invalid = (cursor: unknown, why: string) =>
  expectError(
    () => decodeCursor(cursor, SIGNATURE, parts),
    ValidationError,
    'VALIDATION',
    `Invalid cursor passed as "after": ${why}`,
  );

describe('cursors', () => {
  it('round-trip a key of every column kind exactly, nulls included', () => {
    expect(decodeCursor(encodeCursor(SIGNATURE, parts, key), SIGNATURE, parts)).toEqual(key);
    const nulls = key.map(() => null);
    expect(decodeCursor(encodeCursor(SIGNATURE, parts, nulls), SIGNATURE, parts)).toEqual(nulls);
  });

  // Mutants: the checks of a cursor whose signature matches but whose values page() never wrote.
  it('refuse a cursor of the right query whose values are of another kind, or of another number', () => {
    const good = JSON.parse(Buffer.from(encodeCursor(SIGNATURE, parts, key), 'base64url').toString()) as [
      string,
      unknown[],
    ];
    const values = good[1];
    const wrong: [number, unknown][] = [
      [0, '1'], // integer as text
      [1, '1.5'], // real as text
      [2, 5], // text as a number
      [3, 'false'], // boolean as text
      [4, 5], // bigint as a number
      [4, '12a'], // bigint as text that is not an integer
      [4, 'x-12'],
      [4, '-12 '],
      [5, '2026-01-01'], // timestamp as text
      [6, 7], // bytes as a number
    ];
    for (const [i, value] of wrong) {
      const changed = [...values];
      changed[i] = value;
      invalid(forged([SIGNATURE, changed]), `bad value for ${refs[i]!.name}`);
    }
    invalid(forged([SIGNATURE, values.slice(1)]), 'wrong number of key values');
    invalid(forged([SIGNATURE, [...values, 1]]), 'wrong number of key values');
    for (const shape of [{}, [SIGNATURE], [SIGNATURE, values, 1], [SIGNATURE, 'values'], 'text']) {
      invalid(forged(shape), 'not a cursor made by page()');
    }
    invalid('%%%', 'not a cursor made by page()');
    // A key ends with its record's id, never null: a null one is refused, nulls elsewhere are keys.
    const withId: KeyPart[] = [
      { ref: ix.c.t, position: 2, direction: 'desc' },
      { ref: ix.idRef, position: -1, direction: 'desc' },
    ];
    expect(decodeCursor(encodeCursor(SIGNATURE, withId, [null, 'r1']), SIGNATURE, withId)).toEqual([
      null,
      'r1',
    ]);
    expectError(
      () => decodeCursor(forged([SIGNATURE, [null, null]]), SIGNATURE, withId),
      ValidationError,
      'VALIDATION',
      `Invalid cursor passed as "after": bad value for ${ix.idRef.name}`,
    );
    // Bytes that are not UTF-8 inside a JSON string: refused, not read as U+FFFD (a key page() never wrote).
    const bytes = utf8(JSON.stringify([SIGNATURE, values]));
    const at = bytes.findIndex((b, i) => b === 0xc3 && bytes[i + 1] === 0xa9); // the text value 'é'
    expect(at).toBeGreaterThan(0);
    const broken = new Uint8Array([...bytes.subarray(0, at), 0xff, ...bytes.subarray(at + 2)]);
    invalid(toBase64(broken, true), 'not a cursor made by page()');
    invalid(
      forged(['other', values]),
      `it was made by a query with another index or order (other, not ${SIGNATURE})`,
    );
  });
});
