import type { ColumnValue } from './columns.js';
import { ValidationError } from './errors.js';
import { murmur3 } from './hash.js';
import { checkName, describe } from './names.js';
import type { Predicate } from './predicate.js';
import type { Shard, ShardKey, ShardStrategy } from './types.js';

/**
 * Number of virtual buckets every key hashes into. Shards own contiguous
 * bucket ranges, so resharding moves buckets, never re-hashes keys. Fixed forever.
 */
export const BUCKETS = 4096;

const utf8 = new TextEncoder();

/**
 * The bucket of a record id: `murmur3_x86_32(utf8(id), seed 0) mod 4096`.
 * Stable across processes, platforms and releases (a test pins known values).
 */
export function bucketOf(id: string): number {
  return murmur3(id) % BUCKETS;
}

/** The bucket of a column value, hashed from a canonical byte form of the value. */
export function bucketOfValue(value: ColumnValue): number {
  return murmur3(canonicalBytes(value)) % BUCKETS;
}

function canonicalBytes(value: ColumnValue): Uint8Array {
  if (value === null) return new Uint8Array(0);
  if (value instanceof Uint8Array) return value;
  if (value instanceof Date) return utf8.encode(String(value.getTime()));
  return utf8.encode(String(value));
}

/** The shard position (0..count-1) that owns a bucket: contiguous, near-equal ranges. */
export function shardOfBucket(bucket: number, count: number): number {
  return Math.floor((bucket * count) / BUCKETS);
}

function checkShards(what: string, shards: readonly Shard[]): readonly Shard[] {
  if (!Array.isArray(shards) || shards.length === 0) {
    throw new ValidationError(`${what}: expected a non-empty array of shards, got ${describe(shards)}`);
  }
  if (shards.length > BUCKETS) throw new ValidationError(`${what}: at most ${BUCKETS} shards`);
  shards.forEach((s, i) => {
    if (typeof s !== 'object' || s === null || typeof (s as Shard).queryIndex !== 'function') {
      throw new ValidationError(`${what}: shard ${i} is not a Shard (${describe(s)})`);
    }
    if (shards.indexOf(s) !== i) {
      throw new ValidationError(`${what}: shard ${i} is the same shard as shard ${shards.indexOf(s)}`);
    }
  });
  return Object.freeze([...shards]);
}

function all(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

/** Options of {@link ShardByPrimaryKey} and {@link ShardByColumn}. */
export interface ShardStrategyOptions {
  /**
   * How many shards hold each bucket (default 1): an integer from 1 to the
   * number of shards. The bucket's owner (the shard that holds it with 1) comes
   * first, then the shards after it in the array, wrapping around. Recorded in
   * the shard identity: data created with one number of replicas is refused
   * (`ShardMapError`) when opened with another. Entities and indices do not
   * read or write over replicas yet: giving them a strategy with more than 1
   * is a `ValidationError` for now.
   */
  readonly replicas?: number;
}

/** The replica count of `options` for a strategy over `count` shards, checked. */
function checkReplicas(what: string, options: ShardStrategyOptions | undefined, count: number): number {
  if (options === undefined) return 1;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ValidationError(`${what}: options must be an object ({ replicas }), got ${describe(options)}`);
  }
  const replicas = options.replicas === undefined ? 1 : options.replicas;
  if (!Number.isSafeInteger(replicas) || replicas < 1 || replicas > count) {
    throw new ValidationError(
      `${what}: replicas must be an integer from 1 to the number of shards (${count}), got ${describe(replicas)}`,
    );
  }
  return replicas;
}

/**
 * The preference list of the buckets owned by position `owner` among `count`
 * shards, with `replicas` copies: `[owner, owner+1, …, owner+replicas-1]`
 * modulo `count`, distinct positions, the owner first. With contiguous owner
 * ranges of near-equal size, each shard is first for about 1/count of the
 * buckets and holds about replicas/count of them.
 */
export function replicaPositions(owner: number, count: number, replicas: number): number[] {
  return Array.from({ length: replicas }, (_, i) => (owner + i) % count);
}

/** The layout string of a scheme: `<scheme>:4096:<count>`, then `:replicas=<R>` when R > 1. */
function layoutOf(scheme: string, count: number, replicas: number): string {
  const base = `${scheme}:${BUCKETS}:${count}`;
  return replicas === 1 ? base : `${base}:replicas=${replicas}`;
}

/** The positions that hold some bucket of the owner ranges `owners`, ascending. */
function holders(owners: readonly number[], count: number, replicas: number): number[] {
  if (replicas === 1) return [...owners];
  const out = new Set<number>();
  for (const owner of owners) for (const p of replicaPositions(owner, count, replicas)) out.add(p);
  return [...out].sort((a, b) => a - b);
}

