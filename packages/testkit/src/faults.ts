import { type Shard, type ShardOperations, ShardUnavailableError } from '@waffle/core';

/** When injected faults strike. */
export interface FaultOptions {
  /** The call (1-based, counted over every wrapped shard) that fails. */
  readonly failAt: number;
  /** Whether every call after `failAt` fails too (a server that stays down), or only that one. */
  readonly persistent?: boolean;
}

const OPERATIONS = [
  'getRecords',
  'insertRecord',
  'updateRecord',
  'deleteRecord',
  'scanRecords',
  'putIndexRows',
  'deleteIndexRows',
  'queryIndex',
] as const satisfies readonly (keyof ShardOperations)[];

/**
 * Injects failures into shards, for tests of what a crash part-way through
 * an operation leaves behind. Every call to a wrapped shard's operations (also
 * inside its transactions, and `transaction` itself) is counted; call number
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
    this.calls++;
    const o = this.options;
    if (!o) return;
    if (this.calls === o.failAt || (o.persistent && this.calls > o.failAt)) {
      this.failures++;
      throw new ShardUnavailableError(`Injected fault at call ${this.calls} (${operation} on ${name})`);
    }
  }

  private wrapOperations<O extends ShardOperations>(
    target: O,
    name: string,
    into: Record<string, unknown>,
  ): void {
    for (const operation of OPERATIONS) {
      into[operation] = async (...args: unknown[]) => {
        this.strike(name, operation);
        return (target[operation] as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    }
  }

  /** A shard that behaves like `shard` but fails as planned. */
  wrap(shard: Shard): Shard {
    const wrapped: Record<string, unknown> = {
      name: shard.name,
      dialect: shard.dialect,
      limits: shard.limits,
      createTables: shard.createTables.bind(shard),
      readMeta: shard.readMeta.bind(shard),
      writeMeta: shard.writeMeta.bind(shard),
      close: shard.close.bind(shard),
      transaction: async <T>(work: (tx: ShardOperations) => Promise<T>) => {
        this.strike(shard.name, 'transaction');
        return shard.transaction((tx) => {
          const inner: Record<string, unknown> = {};
          this.wrapOperations(tx, shard.name, inner);
          return work(inner as unknown as ShardOperations);
        });
      },
    };
    this.wrapOperations(shard, shard.name, wrapped);
    return wrapped as unknown as Shard;
  }
}
