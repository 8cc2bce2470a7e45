import type { Shard } from '@waffle/core/adapter';

/** The data operations of a shard, each one atomic. */
export const SHARD_OPERATIONS = [
  'getRecords',
  'scanRecords',
  'commit',
  'clearNotes',
  'getHistory',
  'putIndexRows',
  'deleteIndexRows',
  'queryIndex',
  'countIndex',
  'countRows',
] as const satisfies readonly (keyof Shard)[];

/** Wraps one operation: gets its name and the original, returns the replacement. */
export type Around = (
  operation: string,
  run: (...args: unknown[]) => Promise<unknown>,
) => (...args: unknown[]) => Promise<unknown>;

/**
 * A shard that behaves like `shard` except that each data operation goes
 * through `around`. For tests: injected faults, scheduled interleavings.
 */
export function wrapShard(shard: Shard, around: Around): Shard {
  const wrapped: Record<string, unknown> = {
    name: shard.name,
    get limits() {
      return shard.limits;
    },
    createTables: shard.createTables.bind(shard),
    dropTables: shard.dropTables.bind(shard),
    readMeta: shard.readMeta.bind(shard),
    writeMeta: shard.writeMeta.bind(shard),
    replaceMeta: shard.replaceMeta.bind(shard),
    close: shard.close.bind(shard),
  };
  for (const operation of SHARD_OPERATIONS) {
    const run = (shard[operation] as (...a: unknown[]) => Promise<unknown>).bind(shard);
    wrapped[operation] = around(operation, run);
  }
  return wrapped as unknown as Shard;
}
