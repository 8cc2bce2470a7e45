import type { Shard, ShardOperations } from '@waffle/core';

/** The data operations of a shard, available also inside its transactions. */
export const SHARD_OPERATIONS = [
  'getRecords',
  'insertRecord',
  'insertRecords',
  'updateRecord',
  'deleteRecord',
  'scanRecords',
  'clearNote',
  'scanNotes',
  'insertHistory',
  'getHistory',
  'putIndexRows',
  'deleteIndexRows',
  'queryIndex',
] as const satisfies readonly (keyof ShardOperations)[];

/** Wraps one operation: gets its name and the original, returns the replacement. */
export type Around = (
  operation: string,
  run: (...args: unknown[]) => Promise<unknown>,
) => (...args: unknown[]) => Promise<unknown>;

function wrapOperations(target: ShardOperations, around: Around, into: Record<string, unknown>): void {
  for (const operation of SHARD_OPERATIONS) {
    const run = (target[operation] as (...a: unknown[]) => Promise<unknown>).bind(target);
    into[operation] = around(operation, run);
  }
}

/**
 * A shard that behaves like `shard` except that each data operation — also
 * inside transactions, and `transaction` itself — goes through `around`. For
 * tests: injected faults, scheduled interleavings.
 */
export function wrapShard(shard: Shard, around: Around): Shard {
  const transaction = around('transaction', (work) =>
    shard.transaction((tx) => {
      const inner: Record<string, unknown> = {};
      wrapOperations(tx, around, inner);
      return (work as (tx: ShardOperations) => Promise<unknown>)(inner as unknown as ShardOperations);
    }),
  );
  const wrapped: Record<string, unknown> = {
    name: shard.name,
    dialect: shard.dialect,
    limits: shard.limits,
    createTables: shard.createTables.bind(shard),
    readMeta: shard.readMeta.bind(shard),
    writeMeta: shard.writeMeta.bind(shard),
    close: shard.close.bind(shard),
    transaction,
  };
  wrapOperations(shard, around, wrapped);
  return wrapped as unknown as Shard;
}
