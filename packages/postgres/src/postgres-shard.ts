/**
 * The PostgreSQL {@link Shard}: which client it runs on (its own, opened
 * from a URL or options, or the caller's), and delegation of every operation
 * to its module.
 */
import type { Shard, ShardLimits, ShardOperations, TableSpec } from '@waffle/core';
import { OperationsShard } from '@waffle/sql';
import { Executor, type ShardState } from './postgres-exec.js';
import { createTables, readMeta, writeMeta } from './postgres-meta.js';
import { postgresOperations } from './postgres-operations.js';
import {
  isClient,
  openClient,
  type PostgresClient,
  type PostgresCommonOptions,
  type PostgresShardOptions,
  passwordOf,
  shardName,
} from './postgres-options.js';
import { MAX_IDENTIFIER, postgresTables } from './postgres-tables.js';
import { transaction, type Work } from './postgres-transaction.js';

/**
 * postgres.js refuses statements with 65,534 or more parameters (the
 * protocol counts them in 16 bits), so at most 65,533; identifiers keep 63 bytes.
 */
const LIMITS: ShardLimits = Object.freeze({ maxParameters: 65533, maxIdentifierLength: MAX_IDENTIFIER });

/** How long `close()` lets running statements finish before it ends the connections, in seconds. */
const CLOSE_TIMEOUT = 5;

/** A shard on one PostgreSQL database. */
class PostgresShard extends OperationsShard implements Shard {
  readonly name: string;
  readonly dialect = 'postgres';
  readonly limits = LIMITS;
  readonly #client: PostgresClient;
  readonly #owned: boolean;
  readonly #state: ShardState;
  readonly #exec: Executor;
  readonly #tables = postgresTables();
  protected readonly operations: ShardOperations;

  constructor(client: PostgresClient, owned: boolean, name: string | undefined) {
    super();
    this.#client = client;
    this.#owned = owned;
    this.name = shardName(client, name);
    this.#state = { name: this.name, secret: passwordOf(client), closed: false, prepared: new Set() };
    this.#exec = new Executor(client, this.#state);
    this.operations = this.#operationsOn(this.#exec);
  }

  #operationsOn(exec: Executor): ShardOperations {
    return postgresOperations(exec, this.#tables, this.limits.maxParameters);
  }

  createTables(tables: readonly TableSpec[]): Promise<void> {
    return createTables(this.#client, this.#state, tables);
  }

  readMeta(keys: readonly string[]): Promise<Map<string, string>> {
    return readMeta(this.#exec, keys, this.limits.maxParameters);
  }

  writeMeta(key: string, value: string): Promise<string> {
    return writeMeta(this.#client, this.#state, key, value);
  }

  /** Runs `work` in one transaction on one connection; other calls of the shard go on alongside. */
  transaction<T>(work: Work<T>): Promise<T> {
    return transaction(this.#client, this.#state, (exec) => this.#operationsOn(exec), work);
  }

  async close(): Promise<void> {
    if (this.#state.closed) return;
    this.#state.closed = true;
    if (this.#owned) await this.#client.end({ timeout: CLOSE_TIMEOUT });
  }
}

/**
 * A waffle shard on a PostgreSQL database, through postgres.js, with
 * statements built by drizzle-orm. Give it
 *
 * - a connection URL (`postgres://user:password@host:5432/database`),
 * - postgres.js options with an optional `url` (`{ url, max: 4, ssl: 'require' }`),
 *   both opening a client the shard ends in `close()`, or
 * - an existing postgres.js client (`sql` from `postgres(…)`), which the caller
 *   keeps: `close()` leaves it open.
 *
 * `name` (in the options, or in `extra` for a URL or client) replaces the
 * derived name `postgres://user@host:port/database`, which never shows a password.
 *
 * @example
 * const shards = [
 *   postgresShard('postgres://app@db1.internal:5432/blog'),
 *   postgresShard({ url: 'postgres://app@db2.internal:5432/blog', max: 4 }),
 * ];
 */
export function postgresShard(
  target: PostgresShardOptions | PostgresClient,
  extra: PostgresCommonOptions = {},
): Shard {
  if (isClient(target)) return new PostgresShard(target, false, extra.name);
  const name = typeof target === 'string' ? extra.name : (target.name ?? extra.name);
  return new PostgresShard(openClient(target), true, name);
}
