import type { Doc } from './doc.js';
import {
  ConflictError,
  NotFoundError,
  SerializationError,
  ShardMapError,
  ValidationError,
  WaffleError,
} from './errors.js';
import { groupBy } from './group.js';
import { uuidv7 } from './id.js';
import { checkId, checkName, describe, MAX_ENTITY_NAME } from './names.js';
import { decodeNote, encodeNote, type Note, noRows, planWrite, type RowsByIndex } from './notes.js';
import type { Predicate } from './predicate.js';
import { Query, type QuerySource, type SelectOptions } from './query.js';
import type { Index } from './secondary-index.js';
import { colocated, ShardByPrimaryKey } from './shard-strategy.js';
import type {
  EntityTableSpec,
  HistoryRow,
  HistoryTableSpec,
  IndexRow,
  RecordRow,
  Serializer,
  Shard,
  ShardStrategy,
  TableSpec,
} from './types.js';
import { checkIndex, type IndexReport, type VerifyReport } from './verify.js';

/** Options of an {@link Entity}. */
export interface EntityOptions<T> {
  /** Where records live: shards (sharded by the hash of the id) or a strategy. */
  readonly shards: readonly Shard[] | ShardStrategy;
  /** Secondary indices kept up to date on every write. */
  readonly indices?: readonly Index<T, any>[];
  /** Encodes values for storage, e.g. `json()` from `@waffle/serializer-json`. */
  readonly serializer: Serializer;
  /**
   * Serializers of rows written before the current one (a serializer change):
   * rows keep the codec tag they were written with, and are read by the
   * serializer with that tag. See {@link Entity.reencode} to rewrite them.
   */
  readonly readers?: readonly Serializer[];
  /**
   * Largest encoded record, in bytes: a larger one is a `ValidationError`
   * before anything is written. A shard's own limit (`limits.maxBodyBytes`)
   * applies as well.
   */
  readonly maxBodyBytes?: number;
  /**
   * Whether queries delete the stale index rows they meet (default true):
   * rows the record's committed version does not produce, tagged with that
   * version or an older one.
   */
  readonly readRepair?: boolean;
  /**
   * How writes keep the indices (default `sync`); a write can choose for
   * itself. `sync`: the new index rows are written before the record, so an
   * index query never misses a committed record. `async`: the record commits
   * with its index work as a note (an outbox) that is applied right after,
   * in the background, and by {@link Entity.drain}: writes go on while an
   * index database is down, and queries may miss a record until then.
   */
  readonly mode?: WriteMode;
  /**
   * Keep every version of every record in a history table (`<entity>__history`
   * on the record's shard, written in the record's transaction), read with
   * {@link Entity.history} and `get(id, { version })`. Default false.
   */
  readonly history?: boolean;
  /**
   * Called with each failure of index work done after a commit (removing the
   * old rows of a `sync` write, applying an `async` write's note). The work
   * stays in the record's note, and {@link Entity.drain} finishes it.
   */
  readonly onIndexError?: (error: unknown) => void;
}

/** How a write keeps the indices: see {@link EntityOptions.mode}. */
export type WriteMode = 'sync' | 'async';

/** Options of a write. */
export interface WriteOptions {
  /** Overrides the entity's {@link EntityOptions.mode} for this write. */
  readonly mode?: WriteMode;
}

/** Options of {@link Entity.delete}. */
export interface DeleteOptions extends WriteOptions {
  /** Delete only this version, else {@link ConflictError}. */
  readonly expectedVersion?: number;
}

/** Options of {@link Entity.get}. */
export interface GetOptions {
  /** Read this version from the history (an entity with `history: true`). */
  readonly version?: number;
}

/** One version of a record, from {@link Entity.history}. */
export interface Version<T> {
  readonly id: string;
  readonly version: number;
  /** The value at this version; `undefined` for a deletion. */
  readonly value: T | undefined;
  /** True for the version that deleted the record (a tombstone). */
  readonly deleted: boolean;
  readonly createdAt: Date;
  /** When this version was written. */
  readonly updatedAt: Date;
}

/** Options of {@link Entity.drain}. */
export interface DrainOptions {
  /** Notes read per statement (default 500). */
  readonly batchSize?: number;
  /** Stops between batches. */
  readonly signal?: AbortSignal;
}

/** What {@link Entity.drain} did. */
export interface DrainReport {
  /** Notes found (unfinished writes). */
  readonly notes: number;
  /** Notes finished and cleared (the others were overtaken by a newer write, which carries their work). */
  readonly finished: number;
}

/** Options of {@link Entity.reencode}. */
export interface ReencodeOptions {
  /** Records read per statement (default 500). */
  readonly batchSize?: number;
  /** Called after each batch with the counts so far. */
  readonly onProgress?: (progress: ReencodeReport) => void;
  /** Stops the rewrite between batches. */
  readonly signal?: AbortSignal;
}

/** What {@link Entity.reencode} did. */
export interface ReencodeReport {
  /** Records read. */
  readonly scanned: number;
  /** Records rewritten with the current serializer. */
  readonly rewritten: number;
  /** Records skipped because a writer changed them meanwhile (they are then written with the current codec). */
  readonly skipped: number;
}

/** Options of {@link Entity.update}. */
export interface UpdateOptions extends WriteOptions {
  /** How many times to retry after a {@link ConflictError} (default 5). */
  readonly retries?: number;
}

