/**
 * The write path (DESIGN.md, "Write path"), for one record or many:
 * (1) the stored versions of updates are read and compared, and the index
 * work planned, merging any unfinished note of the stored version; (2) in
 * `sync` mode the new index rows on other shards are written; (3) the records
 * are inserted or compare-and-set with a note of the remaining index work, in
 * one commit per shard together with the index rows on that shard and the
 * history; (4) the note is finished (old rows removed where their tag is
 * older, `async` adds written) and cleared: at once in `sync` mode, in the
 * background in `async` mode, by `drain()` after a crash.
 */
import type { WriteMode } from './checks.js';
import { isTombstone, keptExactly, type Stored } from './codec.js';
import { compareValues } from './columns.js';
import type { Doc } from './doc.js';
import type { Notes } from './drain.js';
import { type EntityParts, readRows, type WriteQuorum } from './entity-parts.js';
import {
  ConflictError,
  OutcomeUnknownError,
  QuorumError,
  ShardUnavailableError,
  ValidationError,
} from './errors.js';
import { groupBy } from './group.js';
import { shardHealth, unreachable } from './health.js';
import { checkId, describe } from './names.js';
import { decodeNote, encodeNote, type Note, noRows, planWrite, type RowsByIndex } from './notes.js';
import { isPreferred, isReplicated, isUp, reported } from './replicas.js';
import { applyRows, localRows, putRows, splitWork, type TaggedRows } from './routing.js';
import type { RowValues } from './secondary-index.js';
import { colocated, replicaCount, replicasOf } from './shard-strategy.js';
import type { RecordRow } from './types.js';

/** A checked record (or a deletion) on its way to storage. */
export interface Pending<T> {
  /** The caller's record, updated in place once written. */
  readonly record: Doc<T>;
  readonly codec: string;
  readonly body: string | Uint8Array;
  /** The new index rows, one list per index. */
  readonly rows: RowsByIndex;
  /** The position of the record's shard. */
  readonly shard: number;
  /** The stored version this write replaces (0: none, an insert). */
  expected: number;
  /**
   * True for a new record (saved at version 0): it stays an insert when
   * `expected` moves past the tombstone of a deleted record with its id, and
   * its conflict says that it expected no stored record.
   */
  readonly insert?: boolean;
  /**
   * The stored row at `expected`, when the caller has just read it (update,
   * delete): the write path then does not read it again. Were it stale, the
   * compare-and-set fails as it would have.
   */
  read?: RecordRow;
  /**
   * The index rows `read` was written with, when this process wrote it (the
   * codec remembers them with the row): the write path then takes the old
   * rows from here rather than decoding the stored body and mapping it.
   * Used only while `read` is this same row object.
   */
  readonly readRows?: Stored;
  /**
   * The least version to write (an import writes the version of its file):
   * the write goes to `max(expected + 1, minVersion)`, so a version never
   * goes backwards. Default: `expected + 1`.
   */
  readonly minVersion?: number;
  /** The times to write (an import keeps those of its file). Default: kept `createdAt`, `updatedAt` now. */
  readonly times?: { readonly createdAt: number; readonly updatedAt: number };
  /** Over replicas: the positions whose commit failed as unavailable, not tried again by this write. */
  tried?: Set<number>;
}

/** A pending write whose stored version matched: what to write. */
interface Write<T> {
  readonly pending: Pending<T>;
  readonly id: string;
  readonly version: number;
  row: RecordRow;
  /** The position of the shard that commits it: the record's first reachable replica. */
  readonly position: number;
  /** Index work on the record's own shard: committed with the record. */
  readonly local: Note;
  /** Index work on other shards: adds before the commit (sync) or in the note (async), removes in the note. */
  readonly remote: Note;
  /** True when `row` is the stored row of this save's own earlier commit, whose outcome was unknown: nothing to write. */
  readonly own?: boolean;
}

/** What a save whose commit had an unknown outcome wrote: to know it again when the same record is saved again. */
interface Unsettled {
  readonly expected: number;
  readonly row: RecordRow;
}

