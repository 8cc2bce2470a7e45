import { type Shard, ShardUnavailableError } from '@waffle/core';
import { wrapShard } from './wrap.js';

/** When injected faults strike. */
export interface FaultOptions {
  /** The call (1-based, counted over every wrapped shard) that fails. */
  readonly failAt: number;
  /** Whether every call after `failAt` fails too (a server that stays down), or only that one. */
  readonly persistent?: boolean;
  /** Count (and fail) only these operations, e.g. `['deleteIndexRows']`; default every one. */
  readonly only?: readonly string[];
}

/**
 * Injects failures into shards, for tests of what a crash part-way through
 * an operation leaves behind. Every call to a wrapped shard's data operations
 * is counted; call number
 * `failAt` throws a {@link ShardUnavailableError} before it reaches the
 * database, and so does every later one when `persistent`.
 */
export class Faults {
  /** Calls counted so far. */
  calls = 0;
  /** Calls that failed. */
  failures = 0;
  private options: FaultOptions | undefined;

  /** Arms the plan (and resets the counters); until then no call fails. */
  arm(options: FaultOptions): void {
    this.options = options;
    this.calls = 0;
    this.failures = 0;
  }

  /** Stops failing. */
  disarm(): void {
    this.options = undefined;
  }

  private strike(name: string, operation: string): void {
    const o = this.options;
    if (o?.only && !o.only.includes(operation)) return;
    this.calls++;
    if (!o) return;
    if (this.calls === o.failAt || (o.persistent && this.calls > o.failAt)) {
      this.failures++;
      throw new ShardUnavailableError(`Injected fault at call ${this.calls} (${operation} on ${name})`);
    }
  }

  /** A shard that behaves like `shard` but fails as planned. */
  wrap(shard: Shard): Shard {
    return wrapShard(shard, (operation, run) => async (...args) => {
      this.strike(shard.name, operation);
      return run(...args);
    });
  }
}