/** Options of {@link Entity.scan}. */
export interface ScanOptions {
  /** Records read per statement (default 500). */
  readonly batchSize?: number;
}

/**
 * The codec tag of a tombstone: the row a delete leaves (empty body, no index
 * rows), so that a record's versions never repeat, even when its id is used
 * again. Serializers' tags are never empty.
 */
const TOMBSTONE = '';

const isTombstone = (row: { codec: string }) => row.codec === TOMBSTONE;

/** A checked record (or a deletion) on its way to storage. */
interface Pending<T> {
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
   * The stored row at `expected`, when the caller has just read it (update,
   * delete): the write path then does not read it again. Were it stale, the
   * compare-and-set fails as it would have.
   */
  read?: RecordRow;
}

/** A pending write whose stored version matched: what to write. */
interface Write<T> {
  readonly pending: Pending<T>;
  readonly id: string;
  readonly version: number;
  readonly row: RecordRow;
  /** Index work on the record's own shard: done in the record's transaction. */
  readonly local: Note;
  /** Index work on other shards: adds before the commit (sync) or in the note (async), removes in the note. */
  readonly remote: Note;
}

/** Index rows of records, each list tagged with its record's version. */
interface TaggedRows {
  readonly id: string;
  readonly version: number;
  readonly rows: RowsByIndex;
}

const identity = (value: object) => JSON.stringify(value);

/**
 * A kind of document, stored schema-less over shards and found through its
 * indices. See the package README for the guarantees of each method.
 */
export class Entity<T> {
  readonly name: string;
  readonly strategy: ShardStrategy;
  readonly indices: readonly Index<T, any>[];
  readonly serializer: Serializer;
  /** The largest encoded record this entity writes, if limited. */
  readonly maxBodyBytes: number | undefined;
  /** @internal Every serializer that can read rows, by codec tag. */
  readonly codecs: ReadonlyMap<string, Serializer>;
  /** The default {@link WriteMode} of writes. */
  readonly mode: WriteMode;
  /** @internal */
  readonly table: EntityTableSpec;
  /** @internal The history table, when the entity keeps history. */
  readonly historyTable: HistoryTableSpec | undefined;
  private checked: Promise<void> | undefined;
  private readonly source: QuerySource<T>;
  private readonly onIndexError: (error: unknown) => void;
  /** Index work running after commits (async writes), awaited by {@link Entity.drain}. */
  private readonly inflight = new Set<Promise<void>>();

  constructor(name: string, options: EntityOptions<T>) {
    this.name = checkName('entity', name, MAX_ENTITY_NAME);
    if (typeof options !== 'object' || options === null) {
      throw new ValidationError(`Entity "${name}": options are required ({ shards, serializer, indices? })`);
    }
    this.strategy = Array.isArray(options.shards)
      ? new ShardByPrimaryKey(options.shards)
      : (options.shards as ShardStrategy);
    if (!this.strategy || typeof this.strategy.shardOf !== 'function') {
      throw new ValidationError(`Entity "${name}": shards must be an array of shards or a ShardStrategy`);
    }
    const serializer = options.serializer;
    if (!isSerializer(serializer)) {
      throw new ValidationError(
        `Entity "${name}": a serializer is required, e.g. json() from @waffle/serializer-json`,
      );
    }
    this.serializer = serializer;
    const codecs = new Map([[serializer.codec, serializer]]);
    for (const reader of options.readers ?? []) {
      if (!isSerializer(reader)) {
        throw new ValidationError(`Entity "${name}": readers must be serializers, got ${describe(reader)}`);
      }
      if (codecs.has(reader.codec)) {
        throw new ValidationError(`Entity "${name}": two serializers have the codec tag "${reader.codec}"`);
      }
      codecs.set(reader.codec, reader);
    }
    this.codecs = codecs;
    const max = options.maxBodyBytes;
    if (max !== undefined) checkCount(max, 1, `Entity "${name}"`, 'maxBodyBytes');
    this.maxBodyBytes = max;
    this.mode = checkMode(options.mode, `Entity "${name}"`) ?? 'sync';
    const onIndexError = options.onIndexError;
    if (onIndexError !== undefined && typeof onIndexError !== 'function') {
      throw new ValidationError(
        `Entity "${name}": onIndexError must be a function, got ${describe(onIndexError)}`,
      );
    }
    this.onIndexError = onIndexError ?? (() => {});
    const history = `${name}__history`;
    this.historyTable = options.history ? { kind: 'history', name: history } : undefined;
    this.indices = [...(options.indices ?? [])];
    const names = new Set([name, history]);
    for (const index of this.indices) {
      if (typeof index?.rowsOf !== 'function') {
        throw new ValidationError(`Entity "${name}": indices must be Index objects, got ${describe(index)}`);
      }
      if (names.has(index.name)) {
        throw new ValidationError(
          `Entity "${name}": the name "${index.name}" is used twice (tables share one namespace)`,
        );
      }
      names.add(index.name);
    }
    this.table = { kind: 'entity', name };
    this.source = {
      name,
      indices: this.indices,
      fetch: (ids) => this.fetch(ids),
      ready: () => this.ready(),
      readRepair: options.readRepair ?? true,
      joined: (index) => (colocated(this.strategy, index.strategy) ? this.table : undefined),
      decode: (row) => (isTombstone(row) ? undefined : this.decode(row)),
    };
  }