/** True when two bodies are the same text or the same bytes. */
function sameBody(a: string | Uint8Array, b: string | Uint8Array): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The copies of a record kept on one replica: none. */
const NO_COPIES: readonly number[] = Object.freeze([]);

/**
 * True when every value of `rows` is a primitive: rows a later save can take
 * as the stored ones. A `Date` or bytes the mapper handed over may be the
 * record's own object, which the caller can change in place.
 */
function immutable(rows: RowsByIndex): boolean {
  for (const list of rows) {
    for (const values of list) for (const v of values) if (typeof v === 'object' && v !== null) return false;
  }
  return true;
}

/** The write path of one entity. */
export class WritePath<T> {
  /**
   * Per record object, the row its last save wrote when that save's commit
   * ended in an {@link OutcomeUnknownError}. Saved again unchanged (same
   * version, codec and body), the record is written with the same times,
   * and a stored row at the next version with this body, codec and update
   * time is that earlier commit: the save returns the record as saved.
   * Another writer's row with the same body (two increments of one counter
   * computing the same value) is not taken for it: its update time is its
   * own, unless both were written in the same millisecond. Only a record
   * object whose save failed with OutcomeUnknownError is ever recognised;
   * a copy of it, or the record after a restart, gets the ConflictError.
   */
  private readonly unsettled = new WeakMap<object, Unsettled>();

  /**
   * True when the records have one replica and every index lives beside
   * them (see `colocated`): a write's index work is all committed with its
   * record, and it leaves no note (no copies either).
   */
  private readonly allLocal: boolean;
  /** The remote work of a write when {@link allLocal}: none (shared, frozen). */
  private readonly noWork: Note;

  constructor(
    private readonly parts: EntityParts<T>,
    private readonly notes: Notes<T>,
  ) {
    const { indices, placement } = parts;
    this.allLocal =
      !isReplicated(placement.strategy) &&
      indices.every((index) => colocated(placement.strategy, index.strategy));
    const none = () => Object.freeze(indices.map(() => Object.freeze([]))) as unknown as RowsByIndex;
    this.noWork = Object.freeze({ add: none(), remove: none() });
  }

  /** The conflict of a write that expected `expected` and found `current`. */
  conflict(id: string, expected: number, current: RecordRow | undefined): ConflictError {
    return new ConflictError(id, expected, current?.version, current !== undefined && isTombstone(current));
  }

  /**
   * The conflict of a pending write that found `current`: from the version it
   * was checked at, never from its record's, which a concurrent save of the
   * same object may have moved on meanwhile.
   */
  private lostTo(p: Pending<T>, current: RecordRow | undefined): ConflictError {
    return this.conflict(p.record.id, p.insert ? 0 : p.expected, current);
  }

  /** The unsettled earlier write of `p`'s record when `p` writes the same (same version, codec and body). */
  private unsettledOf(p: Pending<T>): Unsettled | undefined {
    const earlier = this.unsettled.get(p.record);
    if (earlier === undefined || earlier.expected !== p.expected) return undefined;
    const { row } = earlier;
    return row.codec === p.codec && sameBody(row.body, p.body) ? earlier : undefined;
  }

  /** True when `stored` is the row the unsettled earlier write of `p` committed. */
  private isOwn(p: Pending<T>, stored: RecordRow | undefined): boolean {
    const earlier = this.unsettledOf(p);
    if (earlier === undefined || stored === undefined) return false;
    const { row } = earlier;
    return (
      stored.version === row.version &&
      stored.codec === row.codec &&
      stored.updatedAt === row.updatedAt &&
      sameBody(stored.body, row.body)
    );
  }

  /** The write of `p` found already committed as `stored` by its own earlier, unsettled save. */
  private ownWrite(p: Pending<T>, stored: RecordRow): Write<T> {
    const none: Note = { add: noRows(this.parts.indices), remove: noRows(this.parts.indices) };
    return {
      pending: p,
      id: p.record.id,
      version: stored.version,
      row: stored,
      position: p.shard,
      local: none,
      remote: none,
      own: true,
    };
  }

