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

/**
 * Spreads keys over shards by the hash of the record id: id → one of 4096
 * virtual buckets → the shard owning that bucket. Used by entities and by
 * indices that keep their rows beside the records.
 */
export class ShardByPrimaryKey implements ShardStrategy {
  readonly shards: readonly Shard[];
  readonly layout: string;

  constructor(shards: readonly Shard[]) {
    this.shards = checkShards('ShardByPrimaryKey', shards);
    this.layout = `primary-key:${BUCKETS}:${this.shards.length}`;
  }

  shardOf(key: ShardKey): number {
    return shardOfBucket(bucketOf(key.id), this.shards.length);
  }

  shardsFor(): number[] {
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

  constructor(
    readonly column: string,
    shards: readonly Shard[],
  ) {
    checkName('column', column);
    this.shards = checkShards('ShardByColumn', shards);
    this.columns = [column];
    this.layout = `column:${column}:${BUCKETS}:${this.shards.length}`;
  }

  shardOf(key: ShardKey): number {
    const row = key.row;
    if (!row || !Object.hasOwn(row, this.column)) {
      throw new ValidationError(`ShardByColumn("${this.column}"): the row has no column "${this.column}"`);
    }
    return shardOfBucket(bucketOfValue(row[this.column] ?? null), this.shards.length);
  }

  shardsFor(where: Predicate | undefined): number[] {
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
 * on `records`: both shard by the record id over the same shards, in order.
 * Writes then commit a record with its index rows, and queries JOIN them.
 */
export function colocated(records: ShardStrategy, index: ShardStrategy): boolean {
  if (records === index) return true;
  if (!(records instanceof ShardByPrimaryKey) || !(index instanceof ShardByPrimaryKey)) return false;
  return (
    records.shards.length === index.shards.length && records.shards.every((s, i) => s === index.shards[i])
  );
}
