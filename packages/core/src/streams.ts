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

  /** The next row without consuming it, reading a page when needed; undefined at the end. */
  async peek(): Promise<IndexHit | undefined> {
    if (this.offset < this.buffer.length) return this.buffer[this.offset];
    if (this.done) return undefined;
    const resume = this.last ? afterKey(this.parts, rowKey(this.parts, this.last)) : undefined;
    if (this.last && !resume) {
      this.done = true;
      return undefined;
    }
    this.buffer = await this.read(conjunction([this.base, resume]), this.pageSize);
    this.offset = 0;
    if (this.buffer.length < this.pageSize) this.done = true;
    this.last = this.buffer[this.buffer.length - 1] ?? this.last;
    return this.buffer[0];
  }

  take(): void {
    this.offset++;
  }
}

/** Merges shard streams into one stream in row order. */
export async function* mergeStreams(
  streams: ShardStream[],
  parts: readonly KeyPart[],
): AsyncGenerator<IndexHit> {
  while (true) {
    const heads = await Promise.all(streams.map((s) => s.peek()));
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      const head = heads[i];
      if (head && (best < 0 || compareRows(parts, head, heads[best]!) < 0)) best = i;
    }
    if (best < 0) return;
    streams[best]!.take();
    yield heads[best]!;
  }
}