/**
 * Spreads keys over shards by the hash of the record id: id → one of 4096
 * virtual buckets → the shard owning that bucket (and, with `replicas`, the
 * shards after it). Used by entities and by indices that keep their rows
 * beside the records.
 */
export class ShardByPrimaryKey implements ShardStrategy {
  readonly shards: readonly Shard[];
  readonly layout: string;
  /** How many shards hold each bucket (1 unless given). */
  readonly replicas: number;

  /**
   * @param shards the shards, in a fixed order (the order is part of the layout).
   * @param options `replicas`: how many shards hold each bucket (default 1).
   * @throws ValidationError for an empty array, a non-shard, one shard given twice, or a bad `replicas`.
   */
  constructor(shards: readonly Shard[], options?: ShardStrategyOptions) {
    this.shards = checkShards('ShardByPrimaryKey', shards);
    this.replicas = checkReplicas('ShardByPrimaryKey', options, this.shards.length);
    this.layout = layoutOf('primary-key', this.shards.length, this.replicas);
  }

  /** The position of the shard that owns the bucket of `key.id` (the first of its replicas). */
  shardOf(key: ShardKey): number {
    // One shard owns every bucket: no hash needed.
    return this.shards.length === 1 ? 0 : shardOfBucket(bucketOf(key.id), this.shards.length);
  }

  /** The preference list of `key.id`'s bucket: {@link replicas} distinct positions, its owner first. */
  replicasOf(key: ShardKey): readonly number[] {
    return replicaPositions(this.shardOf(key), this.shards.length, this.replicas);
  }

  /** Every position: any shard can hold a matching row. */
  shardsFor(): number[] {
    return all(this.shards.length);
  }

  /** The owner ranges that can hold rows matching a predicate: all of them. */
  ownersFor(): number[] {
    return all(this.shards.length);
  }
}

/**
 * Spreads index rows over shards by the hash of one index column, so a query
 * that fixes that column with `eq` or `in` touches only the shards holding it.
 */
export class ShardByColumn implements ShardStrategy {
  readonly shards: readonly Shard[];
  readonly layout: string;
  readonly columns: readonly string[];
  /** How many shards hold each bucket (1 unless given). */
  readonly replicas: number;

  /**
   * @param column the index column whose value places a row.
   * @param shards the shards, in a fixed order (the order is part of the layout).
   * @param options `replicas`: how many shards hold each bucket (default 1).
   * @throws ValidationError for an invalid column name, an empty array, a non-shard, one shard given twice, or a bad `replicas`.
   */
  constructor(
    readonly column: string,
    shards: readonly Shard[],
    options?: ShardStrategyOptions,
  ) {
    checkName('column', column);
    this.shards = checkShards('ShardByColumn', shards);
    this.replicas = checkReplicas('ShardByColumn', options, this.shards.length);
    this.columns = [column];
    this.layout = layoutOf(`column:${column}`, this.shards.length, this.replicas);
  }

  /** The position of the shard that owns the bucket of the row's column value (the first of its replicas). */
  shardOf(key: ShardKey): number {
    const row = key.row;
    if (!row || !Object.hasOwn(row, this.column)) {
      throw new ValidationError(`ShardByColumn("${this.column}"): the row has no column "${this.column}"`);
    }
    return shardOfBucket(bucketOfValue(row[this.column] ?? null), this.shards.length);
  }

  /** The preference list of the row's bucket: {@link replicas} distinct positions, its owner first. */
  replicasOf(key: ShardKey): readonly number[] {
    return replicaPositions(this.shardOf(key), this.shards.length, this.replicas);
  }

  /** Every position holding a bucket that can hold matching rows (every replica of them), ascending. */
  shardsFor(where: Predicate | undefined): number[] {
    return holders(this.ownersFor(where), this.shards.length, this.replicas);
  }

  /**
   * The owner ranges (positions, before replicas) whose buckets can hold rows
   * matching `where`: those of the values an `eq` or `in` pins the column
   * to, else all; ascending.
   */
  ownersFor(where: Predicate | undefined): number[] {
    const values = where && fixedValues(where, this.column);
    if (!values) return all(this.shards.length);
    const positions = new Set(values.map((v) => shardOfBucket(bucketOfValue(v), this.shards.length)));
    return [...positions].sort((a, b) => a - b);
  }
}

/**
 * The values `column` can take in rows matching `where`, when the predicate
 * pins them with `eq` or `in` (a superset is fine); `undefined` when it does not.
 */
