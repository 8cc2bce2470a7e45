import { afterKey, compareRows, type KeyPart, rowKey } from './order.js';
import type { Predicate } from './predicate.js';
import type { IndexHit } from './types.js';

/** `and` of the predicates given, leaving out the undefined ones. */
export function conjunction(items: (Predicate | undefined)[]): Predicate | undefined {
  const present = items.filter((p): p is Predicate => p !== undefined);
  if (present.length === 0) return undefined;
  return present.length === 1 ? present[0] : { op: 'and', items: present };
}

/** Index rows of one shard, read page by page in the plan's row order. */
export class ShardStream {
  private buffer: IndexHit[] = [];
  private offset = 0;
  private done = false;
  private last: IndexHit | undefined;

  constructor(
    private readonly read: (where: Predicate | undefined, limit: number) => Promise<IndexHit[]>,
    private readonly parts: readonly KeyPart[],
    private readonly base: Predicate | undefined,
    private readonly pageSize: number,
  ) {}

  /** True when the next row is not known until the next page is read. */
  get starved(): boolean {
    return this.offset >= this.buffer.length && !this.done;
  }

  /** The next row, without consuming it; undefined when there is none buffered. */
  head(): IndexHit | undefined {
    return this.buffer[this.offset];
  }

  /** Reads the next page. */
  async fill(): Promise<void> {
    const resume = this.last ? afterKey(this.parts, rowKey(this.parts, this.last)) : undefined;
    if (this.last && !resume) {
      this.done = true;
      return;
    }
    this.buffer = await this.read(conjunction([this.base, resume]), this.pageSize);
    this.offset = 0;
    if (this.buffer.length < this.pageSize) this.done = true;
    this.last = this.buffer[this.buffer.length - 1] ?? this.last;
  }

  /** Consumes the next row. */
  take(): IndexHit {
    return this.buffer[this.offset++]!;
  }

  /** Consumes up to `max` buffered rows (the buffer itself when it is taken whole). */
  takeUpTo(max: number): IndexHit[] {
    const { buffer, offset } = this;
    const end = Math.min(buffer.length, offset + max);
    this.offset = end;
    return offset === 0 && end === buffer.length ? buffer : buffer.slice(offset, end);
  }
}

/**
 * Merges shard streams into one in row order, a batch at a time: rows are
 * compared in memory, and a shard is read only when its buffered rows run
 * out (all such shards at once), so a page costs no pause per row.
 */
export class Merge {
  constructor(
    private readonly streams: readonly ShardStream[],
    private readonly parts: readonly KeyPart[],
  ) {}

  /** The next rows, at most `max`; fewer only at the end of every stream. */
  async next(max: number): Promise<IndexHit[]> {
    const { streams, parts } = this;
    if (streams.length === 1) return this.nextOf(streams[0]!, max);
    const out: IndexHit[] = [];
    while (out.length < max) {
      let starved: Promise<void>[] | undefined;
      for (const stream of streams) {
        if (!stream.starved) continue;
        starved ??= [];
        starved.push(stream.fill());
      }
      if (starved) await Promise.all(starved);
      let best: ShardStream | undefined;
      let bestRow: IndexHit | undefined;
      for (const stream of streams) {
        const row = stream.head();
        if (row && (!bestRow || compareRows(parts, row, bestRow) < 0)) {
          best = stream;
          bestRow = row;
        }
      }
      if (!best) break;
      out.push(best.take());
    }
    return out;
  }

  /** {@link Merge.next} of a single stream: its rows as they come, page by page. */
  private async nextOf(stream: ShardStream, max: number): Promise<IndexHit[]> {
    let out: IndexHit[] | undefined;
    while ((out?.length ?? 0) < max) {
      if (stream.starved) await stream.fill();
      const rows = stream.takeUpTo(max - (out?.length ?? 0));
      if (rows.length === 0) break;
      if (out === undefined) out = rows;
      else out.push(...rows);
    }
    return out ?? [];
  }
}

/** Merges shard streams into one stream in row order. */
export async function* mergeStreams(
  streams: ShardStream[],
  parts: readonly KeyPart[],
): AsyncGenerator<IndexHit> {
  const merge = new Merge(streams, parts);
  for (;;) {
    const batch = await merge.next(256);
    if (batch.length === 0) return;
    yield* batch;
  }
}