  /** Every (shard, table, identity) this entity relies on. */
  private placements(): { shard: Shard; table: TableSpec; identity: string }[] {
    const out = this.strategy.shards.map((shard, position) => ({
      shard,
      table: this.table as TableSpec,
      identity: identity({ kind: 'entity', layout: this.strategy.layout, position }),
    }));
    const history = this.historyTable;
    if (history) {
      this.strategy.shards.forEach((shard, position) => {
        out.push({
          shard,
          table: history,
          identity: identity({ kind: 'history', layout: this.strategy.layout, position }),
        });
      });
    }
    for (const index of this.indices) {
      index.strategy.shards.forEach((shard, position) => {
        out.push({
          shard,
          table: index.table,
          identity: identity({ kind: 'index', entity: this.name, layout: index.strategy.layout, position }),
        });
      });
    }
    return out;
  }

  private mismatch(shard: Shard, table: string, stored: string, expected: string): ShardMapError {
    return new ShardMapError(
      `Shard ${shard.name} holds table "${table}" as ${stored}, but it was given as ${expected}: ` +
        'shards must be given in the same order and number as when the data was created',
    );
  }

  /**
   * Creates the entity's table and its indices' tables on every shard where
   * they are missing, and records each shard's identity. Idempotent; refuses
   * shards given in another order or number than before.
   */
  async create(): Promise<void> {
    const placements = this.placements();
    const byShard = groupBy(placements, (p) => p.shard);
    await Promise.all(
      [...byShard].map(([shard, group]) => shard.createTables([...new Set(group.map((p) => p.table))])),
    );
    // One shard at a time per table, so one database given twice is caught rather than raced.
    for (const p of placements) {
      const stored = await p.shard.writeMeta(p.table.name, p.identity);
      if (stored !== p.identity) throw this.mismatch(p.shard, p.table.name, stored, p.identity);
    }
    this.checked = Promise.resolve();
  }

  /** @internal Checks once that every shard holds what this entity expects. */
  ready(): Promise<void> {
    this.checked ??= this.check().catch((error) => {
      this.checked = undefined;
      throw error;
    });
    return this.checked;
  }

  private async check(): Promise<void> {
    const placements = this.placements();
    const keysByShard = new Map<Shard, string[]>();
    for (const p of placements) keysByShard.set(p.shard, [...(keysByShard.get(p.shard) ?? []), p.table.name]);
    const metas = new Map(
      await Promise.all(
        [...keysByShard].map(async ([shard, keys]) => [shard, await shard.readMeta(keys)] as const),
      ),
    );
    for (const p of placements) {
      const stored = metas.get(p.shard)!.get(p.table.name);
      if (stored === undefined) {
        throw new ShardMapError(
          `Shard ${p.shard.name} has no table "${p.table.name}" yet: run create() first`,
        );
      }
      if (stored !== p.identity) throw this.mismatch(p.shard, p.table.name, stored, p.identity);
    }
  }

  /** A new, unsaved record (version 0) with a time-ordered id unless `id` is given. */
  new(value: T, options: { id?: string } = {}): Doc<T> {
    const id = options.id === undefined ? uuidv7() : checkId(options.id);
    const now = new Date();
    return { id, value, version: 0, createdAt: now, updatedAt: now };
  }

  private shardOfId(id: string): Shard {
    return this.strategy.shards[this.strategy.shardOf({ id })]!;
  }

  private encode(doc: Doc<T>): string | Uint8Array {
    let body: string | Uint8Array;
    try {
      body = this.serializer.encode(doc.value);
    } catch (error) {
      if (WaffleError.is(error)) throw error;
      throw new SerializationError(
        `Record "${doc.id}" of ${this.name} cannot be encoded with ${this.serializer.codec}`,
        {
          cause: error,
        },
      );
    }
    if (typeof body !== 'string' && !(body instanceof Uint8Array)) {
      throw new SerializationError(
        `Serializer ${this.serializer.codec} returned ${describe(body)}, not a string or bytes`,
      );
    }
    return body;
  }

  /** Refuses a body larger than the entity or the shard accepts, before anything is written. */
  private checkSize(id: string, body: string | Uint8Array, shard: Shard): void {
    const limits = [this.maxBodyBytes, shard.limits.maxBodyBytes].filter((n): n is number => n !== undefined);
    if (limits.length === 0) return;
    const max = Math.min(...limits);
    // A string's UTF-8 size is at most 3 bytes per UTF-16 unit: measure only when that could exceed the limit.
    const size = typeof body === 'string' ? (body.length * 3 <= max ? 0 : utf8Length(body)) : body.length;
    if (size > max) {
      throw new ValidationError(
        `Record "${id}" of ${this.name} is ${size} bytes once encoded, more than the ${max} bytes ${
          max === this.maxBodyBytes ? 'this entity allows (maxBodyBytes)' : `shard ${shard.name} accepts`
        }`,
      );
    }
  }

