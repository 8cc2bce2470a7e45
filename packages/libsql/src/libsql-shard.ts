/**
 * The libSQL / SQLite {@link Shard}: connection handling, the gate that keeps
 * a local database's transactions apart from other statements, and delegation
 * of every operation to its module.
 */
import { type Client, createClient } from '@libsql/client';
import {
  type Shard,
  type ShardLimits,
  type ShardOperations,
  ShardUnavailableError,
  type TableSpec,
  ValidationError,
} from '@waffle/core';
import { direct, type Enter, OperationsShard } from '@waffle/sql';
import { drizzle } from 'drizzle-orm/libsql';
import { type ConnectionMode, prepareConnection } from './libsql-connection.js';
import { Executor, type ShardState, type SqliteDb } from './libsql-exec.js';
import { Gate } from './libsql-gate.js';
import { createTables, readMeta, writeMeta } from './libsql-meta.js';
import { libsqlOperations } from './libsql-operations.js';
import { DEFAULT_BUSY_TIMEOUT, type LibsqlShardOptions, redactUrl, shardName } from './libsql-options.js';
import { libsqlTables } from './libsql-tables.js';
import { drizzleTransaction, manualTransaction, type Work } from './libsql-transaction.js';

/**
 * SQLite's default limit of bound parameters since 3.32 (libSQL keeps it).
 * SQLite has no identifier length limit; 128 leaves room for every name core makes.
 */
const LIMITS: ShardLimits = Object.freeze({ maxParameters: 32766, maxIdentifierLength: 128 });

function checkBusyTimeout(value: number | undefined): number {
  if (value === undefined) return DEFAULT_BUSY_TIMEOUT;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError(
      `libsqlShard: busyTimeout must be a non-negative integer of milliseconds, got ${value}`,
    );
  }
  return value;
}

function openClient(url: string, authToken: string | undefined, timeout: number, name: string): Client {
  try {
    return createClient({ url, authToken, timeout });
  } catch (error) {
    const original = error instanceof Error ? error.message : String(error);
    let message = original;
    for (const secret of [url, authToken]) {
      if (secret) message = message.split(secret).join(secret === url ? redactUrl(url) : '***');
    }
    // A malformed or unsupported URL is bad input; a database that cannot be opened is unavailable.
    const code = (error as { code?: unknown }).code;
    const badUrl = error instanceof TypeError || (typeof code === 'string' && code.startsWith('URL_'));
    const Kind = badUrl ? ValidationError : ShardUnavailableError;
    // The driver's error is kept as cause unless its message shows the URL or token.
    throw new Kind(`Cannot open ${name}: ${message}`, message === original ? { cause: error } : undefined);
  }
}

/** A shard on one libSQL database. */
class LibsqlShard extends OperationsShard implements Shard {
  readonly name: string;
  readonly dialect = 'sqlite';
  readonly limits = LIMITS;
  readonly #client: Client;
  readonly #owned: boolean;
  readonly #db: SqliteDb;
  readonly #state: ShardState;
  readonly #exec: Executor;
  readonly #busyTimeout: number;
  readonly #tables = libsqlTables();
  readonly #gate = new Gate();
  protected readonly operations: ShardOperations;
  #mode: Promise<ConnectionMode> | undefined;

  constructor(options: LibsqlShardOptions) {
    super();
    this.name = shardName(options);
    this.#busyTimeout = checkBusyTimeout(options.busyTimeout);
    if ('client' in options) {
      this.#client = options.client;
      this.#owned = false;
    } else {
      this.#client = openClient(options.url, options.authToken, this.#busyTimeout, this.name);
      this.#owned = true;
    }
    this.#db = drizzle({ client: this.#client });
    this.#state = { name: this.name, closed: false };
    this.#exec = new Executor(this.#db, this.#state);
    this.operations = this.#operationsOn(this.#exec, this.#enter);
  }

  /** Prepares the connection once; concurrent first calls share the preparation, a failed one is retried. */
  #ready(): Promise<ConnectionMode> {
    this.#mode ??= prepareConnection(this.#client, this.#exec, this.#busyTimeout).catch((error: unknown) => {
      this.#mode = undefined;
      throw error;
    });
    return this.#mode;
  }

  readonly #enter: Enter = async (work) => {
    const mode = await this.#ready();
    return mode.local ? this.#gate.shared(work) : work();
  };

  #operationsOn(exec: Executor, enter: Enter): ShardOperations {
    return libsqlOperations(exec, this.#tables, this.limits.maxParameters, enter);
  }

  createTables(tables: readonly TableSpec[]): Promise<void> {
    return this.#enter(() => createTables(this.#exec, tables));
  }

  readMeta(keys: readonly string[]): Promise<Map<string, string>> {
    return this.#enter(() => readMeta(this.#exec, keys, this.limits.maxParameters));
  }

  writeMeta(key: string, value: string): Promise<string> {
    return this.#enter(() => writeMeta(this.#exec, key, value));
  }

  /**
   * Runs `work` in one write transaction. Inside `work`, use only `tx`: on a
   * local database the shard's other operations wait until the transaction ends.
   */
  async transaction<T>(work: Work<T>): Promise<T> {
    const mode = await this.#ready();
    const run = () =>
      mode.manualTransactions
        ? manualTransaction(this.#exec, this.#operationsOn(this.#exec, direct), work)
        : drizzleTransaction(this.#db, this.#state, (exec) => this.#operationsOn(exec, direct), work);
    return mode.local ? this.#gate.exclusive(run) : run();
  }

  async close(): Promise<void> {
    if (this.#state.closed) return;
    this.#state.closed = true;
    if (this.#owned) this.#client.close();
  }
}

/**
 * A waffle shard on a libSQL or SQLite database: an embedded file
 * (`file:data/s0.db`), an in-memory database (`:memory:`) or a remote libSQL
 * server (`libsql://…`), given by URL or as an existing `@libsql/client` client.
 * Local file databases are switched to WAL journaling at first use.
 *
 * @example
 * const shards = [libsqlShard({ url: 'file:data/s0.db' }), libsqlShard({ url: 'file:data/s1.db' })];
 */
export function libsqlShard(options: LibsqlShardOptions): Shard {
  return new LibsqlShard(options);
}
