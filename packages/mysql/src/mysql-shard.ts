/**
 * The MySQL / MariaDB {@link Shard}: the pool, the inspection of the server at
 * first use (packet limit, version, character set), and delegation of every
 * operation to its module.
 */
import type { Shard, ShardLimits, ShardOperations, TableSpec } from '@waffle/core';
import { direct, type Enter, OperationsShard } from '@waffle/sql';
import type { Pool } from 'mysql2/promise';
import { BODY_MARGIN, inspectServer, type ServerInfo } from './mysql-connection.js';
import { Executor, type ShardState } from './mysql-exec.js';
import { createTables, readMeta, writeMeta } from './mysql-meta.js';
import { mysqlOperations } from './mysql-operations.js';
import { type MysqlShardOptions, resolveOptions } from './mysql-options.js';
import { mysqlTables } from './mysql-tables.js';
import { runTransaction, type Work } from './mysql-transaction.js';

/** The protocol's limit of bound parameters per prepared statement, and MySQL's identifier length. */
const BASE_LIMITS: ShardLimits = Object.freeze({ maxParameters: 65535, maxIdentifierLength: 64 });

/** A shard on one MySQL or MariaDB database. */
class MysqlShard extends OperationsShard implements Shard {
  readonly name: string;
  readonly dialect = 'mysql';
  readonly #pool: Pool;
  readonly #owned: boolean;
  readonly #state: ShardState;
  readonly #exec: Executor;
  readonly #tables = mysqlTables();
  protected readonly operations: ShardOperations;
  #limits: ShardLimits = BASE_LIMITS;
  #server: Promise<ServerInfo> | undefined;

  constructor(options: MysqlShardOptions) {
    super();
    const resolved = resolveOptions(options);
    this.name = resolved.name;
    this.#pool = resolved.pool;
    this.#owned = resolved.owned;
    this.#state = { name: this.name, secrets: resolved.secrets, closed: false, server: undefined };
    this.#exec = new Executor(this.#state, { kind: 'pool', pool: this.#pool });
    this.operations = mysqlOperations(this.#exec, this.#tables, BASE_LIMITS.maxParameters, this.#enter);
  }

  /**
   * What the database accepts. `maxBodyBytes` (the server's
   * `max_allowed_packet` less room for the rest of the statement) is known
   * after the shard's first round trip.
   */
  get limits(): ShardLimits {
    return this.#limits;
  }

  /** Inspects the server once; concurrent first calls share the inspection, a failed one is retried. */
  #inspect(): Promise<ServerInfo> {
    this.#server ??= inspectServer(this.#exec).then(
      (server) => {
        this.#state.server = server;
        this.#limits = Object.freeze({
          ...BASE_LIMITS,
          maxBodyBytes: Math.max(0, server.maxPacket - BODY_MARGIN),
        });
        return server;
      },
      (error: unknown) => {
        this.#server = undefined;
        throw error;
      },
    );
    return this.#server;
  }

  readonly #enter: Enter = async (work) => {
    await this.#inspect();
    return work();
  };

  createTables(tables: readonly TableSpec[]): Promise<void> {
    return this.#enter(() => createTables(this.#exec, this.#tables, tables));
  }

  readMeta(keys: readonly string[]): Promise<Map<string, string>> {
    return this.#enter(() => readMeta(this.#exec, keys, BASE_LIMITS.maxParameters));
  }

  writeMeta(key: string, value: string): Promise<string> {
    return this.#enter(() => writeMeta(this.#exec, key, value));
  }

  /**
   * Runs `work` in one transaction on one pooled connection. Inside `work`,
   * use only `tx`; its operations run one after another on that connection.
   */
  async transaction<T>(work: Work<T>): Promise<T> {
    await this.#inspect();
    return runTransaction(
      this.#state,
      this.#pool,
      (exec) => mysqlOperations(exec, this.#tables, BASE_LIMITS.maxParameters, direct),
      work,
    );
  }

  async close(): Promise<void> {
    if (this.#state.closed) return;
    this.#state.closed = true;
    if (this.#owned) await this.#pool.end();
  }
}

/**
 * A waffle shard on a MySQL (8.0+) or MariaDB (10.6+) database, through a
 * mysql2 pool. Give a URL (`mysql://user:password@host:3306/database`), pool
 * options (`{ url, … }` or `{ host, user, password, database, … }`, plus an
 * optional `name`) and the shard creates the pool and ends it in `close()`;
 * or give an existing mysql2 pool (bare or as `{ pool, name }`), which the
 * caller keeps: `close()` leaves it open. The name shown in messages never
 * holds a password.
 *
 * @example
 * const shards = [
 *   mysqlShard('mysql://app@db1:3306/waffle_s0'),
 *   mysqlShard({ url: 'mysql://app@db2:3306/waffle_s1', connectionLimit: 20 }),
 * ];
 */
export function mysqlShard(options: MysqlShardOptions): Shard {
  return new MysqlShard(options);
}