  private decode(row: RecordRow): Doc<T> {
    const serializer = this.codecs.get(row.codec);
    if (!serializer) {
      throw new SerializationError(
        `Record "${row.id}" of ${this.name} was written with codec "${row.codec}", which is not configured: ` +
          `add its serializer to the entity's readers (configured: ${[...this.codecs.keys()].map((c) => `"${c}"`).join(', ')})`,
      );
    }
    let value: T;
    try {
      value = serializer.decode(row.body) as T;
    } catch (error) {
      if (WaffleError.is(error)) throw error;
      throw new SerializationError(`Record "${row.id}" of ${this.name} cannot be decoded with ${row.codec}`, {
        cause: error,
      });
    }
    return {
      id: row.id,
      value,
      version: row.version,
      createdAt: new Date(row.createdAt),
      updatedAt: new Date(row.updatedAt),
    };
  }

  private checkDoc(doc: Doc<T>, what: string): void {
    if (typeof doc !== 'object' || doc === null) {
      throw new ValidationError(
        `${this.name}.${what}(): expected a record made by new() or get(), got ${describe(doc)}`,
      );
    }
    checkId(doc.id);
    if (!Number.isSafeInteger(doc.version) || doc.version < 0) {
      throw new ValidationError(
        `${this.name}.${what}(): record "${doc.id}" has an invalid version ${describe(doc.version)}`,
      );
    }
  }

  /** Where an index row goes: the position of its shard in the index's strategy. */
  private shardOfRow(index: Index<any, any>, row: IndexRow): number {
    return index.strategy.shardOf({ id: row.id, row: index.rowObject(row.values) });
  }

  /** Index rows grouped by (index, shard), each row tagged with its record's version. */
  private rowGroups(
    items: readonly TaggedRows[],
  ): { shard: Shard; index: Index<any, any>; rows: IndexRow[] }[] {
    const out: { shard: Shard; index: Index<any, any>; rows: IndexRow[] }[] = [];
    this.indices.forEach((index, i) => {
      const rows: IndexRow[] = [];
      for (const { id, version, rows: lists } of items) {
        for (const values of lists[i] ?? []) rows.push({ id, values, version });
      }
      for (const [position, group] of groupBy(rows, (row) => this.shardOfRow(index, row)))
        out.push({ shard: index.strategy.shards[position]!, index, rows: group });
    });
    return out;
  }

  /** Writes rows (each group in parallel), or deletes them where their tag is older than the row's version. */
  private applyRows(items: readonly TaggedRows[], how: 'put' | 'delete'): Promise<void> {
    return settleAll(
      this.rowGroups(items).map(({ shard, index, rows }) =>
        how === 'put' ? shard.putIndexRows(index.table, rows) : shard.deleteIndexRows(index.table, rows),
      ),
    );
  }

  /** Splits a record's index work into the rows on its own shard and the others. */
  private split(id: string, work: Note, home: Shard): { local: Note; remote: Note } {
    const part = (lists: RowsByIndex, here: boolean): RowsByIndex =>
      this.indices.map((index, i) =>
        (lists[i] ?? []).filter(
          (values) =>
            (index.strategy.shards[this.shardOfRow(index, { id, values, version: 0 })] === home) === here,
        ),
      );
    return {
      local: { add: part(work.add, true), remove: part(work.remove, true) },
      remote: { add: part(work.add, false), remove: part(work.remove, false) },
    };
  }

  /** Checks a record and computes what writing it needs, before anything touches a database. */
  private prepare(record: Doc<T>, what: string): Pending<T> {
    this.checkDoc(record, what);
    return {
      record,
      codec: this.serializer.codec,
      body: this.encode(record),
      rows: this.indices.map((index) => index.rowsOf(record)),
      shard: this.strategy.shardOf({ id: record.id }),
      expected: record.version,
    };
  }

  private conflict(id: string, expected: number, current: RecordRow | undefined): ConflictError {
    return new ConflictError(id, expected, current?.version, current !== undefined && isTombstone(current));
  }

  /**
   * The write path, for one record or many (see DESIGN.md, "Write path"):
   * (1) the stored versions of updates are read and compared, and the index
   * work planned, merging any unfinished note of the stored version; (2) in
   * `sync` mode the new index rows on other shards are written; (3) the
   * records are inserted or compare-and-set with a note of the remaining
   * index work, in one transaction per shard together with the index rows on
   * that shard and the history; (4) the note is finished (old rows removed
   * where their tag is older, `async` adds written) and cleared: at once in
   * `sync` mode, in the background in `async` mode, by `drain()` after a crash.
   */
  private async write(batch: readonly Pending<T>[], mode: WriteMode): Promise<void> {
    await this.ready();
    for (const p of batch) {
      if (!isTombstone(p)) this.checkSize(p.record.id, p.body, this.strategy.shards[p.shard]!);
    }
    const errors = new Map<Pending<T>, unknown>();
    let round: readonly Pending<T>[] = batch;
    while (round.length > 0) round = await this.writeRound(round, mode, errors);
    const first = batch.find((p) => errors.has(p));
    if (first) throw errors.get(first);
  }

