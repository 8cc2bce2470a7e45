/**
 * Index-row routing, in one place: which shard holds an index row, rows
 * grouped by (index, shard), and a record's index work split into the rows on
 * its own shard and those elsewhere. Writes, queries, drain, verify and repair
 * all route through here.
 */
import { groupBy } from './group.js';
import type { Note, RowsByIndex } from './notes.js';
import type { Index, RowValues } from './secondary-index.js';
import { colocated } from './shard-strategy.js';
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

/** Rows of one index grouped by their shard. */
export function byShard(index: Index<any, any>, rows: readonly IndexRow[]): RowGroup[] {
  return [...groupBy(rows, (row) => shardOfRow(index, row.id, row.values))].map(([position, group]) => ({
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

/** Writes rows (each group in parallel), or deletes them where their tag is older than the row's version. */
export function applyRows(
  indices: readonly Index<any, any>[],
  items: readonly TaggedRows[],
  how: 'put' | 'delete',
): Promise<void> {
  return settleAll(
    rowGroups(indices, items).map(({ shard, index, rows }) =>
      how === 'put' ? shard.putIndexRows(index.table, rows) : shard.deleteIndexRows(index.table, rows),
    ),
  );
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
