/**
 * The document every side stores: ~1 KB of JSON, with an integer `time` that
 * the indices map. Times start at {@link TIME_BASE} so that they all have ten
 * digits: text comparison (Pongo's range filters compare `data #>> '{time}'`
 * as text) then orders them as numbers do.
 */

/** A benchmark document. */
export type BenchPost = {
  title: string;
  body: string;
  author: string;
  tags: string[];
  time: number;
  edits: number;
};

/** The time of the first document. */
export const TIME_BASE = 1_000_000_000;

const FILLER = 'The quick brown fox jumps over the lazy dog. '.repeat(21); // with the rest, ~1 KB of JSON

/** The `n`-th document (time `TIME_BASE + n`). */
export function benchPost(n: number): BenchPost {
  return {
    title: `Post number ${n}`,
    body: FILLER,
    author: `author${n % 100}`,
    tags: ['bench', 'waffle'],
    time: TIME_BASE + n,
    edits: 0,
  };
}