  /** How many record replicas a write with `quorum` waits for. */
  private required(quorum: WriteQuorum): number {
    const replicas = replicaCount(this.parts.placement.strategy);
    return quorum === 'all' ? replicas : Math.min(quorum, replicas);
  }

  /**
   * Refuses a batch, before anything is written, when the circuit breakers
   * know that fewer than `required` replicas of one of its records are up.
   */
  private refuseBelowQuorum(batch: readonly Pending<T>[], quorum: WriteQuorum, required: number): void {
    const { name, placement } = this.parts;
    const { strategy } = placement;
    for (const p of batch) {
      const list = replicasOf(strategy, { id: p.record.id });
      const down = list.filter((position) => shardHealth.stateOf(strategy.shards[position]!) === 'open');
      if (list.length - down.length < required) {
        throw new ShardUnavailableError(
          `${name}: writeQuorum ${typeof quorum === 'number' ? quorum : "'all'"} needs ${required} replicas of record "${p.record.id}", but shard ${strategy.shards[down[0]!]!.name} failed as unavailable recently (circuit breaker open); nothing was written`,
        );
      }
    }
  }

  /** True when the entity keeps its records, or an index its rows, on more than one replica. */
  private get replicated(): boolean {
    const { placement, indices } = this.parts;
    return isReplicated(placement.strategy) || indices.some((index) => isReplicated(index.strategy));
  }

  /**
   * The position that commits `p`: the first replica of its bucket whose
   * breaker lets calls through and that has not failed this write, else the
   * first not tried, else the owner (its only replica without replicas).
   */
  private commitPosition(p: Pending<T>): number {
    const { strategy } = this.parts.placement;
    if (!isReplicated(strategy)) return p.shard;
    const list = replicasOf(strategy, { id: p.record.id }).filter((position) => !p.tried?.has(position));
    const preferred = list.find((position) => isPreferred(strategy.shards[position]!)); // not behind
    return preferred ?? list.find((position) => isUp(strategy.shards[position]!, true)) ?? list[0] ?? p.shard;
  }

  /**
   * True when `p`, whose commit on `position` failed with `error`, is to be
   * committed on another replica: the commit was refused as unavailable
   * (never an unknown outcome, which may have committed) and a replica of
   * its bucket is left untried.
   */
  private retryElsewhere(p: Pending<T>, position: number, error: unknown): boolean {
    const { strategy } = this.parts.placement;
    if (!isReplicated(strategy) || !ShardUnavailableError.is(error) || OutcomeUnknownError.is(error))
      return false;
    p.tried ??= new Set();
    p.tried.add(position);
    return replicasOf(strategy, { id: p.record.id }).some((other) => !p.tried!.has(other));
  }

  /** Checks a record and computes what writing it needs, before anything touches a database. */
  prepare(record: Doc<T>, what: string): Pending<T> {
    const { name, codec, indices, placement } = this.parts;
    if (typeof record !== 'object' || record === null) {
      throw new ValidationError(
        `${name}.${what}(): expected a record made by new() or get(), got ${describe(record)}`,
      );
    }
    checkId(record.id);
    if (Object.isFrozen(record)) {
      // Its version and times are updated in place once written: refused before, not after, the write.
      throw new ValidationError(
        `${name}.${what}(): record "${record.id}" is frozen; a saved record is updated in place (version, times), so save a copy ({ ...record })`,
      );
    }
    if (!Number.isSafeInteger(record.version) || record.version < 0) {
      throw new ValidationError(
        `${name}.${what}(): record "${record.id}" has an invalid version ${describe(record.version)}`,
      );
    }
    const body = codec.encode(record);
    const rows = indices.map((index) => index.rowsOf(record));
    if (indices.length > 0 && !keptExactly(record.value)) this.checkReadBack(record, body, rows, what);
    const stored = record.version > 0 ? codec.stored(record) : undefined;
    return {
      record,
      codec: codec.current.codec,
      body,
      rows,
      shard: placement.strategy.shardOf({ id: record.id }),
      expected: record.version,
      insert: record.version === 0,
      read: stored?.row,
      readRows: stored,
    };
  }

