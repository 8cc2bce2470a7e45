/**
 * What the rooms of an entity share: its tables, indices, placement, codec and
 * error callback; and the read of stored rows by id that several of them need.
 */
import type { RecordCodec } from './codec.js';
import { groupBy } from './group.js';
import type { Placement } from './placement.js';
import { isReplicated, onFirstReachable } from './replicas.js';
import type { Index } from './secondary-index.js';
import { replicasOf } from './shard-strategy.js';
import type { EntityTableSpec, HistoryTableSpec, RecordRow, Shard } from './types.js';

/** An entity's parts, as its write path, notes and maintenance see them. */
export interface EntityParts<T> {
  readonly name: string;
  readonly table: EntityTableSpec;
  /** The history table, when the entity keeps history. */
  readonly history: HistoryTableSpec | undefined;
  readonly indices: readonly Index<T, any>[];
  readonly placement: Placement;
  readonly codec: RecordCodec<T>;
  /** Reports failures of index work done after a commit. */
  readonly onIndexError: (error: unknown) => void;
}

/** Waits until the entity's shards were checked, without a pause once they were. */
export function ready(parts: EntityParts<any>): Promise<void> | undefined {
  return parts.placement.isReady ? undefined : parts.placement.ready();
}

/** The shards of every index of the entity. */
export function indexShards(parts: EntityParts<any>): Shard[] {
  return parts.indices.flatMap((index) => index.strategy.shards);
}

/**
 * Stored rows by id (tombstones included), read in one statement per shard,
 * all shards in parallel; with `note: false`, without their notes (for reads
 * that do not write). Over replicas, each bucket range is read on its first
 * reachable replica, falling over to the next when one is unavailable.
 */
export async function readRows(
  parts: EntityParts<any>,
  ids: Iterable<string>,
  note = true,
): Promise<Map<string, RecordRow>> {
  const { strategy } = parts.placement;
  const byShard = groupBy(new Set(ids), (id) => strategy.shardOf({ id }));
  if (!isReplicated(strategy)) {
    // Every shard checked first: a failure is reported in shard order, whichever answers first.
    await parts.placement.readyFor([...byShard.keys()].map((position) => strategy.shards[position]!));
  }
  const found = new Map<string, RecordRow>();
  await Promise.all(
    [...byShard.values()].map(async (group) => {
      const rows = await onReplicas(parts, group[0]!, (shard) =>
        shard.getRecords(parts.table, group, { note }),
      );
      for (const row of rows) found.set(row.id, row);
    }),
  );
  return found;
}

/**
 * Runs `call` on the first reachable replica of `id`'s bucket, once that
 * shard was checked, falling over to the next replica when one is
 * unavailable (see `onFirstReachable`).
 */
export function onReplicas<R>(
  parts: EntityParts<any>,
  id: string,
  call: (shard: Shard, position: number) => Promise<R>,
): Promise<R> {
  const { strategy } = parts.placement;
  return onFirstReachable(strategy.shards, replicasOf(strategy, { id }), async (shard, position) => {
    await parts.placement.readyFor([shard]);
    return call(shard, position);
  });
}
