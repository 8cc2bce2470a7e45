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
import type { Predicate } from './predicate.js';
import { Query, type QuerySource, type SelectOptions } from './query.js';
import type { Index, RowValues } from './secondary-index.js';
import { ShardByPrimaryKey } from './shard-strategy.js';
import type {
  EntityTableSpec,
  IndexRow,
  RecordRow,
  Serializer,
  Shard,
  ShardOperations,
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
export interface UpdateOptions {
  /** How many times to retry after a {@link ConflictError} (default 5). */
  readonly retries?: number;
}

/** Options of {@link Entity.scan}. */
export interface ScanOptions {
  /** Records read per statement (default 500). */
  readonly batchSize?: number;
}

/** Index rows of one record for one index, and where they go. */
interface PlannedRows {
  readonly index: Index<any, any>;
  readonly add: RowValues[];
  readonly remove: RowValues[];
}

/** A checked record on its way to storage. */
interface Pending<T> {
  readonly record: Doc<T>;
  readonly body: string | Uint8Array;
  /** The new index rows, one list per index. */
  readonly rows: readonly RowValues[][];
  /** The position of the record's shard. */
  readonly shard: number;
}

/** A pending record whose stored version matched: what to write. */
interface Write<T> extends Pending<T> {
  readonly id: string;
  readonly version: number;
  readonly planned: readonly PlannedRows[];
  readonly row: RecordRow;
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
  /** @internal */
  readonly table: EntityTableSpec;
  private checked: Promise<void> | undefined;
  private readonly source: QuerySource<T>;

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
    if (max !== undefined && (!Number.isSafeInteger(max) || max < 1)) {
      throw new ValidationError(
        `Entity "${name}": maxBodyBytes must be a positive integer, got ${describe(max)}`,
      );
    }
    this.maxBodyBytes = max;
    this.indices = [...(options.indices ?? [])];
    const names = new Set([name]);
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
    };
  }

  /** Every (shard, table, identity) this entity relies on. */
  private placements(): { shard: Shard; table: TableSpec; identity: string }[] {
    const out = this.strategy.shards.map((shard, position) => ({
      shard,
      table: this.table as TableSpec,
      identity: identity({ kind: 'entity', layout: this.strategy.layout, position }),
    }));
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

  /**
   * The rows to add and remove per index when a record goes from `before` (its
   * stored value, if any) to rows `after` (one list per index, in index order).
   */
  private planRows(before: Doc<T> | undefined, after: readonly RowValues[][]): PlannedRows[] {
    return this.indices.map((index, i) => {
      const oldRows = before ? index.rowsOf(before) : [];
      const newRows = after[i] ?? [];
      return {
        index,
        add: newRows.filter((r) => !oldRows.some((o) => index.sameValues(o, r))),
        remove: oldRows.filter((r) => !newRows.some((n) => index.sameValues(n, r))),
      };
    });
  }

  /**
   * Writes index rows, one call per (index, shard) group, all groups in
   * parallel: `pick` chooses, per record, the rows and the version tag.
   */
  private async writeRows(
    items: readonly { id: string; planned: readonly PlannedRows[]; version: number }[],
    pick: (p: PlannedRows) => RowValues[],
    write: (shard: Shard, index: Index<any, any>, rows: IndexRow[]) => Promise<void>,
  ): Promise<void> {
    const work: Promise<void>[] = [];
    this.indices.forEach((index, i) => {
      const rows: IndexRow[] = [];
      for (const { id, planned, version } of items) {
        for (const values of pick(planned[i]!)) rows.push({ id, values, version });
      }
      const groups = groupBy(rows, (row) =>
        index.strategy.shardOf({ id: row.id, row: index.rowObject(row.values) }),
      );
      for (const [position, group] of groups)
        work.push(write(index.strategy.shards[position]!, index, group));
    });
    await settleAll(work);
  }

  /** Checks a record and computes what writing it needs, before anything touches a database. */
  private prepare(record: Doc<T>, what: string): Pending<T> {
    this.checkDoc(record, what);
    return {
      record,
      body: this.encode(record),
      rows: this.indices.map((index) => index.rowsOf(record)),
      shard: this.strategy.shardOf({ id: record.id }),
    };
  }

  /**
   * The write path, for one record or many: (1) the stored versions of
   * updates are read and compared, (2) the new index rows are written, (3) the
   * records are inserted or compare-and-set (several on one shard in one
   * transaction), (4) the old index rows are removed where their version tag
   * is older. A failure before (3) leaves at most orphan index rows, which
   * reads filter out: never a committed record missing from an index.
   */
  private async write(batch: readonly Pending<T>[]): Promise<void> {
    await this.ready();
    for (const p of batch) this.checkSize(p.record.id, p.body, this.strategy.shards[p.shard]!);
    const updates = batch.filter((p) => p.record.version > 0);
    const stored = updates.length > 0 ? await this.fetchRows(updates.map((p) => p.record.id)) : new Map();
    const errors = new Map<Pending<T>, unknown>();
    const now = Date.now();
    const writes: Write<T>[] = [];
    for (const p of batch) {
      const current: RecordRow | undefined = stored.get(p.record.id);
      if (p.record.version > 0 && current?.version !== p.record.version) {
        errors.set(p, new ConflictError(p.record.id, p.record.version, current?.version));
        continue;
      }
      const before = current && this.decode(current);
      const version = p.record.version + 1;
      writes.push({
        ...p,
        id: p.record.id,
        version,
        planned: this.planRows(before, p.rows),
        row: {
          id: p.record.id,
          version,
          codec: this.serializer.codec,
          body: p.body,
          createdAt: before ? before.createdAt.getTime() : now,
          updatedAt: now,
        },
      });
    }
    await this.writeRows(
      writes,
      (p) => p.add,
      (shard, index, rows) => shard.putIndexRows(index.table, rows),
    );
    const lost: Write<T>[] = [];
    await Promise.all(
      [...groupBy(writes, (w) => w.shard)].map(async ([position, group]) => {
        const shard = this.strategy.shards[position]!;
        const run = async (ops: ShardOperations) => {
          for (const w of group) {
            const ok =
              w.record.version === 0
                ? await ops.insertRecord(this.table, w.row)
                : await ops.updateRecord(this.table, w.row, w.record.version);
            if (!ok) lost.push(w);
          }
        };
        try {
          await (group.length > 1 ? shard.transaction(run) : run(shard));
        } catch (error) {
          for (const w of group) errors.set(w, error);
        }
      }),
    );
    if (lost.length > 0) {
      const current = await this.fetchRows(lost.map((w) => w.id));
      for (const w of lost)
        errors.set(w, new ConflictError(w.id, w.record.version, current.get(w.id)?.version));
    }
    const committed = writes.filter((w) => !errors.has(w));
    for (const w of committed) {
      w.record.version = w.version;
      w.record.createdAt = new Date(w.row.createdAt);
      w.record.updatedAt = new Date(w.row.updatedAt);
    }
    await this.writeRows(
      committed,
      (p) => p.remove,
      (shard, index, rows) => shard.deleteIndexRows(index.table, rows),
    );
    const first = batch.find((p) => errors.has(p)) ?? writes.find((w) => errors.has(w));
    if (first) throw errors.get(first);
  }

  /**
   * Inserts a new record (version 0 → 1) or updates a stored one at the
   * version it was read (v → v + 1); updates `record.version` and
   * `record.updatedAt` in place and returns the record. Throws
   * {@link ConflictError} when the stored version differs, or when a new
   * record's id exists. Index rows are written before the record and old ones
   * removed after it, so an index query never misses a committed record.
   */
  async save(record: Doc<T>): Promise<Doc<T>> {
    await this.write([this.prepare(record, 'save')]);
    return record;
  }

  /**
   * Saves many records. Every record is checked (ids distinct, values
   * encodable, mapper rows valid) before any is written; then index rows go
   * in one statement per index shard, and the records of each shard in one
   * transaction. Records that conflict are not written; the first error, if
   * any, is thrown after the others are saved.
   */
  async saveMany(records: readonly Doc<T>[]): Promise<Doc<T>[]> {
    if (!Array.isArray(records)) {
      throw new ValidationError(
        `${this.name}.saveMany(): expected an array of records, got ${describe(records)}`,
      );
    }
    const ids = new Set<string>();
    const batch = records.map((record) => {
      const pending = this.prepare(record, 'saveMany');
      if (ids.has(record.id))
        throw new ValidationError(`${this.name}.saveMany(): record "${record.id}" appears twice`);
      ids.add(record.id);
      return pending;
    });
    if (batch.length > 0) await this.write(batch);
    return [...records];
  }

  /** The record with this id, or `undefined`. */
  async get(id: string): Promise<Doc<T> | undefined> {
    checkId(id);
    await this.ready();
    const [row] = await this.shardOfId(id).getRecords(this.table, [id]);
    return row ? this.decode(row) : undefined;
  }

  /** One entry per id asked (duplicates included), in order; `undefined` where missing. */
  async getMany(ids: readonly string[]): Promise<(Doc<T> | undefined)[]> {
    if (!Array.isArray(ids))
      throw new ValidationError(`${this.name}.getMany(): expected an array of ids, got ${describe(ids)}`);
    ids.forEach(checkId);
    const found = await this.fetch(ids);
    return ids.map((id) => found.get(id));
  }

  /** Stored rows by id, read in one statement per shard, all shards in parallel. */
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

  private async fetch(ids: readonly string[]): Promise<Map<string, Doc<T>>> {
    const rows = await this.fetchRows(ids);
    return new Map([...rows].map(([id, row]) => [id, this.decode(row)]));
  }

  /**
   * Deletes a record and its index rows; returns false when there was none.
   * With `expectedVersion`, deletes only that version (else {@link ConflictError}).
   */
  async delete(id: string, options: { expectedVersion?: number } = {}): Promise<boolean> {
    checkId(id);
    const expected = options.expectedVersion;
    if (expected !== undefined && (!Number.isSafeInteger(expected) || expected < 1)) {
      throw new ValidationError(
        `${this.name}.delete(): expectedVersion must be a positive integer, got ${describe(expected)}`,
      );
    }
    await this.ready();
    const shard = this.shardOfId(id);
    for (;;) {
      const [row] = await shard.getRecords(this.table, [id]);
      if (!row) {
        if (expected !== undefined) throw new ConflictError(id, expected, undefined);
        return false;
      }
      if (expected !== undefined && row.version !== expected)
        throw new ConflictError(id, expected, row.version);
      const stored = this.decode(row);
      const planned = this.planRows(stored, []);
      if (!(await shard.deleteRecord(this.table, id, row.version))) continue; // changed meanwhile: read again
      // Rows tagged with a version up to the deleted one go; a later writer's rows stay.
      await this.writeRows(
        [{ id, planned, version: row.version + 1 }],
        (p) => p.remove,
        (s, index, rows) => s.deleteIndexRows(index.table, rows),
      );
      return true;
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
    const retries = options.retries ?? 5;
    if (!Number.isSafeInteger(retries) || retries < 0) {
      throw new ValidationError(
        `${this.name}.update(): retries must be a non-negative integer, got ${describe(retries)}`,
      );
    }
    for (let attempt = 0; ; attempt++) {
      const record = await this.get(id);
      if (!record) throw new NotFoundError(`${this.name}.update(): record "${id}" does not exist`);
      record.value = await fn(record.value);
      try {
        return await this.save(record);
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
      const stale = rows.filter((row) => row.codec !== this.serializer.codec);
      await settleAll(
        stale.map(async (row) => {
          const doc = this.decode(row);
          const body = this.encode(doc);
          const shard = this.shardOfId(row.id);
          this.checkSize(row.id, body, shard);
          const next: RecordRow = { ...row, codec: this.serializer.codec, body };
          if (await shard.updateRecord(this.table, next, row.version)) rewritten++;
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
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
      throw new ValidationError(
        `${this.name}.${what}(): batchSize must be a positive integer, got ${describe(batchSize)}`,
      );
    }
    await this.ready();
    const source = {
      strategy: this.strategy,
      table: this.table,
      decode: (row: RecordRow) => this.decode(row),
    };
    const reports: IndexReport[] = [];
    for (const ix of index ? [index] : this.indices)
      reports.push(await checkIndex(source, ix, fix, batchSize));
    const sum = (key: 'missing' | 'orphaned' | 'stale') => reports.reduce((n, r) => n + r[key], 0);
    return { missing: sum('missing'), orphaned: sum('orphaned'), stale: sum('stale'), indices: reports };
  }

  /** Stored rows, shard by shard in id order, a batch at a time. */
  private async *scanRows(batchSize: number, what: string): AsyncGenerator<RecordRow[]> {
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
      throw new ValidationError(
        `${this.name}.${what}(): batchSize must be a positive integer, got ${describe(batchSize)}`,
      );
    }
    await this.ready();
    for (const shard of this.strategy.shards) {
      let after: string | undefined;
      for (;;) {
        const rows = await shard.scanRecords(this.table, after, batchSize);
        if (rows.length > 0) yield rows;
        if (rows.length < batchSize) break;
        after = rows[rows.length - 1]!.id;
      }
    }
  }

  /** Every record, shard by shard in id order, read in batches. */
  async *scan(options: ScanOptions = {}): AsyncGenerator<Doc<T>> {
    for await (const rows of this.scanRows(options.batchSize ?? 500, 'scan')) {
      for (const row of rows) yield this.decode(row);
    }
  }
}

const encoder = new TextEncoder();

function utf8Length(text: string): number {
  return encoder.encode(text).length;
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