  /**
   * Refuses a record whose index rows would differ once it is read back
   * through the serializer (a `Date` under `json()` reads back as a string):
   * queries and verification run the mapper on the value read back, so the
   * rows written must be the rows of that value.
   */
  private checkReadBack(record: Doc<T>, body: string | Uint8Array, rows: RowsByIndex, what: string): void {
    const { name, codec, indices } = this.parts;
    const serializer = codec.current;
    const suggestion =
      'store the value as the serializer keeps it (a number or an ISO string for a date), or use a serializer that keeps its type (superjson, msgpack)';
    const back = { ...record, value: serializer.decode(body) as T };
    indices.forEach((index, i) => {
      let read: RowValues[];
      try {
        read = index.storedRowsOf(back);
      } catch (error) {
        throw new ValidationError(
          `${name}.${what}(): record "${record.id}" cannot be mapped by index "${index.name}" once read back through ${serializer.codec} (${(error as Error).message}): ${suggestion}`,
          { cause: error },
        );
      }
      const given = rows[i]!;
      const same = read.length === given.length && given.every((row) => index.includesRow(read, row));
      if (same) return;
      let detail = `${given.length} row(s) from the value saved, ${read.length} from the value read back`;
      if (read.length === given.length) {
        const r = given.findIndex((row, k) => !index.sameValues(row, read[k]!));
        const c =
          r < 0
            ? -1
            : index.columnKinds.findIndex(
                (kind, k) => compareValues(kind, given[r]![k]!, read[r]![k]!) !== 0,
              );
        if (c >= 0) {
          detail = `column "${index.columnNames[c]}" is ${describe(given[r]![c])} in the value saved, ${describe(read[r]![c])} in the value read back`;
        }
      }
      throw new ValidationError(
        `${name}.${what}(): record "${record.id}" would not be found by index "${index.name}" as saved: through ${serializer.codec}, ${detail}; ${suggestion}`,
      );
    });
  }

  /** Writes a batch of checked records; throws the first error after the others are written. */
  async write(
    batch: readonly Pending<T>[],
    mode: WriteMode,
    quorum: WriteQuorum = this.parts.writeQuorum,
  ): Promise<void> {
    const errors = await this.settle(batch, mode, quorum);
    const first = batch.find((p) => errors.has(p));
    if (first) throw errors.get(first);
  }

  /** Writes a batch of checked records; returns the error of each one not written (a conflict, a failed commit). */
  async settle(
    batch: readonly Pending<T>[],
    mode: WriteMode,
    quorum: WriteQuorum = this.parts.writeQuorum,
  ): Promise<Map<Pending<T>, unknown>> {
    const { placement } = this.parts;
    const { shards } = placement.strategy;
    const required = this.required(quorum);
    if (required > 1) this.refuseBelowQuorum(batch, quorum, required);
    if (!placement.isReady) {
      await placement.readyForWrite(
        batch.map((p) => shards[p.shard]!),
        mode,
      );
    }
    for (const p of batch) {
      if (!isTombstone(p)) this.parts.codec.checkSize(p.record.id, p.body, shards[p.shard]!);
    }
    const errors = new Map<Pending<T>, unknown>();
    let round: readonly Pending<T>[] = batch;
    while (round.length > 0) round = await this.round(round, mode, required, errors);
    return errors;
  }