  /** One pass of {@link Entity.write}; returns the inserts to retry over a tombstone. */
  private async writeRound(
    batch: readonly Pending<T>[],
    mode: WriteMode,
    errors: Map<Pending<T>, unknown>,
  ): Promise<Pending<T>[]> {
    const unread = batch.filter((p) => p.expected > 0 && p.read?.version !== p.expected);
    const stored = unread.length > 0 ? await this.fetchRows(unread.map((p) => p.record.id)) : new Map();
    const now = Date.now();
    const writes: Write<T>[] = [];
    for (const p of batch) {
      const id = p.record.id;
      const current: RecordRow | undefined =
        p.expected > 0 && p.read?.version === p.expected ? p.read : stored.get(id);
      if (p.expected > 0 && current?.version !== p.expected) {
        errors.set(p, this.conflict(id, p.record.version, current));
        continue;
      }
      const live = current && !isTombstone(current) ? this.decode(current) : undefined;
      const before = live ? this.indices.map((index) => index.rowsOf(live)) : noRows(this.indices);
      const work = planWrite(this.indices, before, p.rows, decodeNote(this.indices, current?.note));
      const { local, remote } = this.split(id, work, this.strategy.shards[p.shard]!);
      const noted: Note = mode === 'sync' ? { add: noRows(this.indices), remove: remote.remove } : remote;
      const version = p.expected + 1;
      writes.push({
        pending: p,
        id,
        version,
        local,
        remote,
        row: {
          id,
          version,
          codec: p.codec,
          body: p.body,
          createdAt: live ? live.createdAt.getTime() : now,
          updatedAt: now,
          note: encodeNote(this.indices, noted) ?? null,
        },
      });
    }
    if (mode === 'sync') {
      await this.applyRows(
        writes.map((w) => ({ id: w.id, version: w.version, rows: w.remote.add })),
        'put',
      );
    }
    const won: Write<T>[] = [];
    const lost: Write<T>[] = [];
    await Promise.all(
      [...groupBy(writes, (w) => w.pending.shard)].map(async ([position, group]) => {
        const shard = this.strategy.shards[position]!;
        const tagged = (pick: (w: Write<T>) => RowsByIndex) =>
          this.rowGroups(group.map((w) => ({ id: w.id, version: w.version, rows: pick(w) }))).map((g) => ({
            table: g.index.table,
            rows: g.rows,
          }));
        try {
          const done = await shard.commit({
            table: this.table,
            writes: group.map((w) => ({ row: w.row, expected: w.pending.expected })),
            put: tagged((w) => w.local.add),
            delete: tagged((w) => w.local.remove),
            history: this.historyTable,
          });
          group.forEach((w, i) => {
            (done[i] ? won : lost).push(w);
          });
        } catch (error) {
          for (const w of group) errors.set(w.pending, error);
        }
      }),
    );
    const retry: Pending<T>[] = [];
    if (lost.length > 0) {
      const current = await this.fetchRows(lost.map((w) => w.id));
      const leftovers: TaggedRows[] = [];
      for (const w of lost) {
        const row = current.get(w.id);
        // Also before a retry: the rows put now carry a version that will never be committed.
        if (mode === 'sync' && row) leftovers.push(this.leftovers(w, row));
        if (w.pending.expected === 0 && row && isTombstone(row)) {
          // The id was deleted before: the new record continues its versions, after the tombstone.
          w.pending.expected = row.version;
          retry.push(w.pending);
        } else errors.set(w.pending, this.conflict(w.id, w.pending.record.version, row));
      }
      await this.applyRows(leftovers, 'delete').catch((error) => this.onIndexError(error));
    }
    for (const w of won) {
      w.pending.record.version = w.version;
      w.pending.record.createdAt = new Date(w.row.createdAt);
      w.pending.record.updatedAt = new Date(w.row.updatedAt);
    }
    const notes = won
      .filter((w) => w.row.note !== null)
      .map((w) => ({ shard: this.strategy.shards[w.pending.shard]!, row: w.row }));
    if (notes.length > 0) {
      const finishing = this.finish(notes).then(
        () => {},
        (error) => this.onIndexError(error),
      );
      if (mode === 'sync') await finishing;
      else this.track(finishing);
    }
    return retry;
  }

  /**
   * The rows a sync write put before losing its compare-and-set to `current`:
   * those the current version does not produce, to delete where tagged up to
   * it (the same rows read-repair would remove; a newer writer's survive).
   */
  private leftovers(w: Write<T>, current: RecordRow): TaggedRows {
    let produced = noRows(this.indices);
    try {
      if (!isTombstone(current)) {
        const doc = this.decode(current);
        produced = this.indices.map((index) => index.rowsOf(doc));
      }
    } catch {
      return { id: w.id, version: current.version + 1, rows: noRows(this.indices) }; // left to repair()
    }
    const rows = this.indices.map((index, i) =>
      (w.remote.add[i] ?? []).filter((values) => !produced[i]!.some((p) => index.sameValues(p, values))),
    );
    return { id: w.id, version: current.version + 1, rows };
  }

  /** Keeps background work until it settles, for {@link Entity.drain}. */
  private track(work: Promise<void>): void {
    const tracked = work.finally(() => this.inflight.delete(tracked));
    this.inflight.add(tracked);
  }

