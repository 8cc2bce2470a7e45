/**
 * Index-row routing, in one place: which shard holds an index row, rows
 * grouped by (index, shard), and a record's index work split into the rows on
 * its own shard and those elsewhere. Writes, queries, drain, verify and repair
 * all route through here.
 */

import { ShardUnavailableError } from './errors.js';
import { groupBy } from './group.js';
import { unreachable } from './health.js';
import type { Note, RowsByIndex } from './notes.js';
import { isReplicated, isUp, reported } from './replicas.js';
import type { Index, RowValues } from './secondary-index.js';
import { colocated, replicasOf } from './shard-strategy.js';
import type { IndexRow, IndexTableSpec, Shard, ShardStrategy } from './types.js';

/** Index rows of records, each list tagged with its record's version. */
export interface TaggedRows {
  readonly id: string;
  readonly version: number;
  readonly rows: RowsByIndex;
}

/** Rows of one index on one shard. */
export interface RowGroup {
  readonly shard: Shard;
  readonly index: Index<any, any>;
  readonly rows: IndexRow[];
}

/** The position, in the index's strategy, of the shard that holds a row of record `id`. */
export function shardOfRow(index: Index<any, any>, id: string, values: RowValues): number {
  return index.strategy.shardOf({ id, row: index.rowObject(values) });
}

/** The positions, in the index's strategy, of every replica holding a row of record `id` (its preference list). */
export function replicasOfRow(index: Index<any, any>, id: string, values: RowValues): readonly number[] {
  return replicasOf(index.strategy, { id, row: index.rowObject(values) });
}

/** Rows of one index grouped by their shard: each row goes to every replica of its bucket. */
export function byShard(index: Index<any, any>, rows: readonly IndexRow[]): RowGroup[] {
  if (!isReplicated(index.strategy)) {
    return [...groupBy(rows, (row) => shardOfRow(index, row.id, row.values))].map(([position, group]) => ({
      shard: index.strategy.shards[position]!,
      index,
      rows: group,
    }));
  }
  const groups = new Map<number, IndexRow[]>();
  for (const row of rows) {
    for (const position of replicasOfRow(index, row.id, row.values)) {
      const group = groups.get(position);
      if (group) group.push(row);
      else groups.set(position, [row]);
    }
  }
  return [...groups].map(([position, group]) => ({
    shard: index.strategy.shards[position]!,
    index,
    rows: group,
  }));
}

/** The rows of `items` grouped by (index, shard), each row tagged with its record's version. */
export function rowGroups(indices: readonly Index<any, any>[], items: readonly TaggedRows[]): RowGroup[] {
  const out: RowGroup[] = [];
  indices.forEach((index, i) => {
    const rows: IndexRow[] = [];
    for (const { id, version, rows: lists } of items) {
      for (const values of lists[i] ?? []) rows.push({ id, values, version });
    }
    out.push(...byShard(index, rows));
  });
  return out;
}

