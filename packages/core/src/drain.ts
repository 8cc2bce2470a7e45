/**
 * Notes and drain: finishing the index work a write left in its record's
 * note (old rows to remove, and in `async` mode rows to add), right after the
 * commit, in the background, or by `drain()` after a crash.
 */
import { checkCount } from './checks.js';
import { type EntityParts, indexShards, ready } from './entity-parts.js';
import { ShardUnavailableError } from './errors.js';
import { groupBy } from './group.js';
import { FIRST_BACKOFF_MS, MAX_BACKOFF_MS, shardHealth, unreachable } from './health.js';
import { decodeNote, encodeNote, type Note } from './notes.js';
import { isReplicated, isUp, newer, reported } from './replicas.js';
import { applyRows, settleAll, type TaggedRows } from './routing.js';
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

/** Records whose notes this process retries in the background, at most (beyond, `drain()` finishes them). */
export const MAX_HANDOFF = 10_000;
/** Background attempts of one record's note before it is left to `drain()` (1 s doubling to 30 s: ~8 minutes). */
export const HANDOFF_ATTEMPTS = 20;

/** A note held for background delivery: where it is, and how many attempts were made. */
interface Held {
  readonly shard: Shard;
  attempts: number;
}

/** The notes of one entity. */
export class Notes<T> {
  /** Index work running after commits (async writes), awaited by {@link Notes.drain}. */
  readonly #inflight = new Set<Promise<void>>();
  /** Notes of this process's writes whose work failed over replicas, by record id (hinted handoff). */
  readonly #held = new Map<string, Held>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #delay = FIRST_BACKOFF_MS;

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
   * Hinted handoff: keeps the notes of writes whose copies or index rows
   * could not all be written (a replica down) and finishes them again in the
   * background, after the breaker's back-off (1 s, doubling up to 30 s while
   * attempts fail), until their work is done or a newer write carries it.
   * Each try re-reads the record where its note was committed, so nothing
   * stale is written. Kept in memory only, for at most {@link MAX_HANDOFF}
   * records and {@link HANDOFF_ATTEMPTS} attempts each: the notes themselves
   * are durable, and `drain()` finishes what this process does not (after a
   * crash, or with a replica down for long). The timer does not keep a
   * process alive.
   */
  handOff(notes: readonly Noted[]): void {
    for (const { shard, row } of notes) {
      const held = this.#held.get(row.id);
      if (held && held.shard === shard) continue;
      if (!held && this.#held.size >= MAX_HANDOFF) continue;
      this.#held.set(row.id, { shard, attempts: 0 });
    }
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#held.size === 0) return;
    const timer = setTimeout(() => {
      this.#timer = undefined;
      this.track(this.#deliver());
    }, this.#delay);
    (timer as { unref?: () => void }).unref?.();
    this.#timer = timer;
  }

  /** One background attempt over every held note: re-read, finish, keep what is still unfinished. */
  async #deliver(): Promise<void> {
    const held = [...this.#held];
    let failed = false;
    await Promise.all(
      [...groupBy(held, ([, h]) => h.shard)].map(async ([shard, group]) => {
        try {
          const rows = await shard.getRecords(
            this.parts.table,
            group.map(([id]) => id),
            { note: true },
          );
          const noted = rows.filter((row) => row.note !== null).map((row) => ({ shard, row }));
          const open = new Set(noted.map(({ row }) => row.id));
          for (const [id] of group) if (!open.has(id)) this.#held.delete(id); // done, by a write or a drain
          if (noted.length > 0) await this.finish(noted);
          for (const { row } of noted) this.#held.delete(row.id);
        } catch (error) {
          failed = true;
          const lasting = !unreachable(error);
          for (const [id, h] of group) {
            if (this.#held.get(id) !== h) continue; // done already, or handed off again meanwhile
            h.attempts++;
            if (lasting || h.attempts >= HANDOFF_ATTEMPTS) this.#held.delete(id); // left to drain()
          }
        }
      }),
    );
    this.#delay = failed ? Math.min(this.#delay * 2, MAX_BACKOFF_MS) : FIRST_BACKOFF_MS;
    this.#schedule();
  }

  /**
   * Finishes the notes of records: writes their rows to add and deletes their
   * rows to remove (where the tag is not newer than the record's version) on
   * every replica, then writes each pending copy of the record ("apply if
   * newer") on the replicas listed in the note (without the note, or with
   * its index part when that index work failed, so the copy's own note keeps
   * it for `drain()` on that replica), then clears each
   * note if the record is still at that version (one statement per shard).
   * When it is not, the newer write carries the work; rows this note added
   * are deleted again where still tagged with the old version (the newer
   * write re-adds those it produces). A note is cleared only when all of this
   * succeeded; a replica whose breaker is open is skipped (the note stays for
   * `drain()`) unless `force`. Returns how many notes were cleared; `copied`
   * counts, per record id, the replicas its copy was written to.
   */
  async finish(notes: readonly Noted[], force = false, copied?: Map<string, number>): Promise<number> {
    const { indices, table, placement } = this.parts;
    const replicated = isReplicated(placement.strategy) || indices.some((ix) => isReplicated(ix.strategy));
    // Over replicas, a shard that is down is met (and left to the note) by the work itself.
    await Promise.resolve(placement.readyFor(indexShards(this.parts))).catch((error: unknown) => {
      if (!replicated || !ShardUnavailableError.is(error)) throw error;
    });
    const items = notes.map(({ shard, row }) => ({ shard, row, note: decodeNote(indices, row.note) }));
    const failures: unknown[] = [];
    try {
      await applyRows(
        indices,
        items.map(({ row, note }) => ({ id: row.id, version: row.version, rows: note.add })),
        'put',
        force,
      );
      // Up to the record's version, that version included: the version does not produce these rows, so
      // a row tagged with it was put by a write at that version that never committed (a sync writer
      // whose commit failed after its rows were put, or that lost the compare-and-set), and no
      // later write would remove it. A newer writer's rows are tagged above it and survive.
      await applyRows(
        indices,
        items.map(({ row, note }) => ({ id: row.id, version: row.version + 1, rows: note.remove })),
        'delete',
        force,
      );
    } catch (error) {
      failures.push(error);
    }
    // After the index work: a copy made while it is unfinished carries it, so that the replica's
    // own note keeps it should that replica be the one the next write reads and commits on.
    await this.copy(items, force, failures.length === 0, copied).catch((error: unknown) => {
      failures.push(error);
    });
    if (failures.length > 0) throw failures[0];
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
    if (overtaken.length > 0) await applyRows(indices, await this.unproduced(overtaken), 'delete', force);
    return [...cleared.values()].filter(Boolean).length;
  }

  /**
   * The rows that overtaken notes added and their records' versions now
   * stored do not produce, to delete where still tagged up to the note's
   * version: a newer writer that read the note removed them, perhaps before
   * this finish put them. The rows the stored version does produce stay: its
   * writer may have read the record after another finisher (a `drain()`, another
   * process) cleared the note, and then had no reason to write them again.
   */
  private async unproduced(
    items: readonly { shard: Shard; row: RecordRow; note: Note }[],
  ): Promise<TaggedRows[]> {
    const { table, codec, indices } = this.parts;
    const stored = new Map<Shard, Map<string, RecordRow>>();
    await Promise.all(
      [...groupBy(items, (item) => item.shard)].map(async ([shard, group]) => {
        const rows = await shard.getRecords(
          table,
          group.map(({ row }) => row.id),
        );
        stored.set(shard, new Map(rows.map((row) => [row.id, row])));
      }),
    );
    return items.map(({ shard, row, note }) => {
      const now = stored.get(shard)?.get(row.id);
      const doc = now && codec.docOf(now);
      const rows = doc
        ? note.add.map((added, i) => {
            const index = indices[i]!;
            const produced = index.storedRowsOf(doc);
            return added.filter((values) => !index.includesRow(produced, values));
          })
        : note.add;
      return { id: row.id, version: row.version + 1, rows };
    });
  }

  /**
   * Writes the pending copies of noted records: on each replica a note lists,
   * one commit of "apply if newer" writes of the rows (with their history
   * rows), without their notes once `indexed`, else with their index part. Throws the first failure once all have settled.
   */
  private async copy(
    items: readonly { shard: Shard; row: RecordRow; note: Note }[],
    force: boolean,
    indexed: boolean,
    copied?: Map<string, number>,
  ): Promise<void> {
    const { table, history, placement, indices } = this.parts;
    const { shards } = placement.strategy;
    const byPosition = new Map<number, Map<string, RecordRow>>();
    for (const { shard, row, note } of items) {
      for (const position of note.copies ?? []) {
        const target = shards[position];
        if (target === undefined || target === shard) continue;
        const rows = byPosition.get(position) ?? new Map<string, RecordRow>();
        byPosition.set(position, rows);
        const other = rows.get(row.id);
        // One write per id in a commit: the newest.
        const carried = indexed ? undefined : encodeNote(indices, { add: note.add, remove: note.remove });
        if (!other || newer(row, other)) rows.set(row.id, { ...row, note: carried ?? null });
      }
    }
    await settleAll(
      [...byPosition].map(async ([position, rows]) => {
        const shard = shards[position]!;
        if (!force && !isUp(shard, true)) {
          throw new ShardUnavailableError(
            `Shard ${shard.name} is skipped: it failed as unavailable recently (circuit breaker open); the copies wait in their notes for drain()`,
          );
        }
        await reported(shard, true, async () => {
          await placement.readyFor([shard]);
          await shard.commit({
            table,
            writes: [...rows.values()].map((row) => ({ row, expected: 'older' as const })),
            history,
          });
        });
        // Held there now: written, or found newer (a later write's copy, or its own commit).
        for (const id of rows.keys()) copied?.set(id, (copied.get(id) ?? 0) + 1);
      }),
    );
  }

  /** Finishes every note of the entity: see `Entity.drain`. */
  async drain(options: DrainOptions): Promise<DrainReport> {
    const { name, table, placement } = this.parts;
    const batchSize = checkCount(options.batchSize ?? 500, 1, `${name}.drain()`, 'batchSize');
    await ready(this.parts);
    await this.settle();
    const mark = shardHealth.mark; // the shards behind since before now are current once this drain succeeds
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
            finished += await this.finish(
              rows.map((row) => ({ shard, row })),
              true,
            );
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
    shardHealth.caughtUp([...placement.strategy.shards, ...indexShards(this.parts)], mark);
    return { notes, finished };
  }
}
