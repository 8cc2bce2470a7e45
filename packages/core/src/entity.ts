/**
 * The entity: a kind of document over shards, and its public API. Each job
 * lives in a room of its own: record encoding (`codec.ts`), shard placement
 * and identity (`placement.ts`), index-row routing (`routing.ts`), the write
 * path (`write-path.ts`), notes and drain (`drain.ts`), queries (`query.ts`)
 * and maintenance (`maintenance.ts`); this class checks arguments and hands
 * each call to its room.
 */

import { checkReplicas, type ReplicaCheckOptions, type ReplicaReport } from './anti-entropy.js';
import { type BackfillOptions, type BackfillReport, backfill, checkBackfillOptions } from './backfill.js';
import { checkCount, checkMode, checkOptions, type WriteMode } from './checks.js';
import { isTombstone, RecordCodec, TOMBSTONE } from './codec.js';
import type { Doc } from './doc.js';
import { type DrainOptions, type DrainReport, Notes } from './drain.js';
import { type EntityParts, onReplicas, readNewest, readRows, type WriteQuorum } from './entity-parts.js';
import { ConflictError, type ImportError, NotFoundError, ValidationError } from './errors.js';
import { uuidv7 } from './id.js';
import { checkQueryable } from './index-states.js';
import {
  type CheckIndexOptions,
  checkIndices,
  type ReencodeOptions,
  type ReencodeReport,
  reencode,
  scanRows,
} from './maintenance.js';
import { checkId, checkName, describe, MAX_ENTITY_NAME } from './names.js';
import { noRows } from './notes.js';
import { Placement } from './placement.js';
import type { Predicate } from './predicate.js';
import { Query, type QuerySource, type SelectOptions } from './query.js';
import type { Index } from './secondary-index.js';
import { checkStrategyReplicas, colocated, replicaCount, ShardByPrimaryKey } from './shard-strategy.js';
import {
  type ExportOptions,
  exportLines,
  type ImportOptions,
  type ImportReport,
  importLines,
} from './transfer.js';
import type { EntityTableSpec, HistoryTableSpec, Serializer, Shard, ShardStrategy } from './types.js';
import type { VerifyReport } from './verify.js';
import { type Pending, WritePath } from './write-path.js';

export type { ReplicaCheckOptions, ReplicaReport } from './anti-entropy.js';
export type { BackfillOptions, BackfillReport } from './backfill.js';
export type { WriteMode } from './checks.js';
export type { DrainOptions, DrainReport } from './drain.js';
export type { WriteQuorum } from './entity-parts.js';
export type { CheckIndexOptions, ReencodeOptions, ReencodeReport } from './maintenance.js';
export type { ExportOptions, ExportProgress, ImportOptions, ImportReport, OnConflict } from './transfer.js';

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
  /**
   * Over replicas: how many replicas of a record must hold a write before it
   * is acknowledged (default 1), or `'all'`. Above 1, the write waits for its
   * copies (and its note's index work, in both modes); it is refused up front
   * with {@link ShardUnavailableError}, nothing written, when the circuit
   * breakers know too few replicas are up; a copy that fails after the
   * commit makes it throw a {@link QuorumError} (the write stands, `drain()`
   * copies it). A write can choose for itself.
   */
  readonly writeQuorum?: WriteQuorum;
}

/** Options of a write. */
export interface WriteOptions {
  /** Overrides the entity's {@link EntityOptions.mode} for this write. */
  readonly mode?: WriteMode;
  /** Overrides the entity's {@link EntityOptions.writeQuorum} for this write. */
  readonly writeQuorum?: WriteQuorum;
}

/** A write's mode and quorum, as checked. */
interface WriteHow {
  readonly mode: WriteMode;
  readonly quorum: WriteQuorum;
}

/**
 * Checks a `writeQuorum`: `undefined`, `'all'`, or an integer from 1 to the
 * number of replicas of `strategy`.
 */