  /**
   * Finishes the notes of records: writes their rows to add and deletes their
   * rows to remove (where the tag is older than the record's version), then
   * clears each note if the record is still at that version. When it is not,
   * the newer write carries the work; rows this note added are deleted again
   * where still tagged with the old version (the newer write re-adds those it
   * produces). Returns how many notes were cleared.
   */
  private async finish(notes: readonly { shard: Shard; row: RecordRow }[]): Promise<number> {
    const items = notes.map(({ row }) => ({ row, note: decodeNote(this.indices, row.note) }));
    await this.applyRows(
      items.map(({ row, note }) => ({ id: row.id, version: row.version, rows: note.add })),
      'put',
    );
    await this.applyRows(
      items.map(({ row, note }) => ({ id: row.id, version: row.version, rows: note.remove })),
      'delete',
    );
    const cleared = new Map<RecordRow, boolean>();
    await Promise.all(
      [...groupBy(notes, (n) => n.shard)].map(async ([shard, group]) => {
        const done = await shard.clearNotes(
          this.table,
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
    await this.applyRows(
      overtaken.map(({ row, note }) => ({ id: row.id, version: row.version + 1, rows: note.add })),
      'delete',
    );
    return [...cleared.values()].filter(Boolean).length;
  }

  /**
   * Finishes the index work that writes left in their records' notes: the
   * `async` writes not applied yet, and the writes of processes that crashed
   * after committing. Waits for this process's own background work first.
   * Safe at any time, also while others write; long-lived processes can run
   * it periodically. Throws the first failure after trying every note.
   */
  async drain(options: DrainOptions = {}): Promise<DrainReport> {
    const batchSize = checkCount(options.batchSize ?? 500, 1, `${this.name}.drain()`, 'batchSize');
    await this.ready();
    await Promise.allSettled([...this.inflight]);
    let notes = 0;
    let finished = 0;
    const failures: unknown[] = [];
    for (const shard of this.strategy.shards) {
      let after: string | undefined;
      for (;;) {
        options.signal?.throwIfAborted();
        const rows = await shard.scanRecords(this.table, { after, limit: batchSize, notes: true });
        notes += rows.length;
        if (rows.length > 0) {
          try {
            finished += await this.finish(rows.map((row) => ({ shard, row })));
          } catch (error) {
            failures.push(error);
          }
        }
        if (rows.length < batchSize) break;
        after = rows[rows.length - 1]!.id;
      }
    }
    if (failures.length > 0) throw failures[0];
    return { notes, finished };
  }

  /**
   * Inserts a new record (version 0 → 1, or after the tombstone of a deleted
   * record with the same id) or updates a stored one at the version it was
   * read (v → v + 1); updates `record.version`, `record.createdAt` and
   * `record.updatedAt` in place and returns the record. Throws
   * {@link ConflictError} when the stored version differs, or when a new
   * record's id exists. See the README for what readers see meanwhile.
   */
  async save(record: Doc<T>, options: WriteOptions = {}): Promise<Doc<T>> {
    const mode = this.modeOf(options, 'save');
    await this.write([this.prepare(record, 'save')], mode);
    return record;
  }

  /**
   * Saves many records. Every record is checked (ids distinct, values
   * encodable, mapper rows valid) before any is written; then index rows go
   * in one statement per index shard, and the records of each shard in one
   * transaction (new records in multi-row inserts). Records that conflict are not written; the first error, if
   * any, is thrown after the others are saved.
   */
  async saveMany(records: readonly Doc<T>[], options: WriteOptions = {}): Promise<Doc<T>[]> {
    if (!Array.isArray(records)) {
      throw new ValidationError(
        `${this.name}.saveMany(): expected an array of records, got ${describe(records)}`,
      );
    }
    const mode = this.modeOf(options, 'saveMany');
    const ids = new Set<string>();
    const batch = records.map((record) => {
      const pending = this.prepare(record, 'saveMany');
      if (ids.has(record.id))
        throw new ValidationError(`${this.name}.saveMany(): record "${record.id}" appears twice`);
      ids.add(record.id);
      return pending;
    });
    if (batch.length > 0) await this.write(batch, mode);
    return [...records];
  }

  private modeOf(options: WriteOptions, what: string): WriteMode {
    if (typeof options !== 'object' || options === null) {
      throw new ValidationError(
        `${this.name}.${what}(): options must be an object, got ${describe(options)}`,
      );
    }
    return checkMode(options.mode, `${this.name}.${what}()`) ?? this.mode;
  }

  /**
   * The record with this id, or `undefined`. With `version` (an entity that
   * keeps history), that version of the record, or `undefined` when there is
   * none or it is a deletion.
   */
  async get(id: string, options: GetOptions = {}): Promise<Doc<T> | undefined> {
    checkId(id);
    const version = options?.version;
    if (version !== undefined) {
      checkCount(version, 1, `${this.name}.get()`, 'version');
      const table = this.requireHistory('get(id, { version })');
      await this.ready();
      const [row] = await this.shardOfId(id).getHistory(table, id, version);
      return row && !row.deleted ? this.decode(row) : undefined;
    }
    await this.ready();
    const [row] = await this.shardOfId(id).getRecords(this.table, [id]);
    return row && !isTombstone(row) ? this.decode(row) : undefined;
  }

  /**
   * Every stored version of a record, oldest first (a deletion is a version
   * with `deleted: true`; a record created again after it goes on from there).
   * Needs `history: true`; `[]` for an id never written.
   */
  async history(id: string): Promise<Version<T>[]> {
    checkId(id);
    const table = this.requireHistory('history()');
    await this.ready();
    const rows = await this.shardOfId(id).getHistory(table, id);
    return rows.map((row) =>
      row.deleted
        ? {
            id: row.id,
            version: row.version,
            value: undefined,
            deleted: true,
            createdAt: new Date(row.createdAt),
            updatedAt: new Date(row.updatedAt),
          }
        : { ...this.decode(row), deleted: false },
    );
  }

  private requireHistory(what: string): HistoryTableSpec {
    if (!this.historyTable) {
      throw new ValidationError(
        `${this.name}.${what}: this entity keeps no history (create it with history: true)`,
      );
    }
    return this.historyTable;
  }

  /** One entry per id asked (duplicates included), in order; `undefined` where missing. */
  async getMany(ids: readonly string[]): Promise<(Doc<T> | undefined)[]> {
    if (!Array.isArray(ids))
      throw new ValidationError(`${this.name}.getMany(): expected an array of ids, got ${describe(ids)}`);
    ids.forEach(checkId);
    const { docs } = await this.fetch(ids);
    return ids.map((id) => docs.get(id));
  }

  /** Stored rows by id (tombstones included), read in one statement per shard, all shards in parallel. */
  private async fetchRows(ids: readonly string[]): Promise<Map<string, RecordRow>> {
    await this.ready();
    const byShard = groupBy(new Set(ids), (id) => this.strategy.shardOf({ id }));
    const found = new Map<string, RecordRow>();
    await Promise.all(
      [...byShard].map(async ([position, group]) => {
        for (const row of await this.strategy.shards[position]!.getRecords(this.table, group))
          found.set(row.id, row);
      }),
    );
    return found;
  }

  /** The records with these ids, and the version of the deletion of those deleted. */
  private async fetch(
    ids: readonly string[],
  ): Promise<{ docs: Map<string, Doc<T>>; deleted: Map<string, number> }> {
    const docs = new Map<string, Doc<T>>();
    const deleted = new Map<string, number>();
    for (const [id, row] of await this.fetchRows(ids)) {
      if (isTombstone(row)) deleted.set(id, row.version);
      else docs.set(id, this.decode(row));
    }
    return { docs, deleted };
  }

  /**
   * Deletes a record and its index rows; returns false when there was none.
   * With `expectedVersion`, deletes only that version (else {@link ConflictError}).
   * The record leaves a tombstone (its id and the version of the deletion,
   * no body), so that its versions never repeat: a record saved later with
   * the same id goes on after it.
   */
  async delete(id: string, options: DeleteOptions = {}): Promise<boolean> {
    checkId(id);
    const mode = this.modeOf(options, 'delete');
    const expected = options.expectedVersion;
    if (expected !== undefined) checkCount(expected, 1, `${this.name}.delete()`, 'expectedVersion');
    await this.ready();
    const position = this.strategy.shardOf({ id });
    for (;;) {
      const [row] = await this.strategy.shards[position]!.getRecords(this.table, [id]);
      if (!row || isTombstone(row)) {
        if (expected !== undefined) throw this.conflict(id, expected, row);
        return false;
      }
      if (expected !== undefined && row.version !== expected) throw this.conflict(id, expected, row);
      const gone = new Date(0);
      const tombstone: Pending<T> = {
        record: { id, value: undefined as T, version: row.version, createdAt: gone, updatedAt: gone },
        codec: TOMBSTONE,
        body: '',
        rows: noRows(this.indices),
        shard: position,
        expected: row.version,
        read: row,
      };
      try {
        await this.write([tombstone], mode);
        return true;
      } catch (error) {
        // Changed meanwhile: read again, unless a version was demanded.
        if (!ConflictError.is(error) || expected !== undefined) throw error;
      }
    }
  }

  /**
   * Reads a record, replaces its value with `fn(value)` and saves it, retrying
   * from the read when another writer got there first. Throws
   * {@link NotFoundError} when the record does not exist, and the last
   * {@link ConflictError} when the retries run out.
   */
  async update(id: string, fn: (value: T) => T | Promise<T>, options: UpdateOptions = {}): Promise<Doc<T>> {
    checkId(id);
    const retries = checkCount(options.retries ?? 5, 0, `${this.name}.update()`, 'retries');
    const mode = this.modeOf(options, 'update');
    await this.ready();
    const shard = this.shardOfId(id);
    for (let attempt = 0; ; attempt++) {
      const [row] = await shard.getRecords(this.table, [id]);
      if (!row || isTombstone(row)) {
        throw new NotFoundError(`${this.name}.update(): record "${id}" does not exist`);
      }
      const record = this.decode(row);
      record.value = await fn(record.value);
      try {
        const pending = this.prepare(record, 'update');
        pending.read = row;
        await this.write([pending], mode);
        return record;
      } catch (error) {
        if (!ConflictError.is(error) || attempt >= retries) throw error;
      }
    }
  }

  /**
   * Records matching `where` through one index, verified against the current
   * records. Await it for an array, iterate it with `for await`, or call `page()`.
   */
  select(where?: Predicate, options: SelectOptions = {}): Query<T> {
    return new Query(this.source, where, options);
  }

  /** Number of records matching `where` (each verified, as by `select`). */
  count(where: Predicate): Promise<number> {
    return new Query(this.source, where).count();
  }

  /**
   * Rewrites, in batches, the records stored with another codec than the
   * current serializer's, so that older serializers can leave `readers`.
   * The value, version and index rows stay as they are: only the encoding
   * changes, compare-and-set on the version, so a concurrent writer wins.
   */
  async reencode(options: ReencodeOptions = {}): Promise<ReencodeReport> {
    let scanned = 0;
    let rewritten = 0;
    let skipped = 0;
    const batchSize = options.batchSize ?? 500;
    const report = () => ({ scanned, rewritten, skipped });
    for await (const rows of this.scanRows(batchSize, 'reencode')) {
      options.signal?.throwIfAborted();
      scanned += rows.length;
      const stale = rows.filter((row) => !isTombstone(row) && row.codec !== this.serializer.codec);
      await settleAll(
        stale.map(async (row) => {
          const doc = this.decode(row);
          const body = this.encode(doc);
          const shard = this.shardOfId(row.id);
          this.checkSize(row.id, body, shard);
          const next: RecordRow = { ...row, codec: this.serializer.codec, body };
          const [done] = await shard.commit({
            table: this.table,
            writes: [{ row: next, expected: row.version }],
          });
          if (done) rewritten++;
          else skipped++;
        }),
      );
      options.onProgress?.(report());
    }
    return report();
  }

  /**
   * Compares each index (or the one given) with what its mapper produces
   * from every stored record, and counts the rows `missing`, `orphaned` (of
   * records that do not exist) and `stale` (of records that no longer produce
   * them). Reads everything, in pages; changes nothing.
   */
  verify(index?: Index<T, any>, options: { batchSize?: number } = {}): Promise<VerifyReport> {
    return this.checkIndices(index, false, options.batchSize ?? 500, 'verify');
  }

  /**
   * Like {@link Entity.verify}, and makes each index exact: writes the missing
   * rows and deletes the orphaned and stale ones (each only if its version tag
   * is still the one seen, so a concurrent writer's row survives). Returns what
   * it found. Rows of a write in flight are not told apart from those of a
   * writer that crashed: run it when writers that started before it have ended.
   */
  repair(index?: Index<T, any>, options: { batchSize?: number } = {}): Promise<VerifyReport> {
    return this.checkIndices(index, true, options.batchSize ?? 500, 'repair');
  }

  private async checkIndices(
    index: Index<T, any> | undefined,
    fix: boolean,
    batchSize: number,
    what: string,
  ): Promise<VerifyReport> {
    if (index !== undefined && !this.indices.includes(index)) {
      throw new ValidationError(
        `${this.name}.${what}(): index "${(index as { name?: unknown })?.name}" is not one of this entity's indices`,
      );
    }
    checkCount(batchSize, 1, `${this.name}.${what}()`, 'batchSize');
    await this.ready();
    const source = {
      strategy: this.strategy,
      table: this.table,
      decode: (row: RecordRow) => (isTombstone(row) ? undefined : this.decode(row)),
    };
    const reports: IndexReport[] = [];
    for (const ix of index ? [index] : this.indices)
      reports.push(await checkIndex(source, ix, fix, batchSize));
    const sum = (key: 'missing' | 'orphaned' | 'stale') => reports.reduce((n, r) => n + r[key], 0);
    return { missing: sum('missing'), orphaned: sum('orphaned'), stale: sum('stale'), indices: reports };
  }

  /** Stored rows, shard by shard in id order, a batch at a time. */
  private async *scanRows(batchSize: number, what: string): AsyncGenerator<RecordRow[]> {
    checkCount(batchSize, 1, `${this.name}.${what}()`, 'batchSize');
    await this.ready();
    for (const shard of this.strategy.shards) {
      let after: string | undefined;
      for (;;) {
        const rows = await shard.scanRecords(this.table, { after, limit: batchSize });
        if (rows.length > 0) yield rows;
        if (rows.length < batchSize) break;
        after = rows[rows.length - 1]!.id;
      }
    }
  }

  /** Every record, shard by shard in id order, read in batches. */
  async *scan(options: ScanOptions = {}): AsyncGenerator<Doc<T>> {
    for await (const rows of this.scanRows(options.batchSize ?? 500, 'scan')) {
      for (const row of rows) if (!isTombstone(row)) yield this.decode(row);
    }
  }
}

const encoder = new TextEncoder();

function utf8Length(text: string): number {
  return encoder.encode(text).length;
}

/** Checks an integer option of at least `min` (0 or 1); throws {@link ValidationError} naming it. */
function checkCount(value: unknown, min: 0 | 1, where: string, name: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < min) {
    throw new ValidationError(
      `${where}: ${name} must be a ${min === 1 ? 'positive' : 'non-negative'} integer, got ${describe(value)}`,
    );
  }
  return value as number;
}

function checkMode(mode: unknown, where: string): WriteMode | undefined {
  if (mode === undefined || mode === 'sync' || mode === 'async') return mode;
  throw new ValidationError(`${where}: mode must be "sync" or "async", got ${describe(mode)}`);
}

function isSerializer(value: unknown): value is Serializer {
  const s = value as Serializer;
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.codec === 'string' &&
    s.codec.length > 0 &&
    typeof s.encode === 'function' &&
    typeof s.decode === 'function'
  );
}

/** Waits for every promise, then throws the first rejection, if any. */
async function settleAll(work: readonly Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(work);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