/** Waits for every promise, then throws the first rejection, if any. */
export async function settleAll(work: readonly Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(work);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * Writes rows (each group in parallel), or deletes them where their tag is
 * older than the row's version, on every replica of each row. A replica whose
 * breaker is open is skipped (and counts as failed) unless `force`; throws the
 * first failure once every group has settled.
 */
export async function applyRows(
  indices: readonly Index<any, any>[],
  items: readonly TaggedRows[],
  how: 'put' | 'delete',
  force = false,
): Promise<void> {
  await settleAll(
    rowGroups(indices, items).map(({ shard, index, rows }) => {
      const replicated = isReplicated(index.strategy);
      if (!force && !isUp(shard, replicated)) return Promise.reject(skippedError(shard));
      return reported(shard, replicated, () =>
        how === 'put' ? shard.putIndexRows(index.table, rows) : shard.deleteIndexRows(index.table, rows),
      );
    }),
  );
}

/** The error of a call not made because the shard's breaker is open. */
function skippedError(shard: Shard): ShardUnavailableError {
  return new ShardUnavailableError(
    `Shard ${shard.name} is skipped: it failed as unavailable recently (circuit breaker open)`,
  );
}

/**
 * Puts the rows of `items` on every replica of each, before their records
 * commit (`sync` mode). Returns the ids whose rows some replica did not take
 * (its breaker open, the put failed as unavailable, or its outcome is
 * unknown): their writes keep the
 * rows in their note for `drain()`. Throws when a row reached no replica at
 * all, or on any other failure, as with one replica.
 */
export async function putRows(
  indices: readonly Index<any, any>[],
  items: readonly TaggedRows[],
): Promise<Set<string>> {
  const incomplete = new Set<string>();
  const groups = rowGroups(indices, items);
  const results = await Promise.allSettled(
    groups.map(({ shard, index, rows }) => {
      const replicated = isReplicated(index.strategy);
      if (!isUp(shard, replicated)) return Promise.reject(skippedError(shard));
      return reported(shard, replicated, () => shard.putIndexRows(index.table, rows));
    }),
  );
  // Per row (index, id, values): how many replicas took it.
  const taken = new Map<string, { copies: number; error?: unknown }>();
  groups.forEach(({ index, rows }, g) => {
    const result = results[g]!;
    // Over replicas, a put that failed as unavailable, or whose connection was lost once it was sent
    // (its rows may or may not be there: putting them again is harmless), goes to the note.
    const missed = result.status === 'rejected' && unreachable(result.reason);
    if (result.status === 'rejected' && !(isReplicated(index.strategy) && missed)) {
      throw result.reason;
    }
    for (const row of rows) {
      const key = `${index.name}\u0000${row.id}\u0000${JSON.stringify(row.values, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? [...v] : v))}`;
      const entry = taken.get(key) ?? { copies: 0 };
      if (result.status === 'fulfilled') entry.copies++;
      else {
        entry.error = result.reason;
        incomplete.add(row.id);
      }
      taken.set(key, entry);
    }
  });
  for (const entry of taken.values()) if (entry.copies === 0) throw entry.error;
  return incomplete;
}

/**
 * Splits a record's index work into the rows on its own shard (`home`, a
 * shard of `records`) and the others. Indices that live beside the records
 * (see `colocated`) need no routing: all their rows are the record's own.
 */
export function splitWork(
  indices: readonly Index<any, any>[],
  records: ShardStrategy,
  id: string,
  work: Note,
  home: Shard,
): { local: Note; remote: Note } {
  const part = (lists: RowsByIndex, here: boolean): RowsByIndex =>
    indices.map((index, i) => {
      const rows = lists[i] ?? [];
      if (rows.length === 0) return rows;
      if (colocated(records, index.strategy)) return here ? rows : [];
      // Over replicas nothing is co-located: every row is routed to the replicas of its own bucket.
      if (isReplicated(records) || isReplicated(index.strategy)) return here ? [] : rows;
      return rows.filter(
        (values) => (index.strategy.shards[shardOfRow(index, id, values)] === home) === here,
      );
    });
  return {
    local: { add: part(work.add, true), remove: part(work.remove, true) },
    remote: { add: part(work.add, false), remove: part(work.remove, false) },
  };
}

/**
 * The rows of `items` on one shard known to hold them all (the local rows of
 * the records it commits), per index table, without routing them again.
 */
export function localRows(
  indices: readonly Index<any, any>[],
  items: readonly TaggedRows[],
): { table: IndexTableSpec; rows: IndexRow[] }[] {
  const out: { table: IndexTableSpec; rows: IndexRow[] }[] = [];
  indices.forEach((index, i) => {
    const rows: IndexRow[] = [];
    for (const { id, version, rows: lists } of items) {
      for (const values of lists[i] ?? []) rows.push({ id, values, version });
    }
    if (rows.length > 0) out.push({ table: index.table, rows });
  });
  return out;
}