function checkQuorum(quorum: unknown, strategy: ShardStrategy, what: string): WriteQuorum | undefined {
  if (quorum === undefined || quorum === 'all') return quorum;
  const replicas = replicaCount(strategy);
  if (typeof quorum !== 'number' || !Number.isSafeInteger(quorum) || quorum < 1 || quorum > replicas) {
    throw new ValidationError(
      `${what}: writeQuorum must be 'all' or an integer from 1 to the number of replicas (${replicas}), got ${describe(quorum)}`,
    );
  }
  return quorum;
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
  /**
   * Over replicas: `'one'` (default) reads the first reachable replica;
   * `'all'` reads every reachable replica, returns the newest (highest
   * version, then later `updatedAt`, then body) and writes it back to the
   * replicas that hold an older one or none (read repair).
   */
  readonly consistency?: Consistency;
}

/** Options of {@link Entity.getMany}. */
export type GetManyOptions = Pick<GetOptions, 'consistency'>;

/** How many replicas a read asks: see {@link GetOptions.consistency}. */
export type Consistency = 'one' | 'all';

/** Checks a `consistency`. */
function checkConsistency(consistency: unknown, what: string): Consistency {
  if (consistency === undefined || consistency === 'one' || consistency === 'all')
    return consistency ?? 'one';
  throw new ValidationError(`${what}: consistency must be 'one' or 'all', got ${describe(consistency)}`);
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

/** Options of {@link Entity.update}. */
export interface UpdateOptions extends WriteOptions {
  /** How many times to retry after a {@link ConflictError} (default 5). */
  readonly retries?: number;
}

/** Options of {@link Entity.count}. */
export interface CountOptions {
  /** Fetch and check each match, as `select` does (default false: count the index rows in SQL). */
  readonly verify?: boolean;
  /** Count on an index that is still being built (it may miss records) instead of failing with `IndexNotReadyError`. */
  readonly partial?: boolean;
}

/** What {@link Entity.status} tells. */
export interface EntityStatus {
  readonly indices: readonly {
    readonly index: string;
    readonly state: 'building' | 'ready';
    readonly version: number;
    /** While building: the backfill's checkpoint (last id done per entity shard position, and the positions done). */
    readonly progress?: {
      readonly after: Readonly<Record<string, string>>;
      readonly finished: readonly number[];
    };
    /** With `{ counts: true }`: the index rows on each shard of the index, in shard order. */
    readonly rows?: readonly { readonly shard: string; readonly rows: number }[];
  }[];
  /** Per record shard, the records whose index work waits in a note. */
  readonly notes: readonly { readonly shard: string; readonly notes: number }[];
  /** With `{ counts: true }`: the records (deletions left out) on each record shard, in shard order. */
  readonly records?: readonly { readonly shard: string; readonly records: number }[];
}

/** Options of {@link Entity.status}. */
export interface StatusOptions {
  /** Also count the records and index rows on each shard (one `count(*)` per table and shard). Default false. */
  readonly counts?: boolean;
}

/** Options of {@link Entity.scan}. */
export interface ScanOptions {
  /** Records read per statement (default 500). */
  readonly batchSize?: number;
}

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
  /** The default {@link WriteMode} of writes. */
  readonly mode: WriteMode;
  /** The default {@link EntityOptions.writeQuorum} of writes. */
  readonly writeQuorum: WriteQuorum;
  /** @internal */
  readonly table: EntityTableSpec;
  /** @internal The history table, when the entity keeps history. */
  readonly historyTable: HistoryTableSpec | undefined;
  readonly #parts: EntityParts<T>;
  readonly #notes: Notes<T>;
  readonly #writes: WritePath<T>;
  readonly #source: QuerySource<T>;

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
    checkStrategyReplicas(`Entity "${name}"`, this.strategy);
    const codec = new RecordCodec<T>(name, options.serializer, options.readers, options.maxBodyBytes);
    this.serializer = codec.current;
    this.maxBodyBytes = options.maxBodyBytes;
    this.mode = checkMode(options.mode, `Entity "${name}"`) ?? 'sync';
    this.writeQuorum = checkQuorum(options.writeQuorum, this.strategy, `Entity "${name}"`) ?? 1;
    const onIndexError = options.onIndexError;
    if (onIndexError !== undefined && typeof onIndexError !== 'function') {
      throw new ValidationError(
        `Entity "${name}": onIndexError must be a function, got ${describe(onIndexError)}`,
      );
    }
    const history = `${name}__history`;
    this.historyTable = options.history ? { kind: 'history', name: history } : undefined;
    this.indices = [...(options.indices ?? [])];
    // Table names compared without case: SQLite does not tell "posts" from "Posts".
    const names = new Map([name, history].map((n) => [n.toLowerCase(), n]));
    for (const index of this.indices) {
      if (typeof index?.rowsOf !== 'function') {
        throw new ValidationError(`Entity "${name}": indices must be Index objects, got ${describe(index)}`);
      }
      const taken = names.get(index.name.toLowerCase());
      if (taken !== undefined) {
        throw new ValidationError(
          taken === index.name
            ? `Entity "${name}": the name "${index.name}" is used twice (tables share one namespace)`
            : `Entity "${name}": the names "${taken}" and "${index.name}" differ only by case (tables share one namespace, and SQLite does not distinguish them)`,
        );
      }
      names.set(index.name.toLowerCase(), index.name);
    }
    this.table = { kind: 'entity', name };
    this.#parts = {
      name,
      table: this.table,
      history: this.historyTable,
      indices: this.indices,
      placement: new Placement(name, this.strategy, this.table, this.historyTable, this.indices),
      codec,
      onIndexError: onIndexError ?? (() => {}),
      writeQuorum: this.writeQuorum,
    };
    this.#notes = new Notes(this.#parts);
    this.#writes = new WritePath(this.#parts, this.#notes);
    this.#source = {
      name,
      indices: this.indices,
      fetch: (ids) => this.#fetch(ids),
      ready: (index) => (index ? this.#parts.placement.readyForIndex(index) : this.ready()),
      readRepair: options.readRepair ?? true,
      joined: (index) => (colocated(this.strategy, index.strategy) ? this.table : undefined),
      decode: (row) => codec.docOf(row),
      queryable: async (index, partial, what) => {
        const { placement } = this.#parts;
        let state = placement.stateOf(index);
        // Another process may have finished the backfill since: read the state again before refusing.
        if (!partial && state?.state === 'building') state = await placement.refreshState(index);
        checkQueryable(name, index, state, partial, what);
      },
    };
  }

  /**
   * Creates the entity's table and its indices' tables on every shard where
   * they are missing, and records each shard's identity. Idempotent; refuses
   * shards given in another order or number than before.
   */
  create(): Promise<void> {
    return this.#parts.placement.create();
  }

  /**
   * Removes an index this entity no longer has: its tables and metadata on
   * every shard of the index. Take the index out of the entity's `indices`
   * first (every write maintains every index of the entity), then call this
   * with its `Index` object. Refuses an index that is still one of the
   * entity's, and a table a shard holds for another entity or layout.
   * Idempotent.
   */
  async dropIndex(index: Index<T, any>): Promise<void> {
    if (typeof index?.rowsOf !== 'function' || typeof index?.table !== 'object') {
      throw new ValidationError(`${this.name}.dropIndex(): expected an Index, got ${describe(index)}`);
    }
    if (this.indices.includes(index)) {
      throw new ValidationError(
        `${this.name}.dropIndex(): index "${index.name}" is one of this entity's indices, which every write maintains: ` +
          "remove it from the entity's indices first, then drop it",
      );
    }
    await this.#parts.placement.drop(index);
  }

  /**
   * Removes the entity: its records, its history and its indices' tables and
   * metadata on every shard. Refuses a table a shard holds for another
   * entity or layout. Idempotent; `create()` makes it anew, empty.
   */
  async drop(): Promise<void> {
    // Background index work of this process would meet dropped tables.
    await this.#notes.settle();
    await this.#parts.placement.drop();
  }

  /** @internal Checks once that every shard holds what this entity expects. */
  ready(): Promise<void> {
    return this.#parts.placement.ready();
  }

  /** A new, unsaved record (version 0) with a time-ordered id unless `id` is given. */
  new(value: T, options: { id?: string } = {}): Doc<T> {
    const id = options.id === undefined ? uuidv7() : checkId(options.id);
    const now = new Date();
    return { id, value, version: 0, createdAt: now, updatedAt: now };
  }

  #modeOf(options: WriteOptions, what: string): WriteHow {
    checkOptions(options, `${this.name}.${what}()`);
    return {
      mode: checkMode(options.mode, `${this.name}.${what}()`) ?? this.mode,
      quorum: checkQuorum(options.writeQuorum, this.strategy, `${this.name}.${what}()`) ?? this.writeQuorum,
    };
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
    const mode = this.#modeOf(options, 'save');
    await this.#writes.write([this.#writes.prepare(record, 'save')], mode.mode, mode.quorum);
    return record;
  }

  /**
   * Saves many records. Every record is checked (ids distinct, values
   * encodable, mapper rows valid) before any is written; then index rows on
   * other shards go in one statement per index shard, and the records of each
   * shard in one commit with their co-located index rows (new records in
   * multi-row inserts). Records that conflict are not written; the first
   * error, if any, is thrown after the others are saved.
   */
  async saveMany(records: readonly Doc<T>[], options: WriteOptions = {}): Promise<Doc<T>[]> {
    if (!Array.isArray(records)) {
      throw new ValidationError(
        `${this.name}.saveMany(): expected an array of records, got ${describe(records)}`,
      );
    }
    const mode = this.#modeOf(options, 'saveMany');
    const ids = new Set<string>();
    const batch = records.map((record) => {
      const pending = this.#writes.prepare(record, 'saveMany');
      if (ids.has(record.id))
        throw new ValidationError(`${this.name}.saveMany(): record "${record.id}" appears twice`);
      ids.add(record.id);
      return pending;
    });
    if (batch.length > 0) await this.#writes.write(batch, mode.mode, mode.quorum);
    return [...records];
  }

  /**
   * The record with this id, or `undefined` (saving it again, changed, needs
   * no second read of its stored row). With `version` (an entity that
   * keeps history), that version of the record, or `undefined` when there is
   * none or it is a deletion.
   */
  async get(id: string, options: GetOptions = {}): Promise<Doc<T> | undefined> {
    checkId(id);
    const version = options?.version;
    const { codec } = this.#parts;
    if (version !== undefined) {
      checkCount(version, 1, `${this.name}.get()`, 'version');
      const table = this.#requireHistory('get(id, { version })');
      const [row] = await onReplicas(this.#parts, id, (shard) => shard.getHistory(table, id, version));
      return row && !row.deleted ? codec.decode(row) : undefined;
    }
    const consistency = checkConsistency(options?.consistency, `${this.name}.get()`);
    const row = (await (consistency === 'all' ? readNewest : readRows)(this.#parts, [id])).get(id);
    return row && !isTombstone(row) ? codec.load(row) : undefined;
  }

  /**
   * Every stored version of a record, oldest first (a deletion is a version
   * with `deleted: true`; a record created again after it goes on from there).
   * Needs `history: true`; `[]` for an id never written.
   */
  async history(id: string): Promise<Version<T>[]> {
    checkId(id);
    const table = this.#requireHistory('history()');
    const rows = await onReplicas(this.#parts, id, (shard) => shard.getHistory(table, id));
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
        : { ...this.#parts.codec.decode(row), deleted: false },
    );
  }

  #requireHistory(what: string): HistoryTableSpec {
    if (!this.historyTable) {
      throw new ValidationError(
        `${this.name}.${what}: this entity keeps no history (create it with history: true)`,
      );
    }
    return this.historyTable;
  }

  /** One entry per id asked (duplicates included), in order; `undefined` where missing. */
  async getMany(ids: readonly string[], options: GetManyOptions = {}): Promise<(Doc<T> | undefined)[]> {
    if (!Array.isArray(ids))
      throw new ValidationError(`${this.name}.getMany(): expected an array of ids, got ${describe(ids)}`);
    ids.forEach(checkId);
    checkOptions(options, `${this.name}.getMany()`);
    const consistency = checkConsistency(options.consistency, `${this.name}.getMany()`);
    const { docs } = await this.#fetch(ids, consistency);
    return ids.map((id) => docs.get(id));
  }

  /** The records with these ids, and the version of the deletion of those deleted. */
  async #fetch(
    ids: readonly string[],
    consistency: Consistency = 'one',
  ): Promise<{ docs: Map<string, Doc<T>>; deleted: Map<string, number> }> {
    const docs = new Map<string, Doc<T>>();
    const deleted = new Map<string, number>();
    const rows =
      consistency === 'all' ? await readNewest(this.#parts, ids) : await readRows(this.#parts, ids, false);
    for (const [id, row] of rows) {
      if (isTombstone(row)) deleted.set(id, row.version);
      else docs.set(id, this.#parts.codec.decode(row));
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
    const mode = this.#modeOf(options, 'delete');
    const expected = options.expectedVersion;
    if (expected !== undefined) checkCount(expected, 1, `${this.name}.delete()`, 'expectedVersion');
    const position = this.strategy.shardOf({ id });
    for (;;) {
      const row = (await readRows(this.#parts, [id])).get(id);
      if (!row || isTombstone(row)) {
        if (expected !== undefined) throw this.#writes.conflict(id, expected, row);
        return false;
      }
      if (expected !== undefined && row.version !== expected) throw this.#writes.conflict(id, expected, row);
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
        await this.#writes.write([tombstone], mode.mode, mode.quorum);
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
    const mode = this.#modeOf(options, 'update');
    for (let attempt = 0; ; attempt++) {
      const row = (await readRows(this.#parts, [id])).get(id);
      if (!row || isTombstone(row)) {
        throw new NotFoundError(`${this.name}.update(): record "${id}" does not exist`);
      }
      const record = this.#parts.codec.load(row);
      record.value = await fn(record.value);
      try {
        // The record remembers the row it was read from: the write does not read it again.
        await this.#writes.write([this.#writes.prepare(record, 'update')], mode.mode, mode.quorum);
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
    return new Query(this.#source, where, options);
  }

  /**
   * Number of records matching `where`, counted in SQL over the index rows
   * (distinct record ids; no record is fetched): exact when the index is
   * converged, that is when no write is in flight and `drain()` has run
   * after a crash. With `{ verify: true }`, each match is fetched and checked
   * as by `select`, exact at any time.
   */
  count(where: Predicate, options: CountOptions = {}): Promise<number> {
    checkOptions(options, `${this.name}.count()`);
    for (const flag of ['verify', 'partial'] as const) {
      if (options[flag] !== undefined && typeof options[flag] !== 'boolean') {
        throw new ValidationError(
          `${this.name}.count(): ${flag} must be true or false, got ${describe(options[flag])}`,
        );
      }
    }
    const query = new Query(this.#source, where, { partial: options.partial });
    return options.verify === true ? query.verifiedCount() : query.count();
  }

  /**
   * Finishes the index work that writes left in their records' notes: the
   * `async` writes not applied yet, and the writes of processes that crashed
   * after committing. Waits for this process's own background work first.
   * Safe at any time, also while others write; long-lived processes can run
   * it periodically. Throws the first failure after trying every note.
   */
  drain(options: DrainOptions = {}): Promise<DrainReport> {
    return this.#notes.drain(options);
  }

  /**
   * Rewrites, in batches, the records stored with another codec than the
   * current serializer's, so that older serializers can leave `readers`.
   * The value, version and index rows stay as they are: only the encoding
   * changes, compare-and-set on the version, so a concurrent writer wins.
   */
  reencode(options: ReencodeOptions = {}): Promise<ReencodeReport> {
    return reencode(this.#parts, options);
  }

  /**
   * Compares each index (or the one given) with what its mapper produces
   * from every stored record, and counts the rows `missing`, `orphaned` (of
   * records that do not exist) and `stale` (of records that no longer produce
   * them), with a few record ids of each (`samples`). Reads everything, in
   * pages; changes nothing.
   */
  verify(index?: Index<T, any>, options: CheckIndexOptions = {}): Promise<VerifyReport> {
    return checkIndices(this.#parts, index, false, options, 'verify');
  }

  /**
   * Like {@link Entity.verify}, and makes each index exact: writes the missing
   * rows and deletes the orphaned and stale ones, each only if its version tag
   * is still the one seen, so a concurrent writer's row survives. Safe beside
   * writers: a row that no committed version explains yet (a sync write puts
   * its rows on other databases before its record commits) is deleted only if
   * its record, read again `graceMs` later, still does not explain it.
   * Returns what it found.
   */
  repair(index?: Index<T, any>, options: CheckIndexOptions = {}): Promise<VerifyReport> {
    return checkIndices(this.#parts, index, true, options, 'repair');
  }

  /**
   * Compares the replicas of every record (deletions included): a paged
   * merge, in id order, of what each shard holds, reporting the copies
   * `missing` from a replica of their bucket and those `stale` (older than
   * the newest: lower version, or the same version losing the tie-break of
   * `updatedAt`, then body), with a few ids of each. Changes nothing. Needs
   * every shard; `after` resumes after a progress report's `cursor`. Without
   * replicas there is nothing to compare (all zero).
   */
  verifyReplicas(options: ReplicaCheckOptions = {}): Promise<ReplicaReport> {
    return checkReplicas(this.#parts, false, options, 'verifyReplicas');
  }

  /**
   * Like {@link Entity.verifyReplicas}, and copies the newest row over the
   * older and missing ones as "apply if newer" (never over a newer version a
   * writer commits meanwhile). Returns what it found.
   */
  repairReplicas(options: ReplicaCheckOptions = {}): Promise<ReplicaReport> {
    return checkReplicas(this.#parts, true, options, 'repairReplicas');
  }

  /**
   * Fills each index that is being built (or the one given) from the stored
   * records, while the application keeps writing: no record missed, none
   * doubled, no newer row overwritten by an older one. An index gets built
   * when it is added to an entity that holds records, or given a new
   * `version` (then rows the new mapper no longer produces are removed at
   * the end). Resumable: the checkpoint is kept on the shards, so a cancelled
   * (`signal`) or crashed backfill goes on where it stopped. Marks each index
   * ready at the end; returns a report per index.
   */
  async backfill(index?: Index<T, any>, options: BackfillOptions = {}): Promise<BackfillReport[]> {
    if (index !== undefined && !this.indices.includes(index)) {
      throw new ValidationError(
        `${this.name}.backfill(): index "${(index as { name?: unknown })?.name}" is not one of this entity's indices`,
      );
    }
    checkBackfillOptions(this.name, options);
    await this.ready();
    const { placement } = this.#parts;
    // Read again: another process may have made progress, or finished.
    const states = await Promise.all(this.indices.map((ix) => placement.refreshState(ix)));
    const reports: BackfillReport[] = [];
    for (const [i, target] of this.indices.entries()) {
      if (index ? target === index : states[i]!.state === 'building') {
        reports.push(await backfill(this.#parts, target, states[i]!, options));
      }
    }
    return reports;
  }

  /**
   * Where the entity stands: each index's state (`building` or `ready`), its
   * mapper version and, while building, the backfill's checkpoint; and the
   * number of records per shard whose writes left index work in a note (for
   * `drain()`); with `{ counts: true }`, the records and index rows on each
   * shard.
   */
  async status(options: StatusOptions = {}): Promise<EntityStatus> {
    checkOptions(options, `${this.name}.status()`);
    if (options.counts !== undefined && typeof options.counts !== 'boolean') {
      throw new ValidationError(
        `${this.name}.status(): counts must be true or false, got ${describe(options.counts)}`,
      );
    }
    await this.ready();
    const { placement } = this.#parts;
    const counts = options.counts === true;
    const [states, rows, records] = await Promise.all([
      Promise.all(this.indices.map((index) => placement.refreshState(index))),
      counts
        ? Promise.all(
            this.indices.map((index) =>
              Promise.all(
                index.strategy.shards.map(async (shard) => ({
                  shard: shard.name,
                  rows: await shard.countRows(index.table),
                })),
              ),
            ),
          )
        : undefined,
      counts
        ? Promise.all(
            this.strategy.shards.map(async (shard) => ({
              shard: shard.name,
              records: await shard.countRows(this.table),
            })),
          )
        : undefined,
    ]);
    const indices = this.indices.map((index, i) => {
      const state = states[i]!;
      return {
        index: index.name,
        state: state.state,
        version: state.version,
        ...(state.state === 'building'
          ? { progress: { after: state.after ?? {}, finished: state.finished ?? [] } }
          : {}),
        ...(rows ? { rows: rows[i]! } : {}),
      };
    });
    const notes = await Promise.all(
      this.strategy.shards.map(async (shard) => {
        let count = 0;
        let after: string | undefined;
        for (;;) {
          const rows = await shard.scanRecords(this.table, { after, limit: 1000, notes: true });
          count += rows.length;
          if (rows.length < 1000) return { shard: shard.name, notes: count };
          after = rows[rows.length - 1]!.id;
        }
      }),
    );
    return { indices, notes, ...(records ? { records } : {}) };
  }

  /**
   * Every live record as one NDJSON line (without its newline), shard by shard
   * in id order, read `batchSize` records at a time (the most held at once):
   * `{"id","version","createdAt","updatedAt","value"}`, times in ISO 8601,
   * `value` in the current serializer's JSON form (`serializer.toJSON`, which
   * keeps the types the serializer keeps), also for rows written by one of
   * the entity's `readers`. Deleted records are left out. Read it with
   * {@link Entity.import}, on this entity or another, on any database.
   * Options are checked at once ({@link ValidationError}); a value the current
   * serializer cannot represent is a `SerializationError` naming the record.
   */
  export(options: ExportOptions = {}): AsyncIterable<string> {
    return exportLines(this.#parts, options);
  }

  /**
   * Imports NDJSON lines written by {@link Entity.export} (with or without
   * their newline; blank lines are skipped), `batchSize` records at a time
   * through the write path: index rows are written as for `saveMany`, and
   * each record keeps the id, value, `createdAt` and `updatedAt` of its line
   * and its version (over a deleted record's tombstone, the version after the
   * deletion's if the line's is not higher: a version never goes backwards).
   * With `history: true`, each record written adds its version to the history.
   *
   * A line whose id is a stored record: `onConflict: 'fail'` (the default)
   * throws an {@link ImportError} whose `cause` is the {@link ConflictError};
   * `'skip'` leaves the record as it is; `'replace'` writes the line over it
   * (compare-and-set, tried again if a writer changes it meanwhile, up to 5
   * times, then an {@link ImportError} whose `cause` is the last
   * {@link ConflictError}), at the line's
   * version if it is higher than the stored one, else at the stored version
   * + 1, so index version tags and other writers' compare-and-set stay sound.
   * A line that is not valid (not JSON, not a record line, a value the
   * serializer's `fromJSON` or the entity refuses) is an {@link ImportError}
   * with its line number: the valid lines before it are imported, those after
   * it are not read. Database errors are thrown as they are.
   */
  import(
    lines: AsyncIterable<string> | Iterable<string>,
    options: ImportOptions = {},
  ): Promise<ImportReport> {
    return importLines(this.#parts, this.#writes, this.mode, lines, options);
  }

  /** Every record, shard by shard in id order, read in batches. */
  async *scan(options: ScanOptions = {}): AsyncGenerator<Doc<T>> {
    for await (const rows of scanRows(this.#parts, options.batchSize ?? 500, 'scan')) {
      for (const row of rows) if (!isTombstone(row)) yield this.#parts.codec.decode(row);
    }
  }
}