export function fixedValues(where: Predicate, column: string): ColumnValue[] | undefined {
  switch (where.op) {
    case 'eq':
      return where.column.name === column ? [where.value] : undefined;
    case 'in':
      return where.column.name === column ? [...where.values] : undefined;
    case 'const':
      return where.value ? undefined : [];
    case 'and':
      for (const item of where.items) {
        const values = fixedValues(item, column);
        if (values) return values;
      }
      return undefined;
    case 'or': {
      const out: ColumnValue[] = [];
      for (const item of where.items) {
        const values = fixedValues(item, column);
        if (!values) return undefined;
        out.push(...values);
      }
      return out;
    }
    default:
      return undefined;
  }
}

/**
 * True when every row of an index on `index` lives on the shard of its record
 * on `records`: both shard by the record id over the same shards, in order,
 * each with one replica. Writes then commit a record with its index rows, and
 * queries JOIN them. With replicas (either strategy's `replicas` above 1)
 * nothing is co-located: a record's copies carry no index rows, and every
 * index row is routed to each replica of its own bucket.
 */
export function colocated(records: ShardStrategy, index: ShardStrategy): boolean {
  if (replicaCount(records) > 1 || replicaCount(index) > 1) return false;
  if (records === index) return true;
  if (!(records instanceof ShardByPrimaryKey) || !(index instanceof ShardByPrimaryKey)) return false;
  return (
    records.shards.length === index.shards.length && records.shards.every((s, i) => s === index.shards[i])
  );
}

/** How many shards hold each bucket of `strategy`: its `replicas`, 1 when it has none (a custom strategy). */
export function replicaCount(strategy: ShardStrategy): number {
  return strategy.replicas ?? 1;
}

/**
 * The preference list of `key` under `strategy`: its `replicasOf(key)`, or
 * `[shardOf(key)]` for a strategy without replicas.
 */
export function replicasOf(strategy: ShardStrategy, key: ShardKey): readonly number[] {
  return strategy.replicasOf ? strategy.replicasOf(key) : [strategy.shardOf(key)];
}

/** The owner ranges of `strategy` that can hold rows matching `where` (see {@link ShardByColumn.ownersFor}). */
function ownersFor(strategy: ShardStrategy, where: Predicate | undefined): number[] {
  if (strategy instanceof ShardByPrimaryKey || strategy instanceof ShardByColumn) {
    return strategy.ownersFor(where);
  }
  // A custom strategy: its shardsFor are the owners when each bucket has one shard, else any may be.
  return replicaCount(strategy) === 1 ? strategy.shardsFor(where) : all(strategy.shards.length);
}

/** One shard of a {@link coveringPositions} plan: read `ranges` (owner positions) there. */
export interface CoveringRead {
  /** The position, in the strategy's shards, to read from. */
  readonly position: number;
  /** The owner ranges (by owner position, ascending) this shard serves for the read. */
  readonly ranges: readonly number[];
}

/**
 * Which shards to read so that every bucket range that can hold rows matching
 * `where` is read exactly once, from a reachable replica: for each owner range
 * concerned, the first position of its preference list for which `isUp` is
 * true (the owner itself when it is up, so with every shard up, or with 1
 * replica, this is `shardsFor(where)` with one range each). When no replica
 * of a range is up, its owner is chosen: the read then fails there as
 * unavailable, or finds it back. Ascending by position.
 *
 * A shard chosen for some ranges also holds the rows of the other ranges it
 * is a replica of: the caller keeps only the rows of `ranges` (or drops the
 * rows of records it already has, by id), so no row counts twice.
 * A custom strategy with replicas > 1 must place them as waffle does
 * ({@link replicaPositions} of its `shardOf`).
 */
export function coveringPositions(
  strategy: ShardStrategy,
  where: Predicate | undefined,
  isUp: (position: number) => boolean,
): CoveringRead[] {
  const count = strategy.shards.length;
  const replicas = replicaCount(strategy);
  const chosen = new Map<number, number[]>();
  for (const owner of ownersFor(strategy, where)) {
    const list = replicaPositions(owner, count, replicas);
    const position = list.find((p) => isUp(p)) ?? owner;
    const ranges = chosen.get(position);
    if (ranges) ranges.push(owner);
    else chosen.set(position, [owner]);
  }
  return [...chosen]
    .sort(([a], [b]) => a - b)
    .map(([position, ranges]) => ({ position, ranges: ranges.sort((a, b) => a - b) }));
}

/**
 * Refuses a strategy that an entity or index cannot use: a `replicas` that is
 * not an integer from 1 to the number of shards.
 * `what` names the user, e.g. `Entity "blog"` or `Index "blog_time"`.
 */
export function checkStrategyReplicas(what: string, strategy: ShardStrategy): void {
  const replicas = replicaCount(strategy);
  const count = strategy.shards?.length ?? 0;
  if (!Number.isSafeInteger(replicas) || replicas < 1 || replicas > count) {
    throw new ValidationError(
      `${what}: the shard strategy's replicas must be an integer from 1 to the number of shards (${count}), got ${describe(replicas)}`,
    );
  }
}
