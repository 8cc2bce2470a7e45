/**
 * Notes and drain: finishing the index work a write left in its record's
 * note (old rows to remove, and in `async` mode rows to add), right after the
 * commit, in the background, or by `drain()` after a crash.
 */
import { checkCount } from './checks.js';
import { type EntityParts, indexShards, ready } from './entity-parts.js';
import { groupBy } from './group.js';
import { decodeNote } from './notes.js';
import { applyRows } from './routing.js';
import type { RecordRow, Shard } from './types.js';

/** Options of `Entity.drain`. */
export interface DrainOptions {
  /** Notes read per statement (default 500). */
  readonly batchSize?: number;
  /** Stops between batches. */
  readonly signal?: AbortSignal;
  /** Called after each batch with the counts so far. */
  readonly onProgress?: (progress: DrainReport) => void;
}

/** What `Entity.drain` did. */
export interface DrainReport {
  /** Notes found (unfinished writes). */
  readonly notes: number;
  /** Notes finished and cleared (the others were overtaken by a newer write, which carries their work). */
  readonly finished: number;
}

/** A record's note on its shard. */
export interface Noted {
  readonly shard: Shard;
  readonly row: RecordRow;
}

/** The notes of one entity. */
export class Notes<T> {
  /** Index work running after commits (async writes), awaited by {@link Notes.drain}. */
  readonly #inflight = new Set<Promise<void>>();

  constructor(private readonly parts: EntityParts<T>) {}

  /** Keeps background work until it settles, for {@link Notes.drain}. */
  track(work: Promise<void>): void {
    const tracked = work.finally(() => this.#inflight.delete(tracked));
    this.#inflight.add(tracked);
  }

  /** Waits until the background work of this process has settled. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.#inflight]);
  }

  /**
   * Finishes the notes of records: writes their rows to add and deletes their
   * rows to remove (where the tag is not newer than the record's version), then
   * clears each note if the record is still at that version (one statement
   * per shard). When it is not, the newer write carries the work; rows this
   * note added are deleted again where still tagged with the old version (the
   * newer write re-adds those it produces). Returns how many notes were cleared.
   */
  async finish(notes: readonly Noted[]): Promise<number> {
    const { indices, table } = this.parts;
    await this.parts.placement.readyFor(indexShards(this.parts));
    const items = notes.map(({ row }) => ({ row, note: decodeNote(indices, row.note) }));
    await applyRows(
      indices,
      items.map(({ row, note }) => ({ id: row.id, version: row.version, rows: note.add })),
      'put',
    );
    // Up to the record's version, that version included: the version does not produce these rows, so
    // a row tagged with it was put by a write at that version that never committed (a sync writer
    // whose commit failed after its rows were put, or that lost the compare-and-set), and no
    // later write would remove it. A newer writer's rows are tagged above it and survive.
    await applyRows(
      indices,
      items.map(({ row, note }) => ({ id: row.id, version: row.version + 1, rows: note.remove })),
      'delete',
    );
    const cleared = new Map<RecordRow, boolean>();
    await Promise.all(
      [...groupBy(notes, (n) => n.shard)].map(async ([shard, group]) => {
        const done = await shard.clearNotes(
          table,
          group.map(({ row }) => ({ id: row.id, version: row.version })),
        );
        group.forEach(({ row }, i) => {
          cleared.set(row, done[i] === true);
        });
      }),
    );
    const overtaken = items.filter(
      (item) => !cleared.get(item.row) && item.note.add.some((rows) => rows.length > 0),
    );
    await applyRows(
      indices,
      overtaken.map(({ row, note }) => ({ id: row.id, version: row.version + 1, rows: note.add })),
      'delete',
    );
    return [...cleared.values()].filter(Boolean).length;
  }

  /** Finishes every note of the entity: see `Entity.drain`. */
  async drain(options: DrainOptions): Promise<DrainReport> {
    const { name, table, placement } = this.parts;
    const batchSize = checkCount(options.batchSize ?? 500, 1, `${name}.drain()`, 'batchSize');
    await ready(this.parts);
    await this.settle();
    let notes = 0;
    let finished = 0;
    const failures: unknown[] = [];
    for (const shard of placement.strategy.shards) {
      let after: string | undefined;
      for (;;) {
        options.signal?.throwIfAborted();
        const rows = await shard.scanRecords(table, { after, limit: batchSize, notes: true });
        notes += rows.length;
        if (rows.length > 0) {
          try {
            finished += await this.finish(rows.map((row) => ({ shard, row })));
          } catch (error) {
            failures.push(error);
          }
        }
        options.onProgress?.({ notes, finished });
        if (rows.length < batchSize) break;
        after = rows[rows.length - 1]!.id;
      }
    }
    if (failures.length > 0) throw failures[0];
    return { notes, finished };
  }
}
