/**
 * The records every side stores before measuring (same ids, same values),
 * and the random choices the reads and queries make among them. Reads stay
 * within these records so that every side reads a working set of the same
 * size, however many records its writes added.
 */
import type { BenchConfig } from '../config.js';
import { type BenchPost, benchPost, TIME_BASE } from './document.js';
import { randomInt, uuidv7 } from './ids.js';

/** The preloaded records: `ids[i]` holds `benchPost(i)`. */
export interface Preload {
  readonly ids: readonly string[];
  readonly posts: readonly BenchPost[];
}

/** `count` records with fresh ids. */
export function makePreload(count: number): Preload {
  return {
    ids: Array.from({ length: count }, () => uuidv7()),
    posts: Array.from({ length: count }, (_, i) => benchPost(i)),
  };
}

/** The random choices of reads and queries over `preload`. */
export interface Picks {
  /** A random preloaded position. */
  index(): number;
  /** A random preloaded id. */
  id(): string;
  /** `n` random preloaded ids, repeats possible. */
  ids(n: number): string[];
  /** A time from which at least `config.range` preloaded records follow. */
  rangeStart(): number;
}

/** Random picks over `preload`. */
export function picks(preload: Preload, config: BenchConfig): Picks {
  const count = preload.ids.length;
  const index = () => randomInt(count);
  return {
    index,
    id: () => preload.ids[index()]!,
    ids: (n) => Array.from({ length: n }, () => preload.ids[index()]!),
    rangeStart: () => TIME_BASE + randomInt(count - config.range + 1),
  };
}

/** Splits `items` into chunks of `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The preloaded records as `{ id, value }`, in chunks of `size`. */
export function preloadChunks(preload: Preload, size: number): { id: string; value: BenchPost }[][] {
  return chunks(
    preload.ids.map((id, i) => ({ id, value: preload.posts[i]! })),
    size,
  );
}