  /** What to write for each pending write whose stored version matches; conflicts go to `errors`. */
  private plan(
    batch: readonly Pending<T>[],
    stored: ReadonlyMap<string, RecordRow>,
    mode: WriteMode,
    errors: Map<Pending<T>, unknown>,
  ): Write<T>[] {
    const { indices, placement } = this.parts;
    const now = Date.now();
    const writes: Write<T>[] = [];
    for (const p of batch) {
      const id = p.record.id;
      const current: RecordRow | undefined =
        p.expected > 0 && p.read?.version === p.expected ? p.read : stored.get(id);
      if (p.expected > 0 && this.isOwn(p, current)) {
        writes.push(this.ownWrite(p, current!));
        continue;
      }
      if (p.expected > 0 && current?.version !== p.expected) {
        errors.set(p, this.lostTo(p, current));
        continue;
      }
      const live = current !== undefined && !isTombstone(current);
      // Nothing stored and no unfinished note (a new record): every row is added, none removed.
      const work =
        !live && !current?.note
          ? { add: p.rows, remove: noRows(indices) }
          : planWrite(
              indices,
              live ? this.storedRows(p, current) : noRows(indices),
              p.rows,
              decodeNote(indices, current?.note),
            );
      const position = this.commitPosition(p);
      const { local, remote } = this.allLocal
        ? { local: work, remote: this.noWork }
        : splitWork(indices, placement.strategy, id, work, placement.strategy.shards[position]!);
      const copies =
        replicaCount(placement.strategy) === 1
          ? NO_COPIES
          : replicasOf(placement.strategy, { id }).filter((other) => other !== position);
      const note = this.allLocal
        ? null
        : (encodeNote(indices, {
            ...(mode === 'sync' ? { add: noRows(indices), remove: remote.remove } : remote),
            copies,
          }) ?? null);
      const version = Math.max(p.expected + 1, p.minVersion ?? 0);
      const times = p.times ?? this.unsettledOf(p)?.row;
      writes.push({
        pending: p,
        id,
        version,
        position,
        local,
        remote,
        row: {
          id,
          version,
          codec: p.codec,
          body: p.body,
          createdAt: times?.createdAt ?? (live ? current.createdAt : now),
          updatedAt: times?.updatedAt ?? now,
          note,
        },
      });
    }
    return writes;
  }

  /**
   * The index rows of `current`, the live stored row `p` replaces: those it
   * was written with when this process wrote it and `p` carries them, else
   * the mapper's rows of its decoded value.
   */
  private storedRows(p: Pending<T>, current: RecordRow): RowsByIndex {
    const known = p.readRows;
    if (known?.rows !== undefined && known.row === current) return known.rows;
    const { indices, codec } = this.parts;
    const doc = codec.decode(current);
    return indices.map((index) => index.storedRowsOf(doc));
  }

