/**
 * Calls over replicas: which replica of a bucket to use, with the circuit
 * breakers of `health.ts`, and the fall-over to the next replica when one
 * fails as unavailable. With one replica nothing here consults a breaker:
 * the only shard is always called, as before replication existed.
 */
import { ShardUnavailableError } from './errors.js';
import { shardHealth } from './health.js';
import { replicaCount, replicaPositions } from './shard-strategy.js';
import type { EntityTableSpec, RecordRow, Shard, ShardStrategy } from './types.js';

/**
 * Runs `call` on the first of `positions` (a preference list of `shards`)
 * whose breaker lets it through, reporting each outcome to the breaker, and
 * falls over to the next on {@link ShardUnavailableError}; the replicas the
 * breaker skipped are tried last, so a read that can succeed does. Replicas
 * that are behind (back after failing, their missed writes not yet drained:
 * `ShardHealth.isPreferred`) come after those that are not. Any other
 * error is thrown at once. With one position, it is simply called.
 */
export async function onFirstReachable<R>(
  shards: readonly Shard[],
  positions: readonly number[],
  call: (shard: Shard, position: number) => Promise<R>,
): Promise<R> {
  if (positions.length === 1) return call(shards[positions[0]!]!, positions[0]!);
  let last: unknown;
  const skipped: number[] = [];
  const attempt = async (position: number): Promise<{ value: R } | undefined> => {
    const shard = shards[position]!;
    try {
      const value = await call(shard, position);
      shardHealth.reportAnswered(shard);
      return { value };
    } catch (error) {
      shardHealth.reportFailure(shard, error);
      if (!ShardUnavailableError.is(error)) throw error;
      last = error;
      return undefined;
    }
  };
  const preferred = positions.filter((position) => shardHealth.isPreferred(shards[position]!));
  for (const position of [...preferred, ...positions.filter((p) => !preferred.includes(p))]) {
    if (!shardHealth.isUp(shards[position]!)) {
      skipped.push(position);
      continue;
    }
    const done = await attempt(position);
    if (done) return done.value;
  }
  for (const position of skipped) {
    const done = await attempt(position);
    if (done) return done.value;
  }
  throw last;
}

/**
 * Runs `call` on `shard` and reports its outcome to the shard's breaker.
 * With `replicated` false (a strategy of one replica) the breaker is left out.
 */
export function reported<R>(shard: Shard, replicated: boolean, call: () => Promise<R>): Promise<R> {
  if (replicated) return reportedOver(shard, call);
  // Without replicas, the call itself: no promise of its own around it (a throw still rejects).
  try {
    return call();
  } catch (error) {
    return Promise.reject(error);
  }
}

/** {@link reported} over replicas. */
async function reportedOver<R>(shard: Shard, call: () => Promise<R>): Promise<R> {
  try {
    const value = await call();
    shardHealth.reportAnswered(shard);
    return value;
  } catch (error) {
    shardHealth.reportFailure(shard, error);
    throw error;
  }
}

/** True when the breaker of `shard` lets a call through (always, without replicas). */
export function isUp(shard: Shard, replicated: boolean): boolean {
  return !replicated || shardHealth.isUp(shard);
}

/** True when reads and commits should pick `shard` first among its bucket's replicas: see `ShardHealth.isPreferred`. */
export function isPreferred(shard: Shard): boolean {
  return shardHealth.isPreferred(shard);
}

/** True when `strategy` keeps more than one copy of each bucket. */
export function isReplicated(strategy: ShardStrategy): boolean {
  return replicaCount(strategy) > 1;
}

/**
 * True when `a` wins over `b` by the conflict rule of replicas: the higher
 * version, then the later update time, then the greater body (a stable
 * tie-break every process computes alike).
 */
export function newer(a: RecordRow, b: RecordRow): boolean {
  if (a.version !== b.version) return a.version > b.version;
  if (a.updatedAt !== b.updatedAt) return a.updatedAt > b.updatedAt;
  return compareBodies(a.body, b.body) > 0;
}

/** Orders bodies: text by code unit, bytes by byte, text before bytes. */
function compareBodies(a: string | Uint8Array, b: string | Uint8Array): number {
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'string') return -1;
  if (typeof b === 'string') return 1;
  const n = Math.min(a.byteLength, b.byteLength);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.byteLength - b.byteLength;
}

/** One page of a bucket range's records: see {@link scanRange}. */
export interface RangePage {
  /** The records of the range in the page, in id order. */
  readonly rows: RecordRow[];
  /** The last id read (of any range), where the next page starts; unchanged when none was read. */
  readonly last: string | undefined;
  /** True when the shard had no more records after this page. */
  readonly done: boolean;
}

/**
 * One page of the stored rows (tombstones included) of the bucket range of
 * owner position `owner`, in id order after `after`: without replicas, the
 * owner's rows; over replicas, read on the range's first reachable replica
 * (falling over to the next), keeping only the rows of that range.
 */
export async function scanRange(
  strategy: ShardStrategy,
  table: EntityTableSpec,
  owner: number,
  after: string | undefined,
  limit: number,
): Promise<RangePage> {
  const read = (shard: Shard) => shard.scanRecords(table, { after, limit });
  if (!isReplicated(strategy)) {
    const rows = await read(strategy.shards[owner]!);
    return { rows, last: rows[rows.length - 1]?.id ?? after, done: rows.length < limit };
  }
  const count = strategy.shards.length;
  const rows = await onFirstReachable(
    strategy.shards,
    replicaPositions(owner, count, replicaCount(strategy)),
    read,
  );
  return {
    rows: rows.filter((row) => strategy.shardOf({ id: row.id }) === owner),
    last: rows[rows.length - 1]?.id ?? after,
    done: rows.length < limit,
  };
}
