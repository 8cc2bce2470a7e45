/**
 * What the rooms of an entity share: its tables, indices, placement, codec and
 * error callback; and the read of stored rows by id that several of them need.
 */
import type { RecordCodec } from './codec.js';
import { ShardUnavailableError } from './errors.js';
import { groupBy } from './group.js';
import type { Placement } from './placement.js';
import { isReplicated, newer, onFirstReachable, reported } from './replicas.js';
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
  /** How many record replicas a write waits for (default 1), or `'all'`. */
  readonly writeQuorum: WriteQuorum;
}

/** How many record replicas hold a write before it is acknowledged: a number from 1 to the replicas, or all of them. */
export type WriteQuorum = number | 'all';

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
  if (!isReplicated(strategy) && !parts.placement.isReady) {
    // Every shard checked first: a failure is reported in shard order, whichever answers first.
    const positions = [...byShard.keys()].sort((x, y) => x - y);
    await parts.placement.readyFor(positions.map((position) => strategy.shards[position]!));
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

/**
 * Stored rows by id read on every reachable replica of each (read with
 * `consistency: 'all'`): per id the newest (highest version, then later
 * update time, then body), written back as "apply if newer" to the replicas
 * that answered with an older row or none (read repair, best effort).
 * Throws when no replica of a bucket answers, or on any error other than
 * {@link ShardUnavailableError}.
 */
export async function readNewest(
  parts: EntityParts<any>,
  ids: Iterable<string>,
): Promise<Map<string, RecordRow>> {
  const { strategy } = parts.placement;
  const replicated = isReplicated(strategy);
  const found = new Map<string, RecordRow>();
  await Promise.all(
    [...groupBy(new Set(ids), (id) => strategy.shardOf({ id })).values()].map(async (group) => {
      const positions = replicasOf(strategy, { id: group[0]! });
      const results = await Promise.allSettled(
        positions.map((position) => {
          const shard = strategy.shards[position]!;
          return reported(shard, replicated, async () => {
            await parts.placement.readyFor([shard]);
            return new Map((await shard.getRecords(parts.table, group)).map((row) => [row.id, row]));
          });
        }),
      );
      const refused = results.find(
        (r): r is PromiseRejectedResult => r.status === 'rejected' && !ShardUnavailableError.is(r.reason),
      );
      if (refused) throw refused.reason;
      const answered = positions.flatMap((position, i) => {
        const result = results[i]!;
        return result.status === 'fulfilled' ? [{ position, rows: result.value }] : [];
      });
      if (answered.length === 0) throw (results[0] as PromiseRejectedResult).reason;
      const stale = new Map<number, RecordRow[]>();
      for (const id of group) {
        let best: RecordRow | undefined;
        for (const { rows } of answered) {
          const row = rows.get(id);
          if (row && (!best || newer(row, best))) best = row;
        }
        if (!best) continue;
        found.set(id, best);
        for (const { position, rows } of answered) {
          const row = rows.get(id);
          if (row && !newer(best, row)) continue;
          stale.set(position, [...(stale.get(position) ?? []), { ...best, note: null }]);
        }
      }
      await Promise.allSettled(
        [...stale].map(([position, rows]) => {
          const shard = strategy.shards[position]!;
          return reported(shard, replicated, () =>
            shard.commit({
              table: parts.table,
              writes: rows.map((row) => ({ row, expected: 'older' as const })),
              history: parts.history,
            }),
          );
        }),
      );
    }),
  );
  return found;
}