  /** One pass of {@link WritePath.write}; returns the inserts to retry over a tombstone. */
  private async round(
    batch: readonly Pending<T>[],
    mode: WriteMode,
    required: number,
    errors: Map<Pending<T>, unknown>,
  ): Promise<Pending<T>[]> {
    const { indices, table, history, placement, onIndexError } = this.parts;
    const unread = batch.filter((p) => p.expected > 0 && p.read?.version !== p.expected);
    const stored =
      unread.length > 0
        ? await readRows(
            this.parts,
            unread.map((p) => p.record.id),
          )
        : new Map();
    const planned = this.plan(batch, stored, mode, errors);
    const writes = planned.filter((w) => !w.own);
    // Sync mode puts the rows on other shards first (none when every index lives beside the records).
    if (mode === 'sync' && writes.some((w) => w.remote.add.some((rows) => rows.length > 0))) {
      const items = writes.map((w) => ({ id: w.id, version: w.version, rows: w.remote.add }));
      if (!this.replicated) await applyRows(indices, items, 'put');
      else {
        // A replica that did not take its rows gets them from the note, as in async mode.
        const incomplete = await putRows(indices, items);
        for (const w of writes) {
          if (!incomplete.has(w.id)) continue;
          const note = decodeNote(indices, w.row.note);
          w.row = { ...w.row, note: encodeNote(indices, { ...note, add: w.remote.add }) ?? null };
        }
      }
    }
    const won: Write<T>[] = planned.filter((w) => w.own);
    const lost: Write<T>[] = [];
    const failedOver: Pending<T>[] = [];
    await Promise.all(
      [...groupBy(writes, (w) => w.position)].map(async ([position, group]) => {
        const tagged = (pick: (w: Write<T>) => RowsByIndex) =>
          localRows(
            indices,
            group.map((w) => ({ id: w.id, version: w.version, rows: pick(w) })),
          );
        const shard = placement.strategy.shards[position]!;
        try {
          const done = await reported(shard, this.replicated, async () => {
            if (!placement.isReady) await placement.readyFor([shard]);
            return shard.commit({
              table,
              writes: group.map((w) => ({ row: w.row, expected: w.pending.expected })),
              put: tagged((w) => w.local.add),
              delete: tagged((w) => w.local.remove),
              history,
            });
          });
          group.forEach((w, i) => {
            (done[i] ? won : lost).push(w);
          });
        } catch (error) {
          for (const w of group) {
            if (this.retryElsewhere(w.pending, position, error)) {
              failedOver.push(w.pending);
              continue;
            }
            errors.set(w.pending, error);
            // Saved again unchanged, the record is written alike, and its stored row known for this commit's.
            if (OutcomeUnknownError.is(error)) {
              this.unsettled.set(w.pending.record, { expected: w.pending.expected, row: w.row });
            }
          }
        }
      }),
    );
    const retry: Pending<T>[] = [...failedOver];
    if (lost.length > 0) {
      const current = await readRows(
        this.parts,
        lost.map((w) => w.id),
      );
      const leftovers: TaggedRows[] = [];
      for (const w of lost) {
        const row = current.get(w.id);
        if (this.isOwn(w.pending, row)) {
          // This save's own earlier commit, whose outcome was unknown: saved.
          won.push(this.ownWrite(w.pending, row!));
          continue;
        }
        // Also before a retry: the rows put now carry a version that will never be committed.
        if (mode === 'sync' && row) leftovers.push(this.leftovers(w, row));
        if (w.pending.insert && row && isTombstone(row)) {
          // The id was deleted before: the new record continues its versions, after the tombstone.
          w.pending.expected = row.version;
          retry.push(w.pending);
        } else errors.set(w.pending, this.lostTo(w.pending, row));
      }
      await applyRows(indices, leftovers, 'delete').catch((error) => onIndexError(error));
    }
    for (const w of won) {
      this.unsettled.delete(w.pending.record);
      w.pending.record.version = w.version;
      w.pending.record.createdAt = new Date(w.row.createdAt);
      w.pending.record.updatedAt = new Date(w.row.updatedAt);
      if (!isTombstone(w.row)) {
        const { rows } = w.pending;
        this.parts.codec.remember(w.pending.record, w.row, w.own || !immutable(rows) ? undefined : rows);
      }
    }
    const noted = won
      .filter((w) => w.row.note !== null)
      .map((w) => ({ shard: placement.strategy.shards[w.position]!, row: w.row }));
    const copied = new Map<string, number>();
    if (noted.length > 0) {
      const finishing = this.notes.finish(noted, false, copied).then(
        () => {},
        (error) => {
          // Over replicas, what a down replica missed is handed off: tried again in the background.
          if (this.replicated && unreachable(error)) {
            this.notes.handOff(noted);
          }
          onIndexError(error);
        },
      );
      // A quorum above 1 waits for the copies, in both modes.
      if (mode === 'sync' || required > 1) await finishing;
      else this.notes.track(finishing);
    }
    if (required > 1) {
      for (const w of won) {
        const holders = 1 + (copied.get(w.id) ?? 0);
        if (!w.own && holders < required) errors.set(w.pending, new QuorumError(w.id, holders, required));
      }
    }
    return retry;
  }

  /**
   * The rows a sync write put before losing its compare-and-set to `current`:
   * those the current version does not produce, to delete where tagged up to
   * it (the same rows read-repair would remove; a newer writer's survive).
   */
  private leftovers(w: Write<T>, current: RecordRow): TaggedRows {
    const { indices, codec } = this.parts;
    let produced = noRows(indices);
    try {
      if (!isTombstone(current)) {
        const doc = codec.decode(current);
        produced = indices.map((index) => index.rowsOf(doc));
      }
    } catch {
      return { id: w.id, version: current.version + 1, rows: noRows(indices) }; // left to repair()
    }
    const rows = indices.map((index, i) =>
      (w.remote.add[i] ?? []).filter((values) => !index.includesRow(produced[i]!, values)),
    );
    return { id: w.id, version: current.version + 1, rows };
  }
}
