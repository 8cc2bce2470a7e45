/**
 * The mysql2 driver: opens a pool (or takes the caller's), learns at first
 * use what the server is and allows (version, `max_allowed_packet`, the
 * connection's character set), runs statements through `execute`
 * (server-side prepared statements, values always bound; never drizzle's
 * mysql2 driver, which splices values into the SQL text), runs batches and
 * transactions on one pooled connection, and reports failures as waffle
 * errors through `@waffle/sql`'s {@link driverError}.
 */
import { QueryError, ValidationError } from '@waffle/core';
import {
  closedError,
  commitError,
  commits,
  type Driver,
  driverError,
  type ErrorContext,
  FirstUse,
  type Result,
  type Runner,
  type Statement,
} from '@waffle/sql';
import type { Pool as CorePool, ExecuteValues, PoolConnection } from 'mysql2';
import type { Pool } from 'mysql2/promise';
import { type MysqlShardOptions, resolveOptions } from './mysql-options.js';

/** What a driver knows about its server after the first use. */
export interface ServerInfo {
  /** `VERSION()`, e.g. `8.0.36` or `10.11.6-MariaDB`. */
  readonly version: string;
  readonly mariadb: boolean;
  /** `@@max_allowed_packet`: the largest packet, hence statement, the server accepts. */
  readonly maxPacket: number;
  /**
   * The upsert refers to the proposed row with a row alias (`INSERT … AS new
   * ON DUPLICATE KEY UPDATE … new.col`, MySQL 8.0.19 and later, where
   * `VALUES(col)` is deprecated) rather than `VALUES(col)` (MariaDB, older MySQL).
   */
  readonly upsertAlias: boolean;
}

/** Bytes of `max_allowed_packet` left for the rest of a record's statement (SQL, id, codec, numbers) and result row. */
export const BODY_MARGIN = 16 * 1024;

/** Server error: a duplicate entry for a unique key (the same number on MySQL and MariaDB). */
export const ER_DUP_ENTRY = 1062;
/** Server error: InnoDB chose the statement's transaction as a deadlock victim and rolled it back. */
export const ER_LOCK_DEADLOCK = 1213;

/** How often a statement (or batch) is run again after InnoDB chose it as a deadlock victim. */
export const DEADLOCK_RETRIES = 5;
/** Bytes kept free under `max_allowed_packet` for the packet headers around a statement. */
const PACKET_MARGIN = 1024;

/** Error codes of a server that cannot be reached. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

const BEGIN: Statement = { sql: 'START TRANSACTION', params: [] };
const COMMIT: Statement = { sql: 'COMMIT', params: [] };
const ROLLBACK: Statement = { sql: 'ROLLBACK', params: [] };
const INSPECT: Statement = {
  sql: 'SELECT @@max_allowed_packet, VERSION(), @@character_set_client, @@character_set_connection',
  params: [],
};

/** True for MySQL 8.0.19 and later (not MariaDB, which keeps `VALUES(col)` and has no row alias). */
export function supportsRowAlias(version: string): boolean {
  if (/mariadb/i.test(version)) return false;
  const match = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!match) return false;
  const [major, minor, patch] = match.slice(1).map(Number) as [number, number, number];
  return major > 8 || (major === 8 && (minor > 0 || patch >= 19));
}

/** The server's error number of a driver error (or of the cause of a waffle error), if it has one. */
export function errnoOf(error: unknown): number | undefined {
  const cause = QueryError.is(error) ? (error as QueryError).cause : error;
  const errno = (cause as { errno?: unknown } | undefined)?.errno;
  return typeof errno === 'number' ? errno : undefined;
}

/** True when a driver error left its connection unusable. */
function isFatal(error: unknown): boolean {
  return (error as { fatal?: unknown } | undefined)?.fatal === true;
}

/** Socket errors of a statement that could not be sent: the connection was gone before it (a server restarted or cut). */
const UNSENT = new Set(['ECONNRESET', 'EPIPE']);

/** mysql2's refusal of a command on a connection it already knows is closed: nothing was sent. */
const CLOSED_STATE = "Can't add new command when connection is in closed state";

/** True when a statement's error says it never left this process: its connection was gone before it. */
function isUnsent(error: unknown): boolean {
  const { code, syscall, message } = (error ?? {}) as {
    code?: unknown;
    syscall?: unknown;
    message?: unknown;
  };
  if (typeof code === 'string' && syscall === 'write' && UNSENT.has(code)) return true;
  return message === CLOSED_STATE;
}

/** Error codes of mysql2 and Node meaning a connection that was open is gone. */
const LOST = new Set(['PROTOCOL_CONNECTION_LOST', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

/**
 * Server errors that end the connection or the statement from outside: the
 * connection killed (`KILL`, 1927 on MariaDB), the query killed
 * (`KILL QUERY`, 1317), a server shutting down (1053).
 */
const KILLED = new Set([1927, 1317, 1053]);

/**
 * Server errors of a statement stopped by a limit the session set: a lock
 * wait timeout (1205, `innodb_lock_wait_timeout`: the statement was rolled
 * back; the transaction is rolled back by the driver), a statement time
 * limit (1969, MariaDB's `max_statement_time`; 3024, MySQL's
 * `max_execution_time`).
 */
const TIMEOUTS = new Set([1205, 1969, 3024]);

/** True when a statement's error is a lock wait or statement timeout. */
function isTimeout(error: unknown): boolean {
  const errno = (error as { errno?: unknown } | undefined)?.errno;
  return typeof errno === 'number' && TIMEOUTS.has(errno);
}

/** True when the connection a statement was sent on was lost before its reply (reset, closed, killed). */
function isLost(error: unknown): boolean {
  if (isUnsent(error)) return false;
  const { code, errno } = (error ?? {}) as { code?: unknown; errno?: unknown };
  return (typeof code === 'string' && LOST.has(code)) || (typeof errno === 'number' && KILLED.has(errno));
}

/** True when a statement's error says the server cannot be reached or serve now (or the statement never left this process). */
function isUnreachable(error: unknown): boolean {
  const { code } = (error ?? {}) as { code?: unknown };
  if (isUnsent(error) || isLost(error)) return true;
  return typeof code === 'string' && UNREACHABLE.has(code);
}

/** An upper bound of the bytes a parameter takes on the wire. */
function parameterBytes(value: unknown): number {
  if (typeof value === 'string') return value.length <= 4096 ? value.length * 3 : Buffer.byteLength(value);
  if (value instanceof Uint8Array) return value.byteLength;
  return 8;
}

/** An upper bound of the size of the packet that sends `statement` (the prepare packet holds the SQL, the execute packet the values). */
export function packetBytes(statement: Statement): number {
  let values = 16 + (statement.params.length >> 3);
  for (const value of statement.params) values += 11 + parameterBytes(value);
  return Math.max(values, statement.sql.length * 3);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits a little longer after each deadlock, with jitter, so the victims do not meet again. */
export const backoff = (attempt: number) => sleep(2 ** attempt + Math.random() * 4);

function toResult(result: unknown): Result {
  if (Array.isArray(result)) return { rows: result as unknown[][], changes: 0 };
  return { rows: [], changes: Number((result as { affectedRows?: unknown } | undefined)?.affectedRows ?? 0) };
}

type Done = (error: unknown, result?: unknown) => void;

/**
 * Sends a statement on a connection: through `execute` (a prepared statement,
 * kept per connection) when it binds values, through the text protocol when
 * it binds none (DDL, transaction control), with rows as arrays. mysql2's
 * callback API: its promise wrapper costs a fifth of a point read in CPU.
 */
function send(connection: PoolConnection, statement: Statement, done: Done): void {
  try {
    if (statement.params.length === 0) connection.query({ sql: statement.sql, rowsAsArray: true }, done);
    else {
      connection.execute(
        { sql: statement.sql, rowsAsArray: true, namedPlaceholders: false },
        statement.params as ExecuteValues[],
        done,
      );
    }
  } catch (error) {
    // mysql2 throws some argument errors (an undefined value) rather than calling back.
    done(error);
  }
}

/** {@link send} as a promise. */
function runOn(connection: PoolConnection, statement: Statement): Promise<Result> {
  return new Promise((resolve, reject) => {
    send(connection, statement, (error, result) => (error ? reject(error) : resolve(toResult(result))));
  });
}

/** The callback pool under a promise pool (whose `end()` the driver still uses). */
function corePool(pool: Pool): CorePool {
  return (pool as unknown as { pool: CorePool }).pool;
}

/** A driver of one MySQL or MariaDB database, through a mysql2 pool. */
export class MysqlDriver implements Driver {
  readonly name: string;
  readonly #pool: Pool;
  readonly #core: CorePool;
  readonly #owned: boolean;
  /** Failed statements: unavailable only when the server cannot be reached. */
  readonly #errors: ErrorContext;
  /** Failures to get a connection (refused, unknown host, bad login, pool ended): always unavailable. */
  readonly #connectErrors: ErrorContext;
  /** What the server told at first use. */
  readonly #server = new FirstUse(() => this.#inspect());
  #closed = false;

  constructor(options: MysqlShardOptions) {
    const resolved = resolveOptions(options);
    this.name = resolved.name;
    this.#pool = resolved.pool;
    this.#core = corePool(resolved.pool);
    this.#owned = resolved.owned;
    this.#errors = {
      shard: this.name,
      secrets: resolved.secrets,
      unavailable: isUnreachable,
      timedOut: isTimeout,
      lost: isLost,
    };
    this.#connectErrors = { ...this.#errors, unavailable: () => true };
  }

  /** What the server told at first use; undefined before. */
  get server(): ServerInfo | undefined {
    return this.#server.value;
  }

  /** Inspects the server once; concurrent first calls share the inspection, a failed one is retried. */
  inspect(): Promise<ServerInfo> {
    return this.#server.get();
  }

  /** Reads the server's version and limits, and checks the connection's character set. */
  async #inspect(): Promise<ServerInfo> {
    if (this.#closed) throw closedError(this.name, INSPECT);
    const connection = await this.#acquire(INSPECT);
    let row: readonly unknown[] | undefined;
    try {
      [row] = (await runOn(connection, INSPECT)).rows;
      connection.release();
    } catch (error) {
      this.#giveBack(connection, isFatal(error));
      throw driverError(this.#errors, INSPECT, error);
    }
    const version = String(row?.[1] ?? '');
    const charsets = [row?.[2], row?.[3]].map((c) => String(c));
    if (charsets.some((c) => c !== 'utf8mb4')) {
      throw new ValidationError(
        `Shard ${this.name} needs a utf8mb4 connection, but this one uses ${charsets.join('/')}: set charset 'utf8mb4' (mysql2's default) in the pool options`,
      );
    }
    return {
      version,
      mariadb: /mariadb/i.test(version),
      maxPacket: Number(row?.[0]),
      upsertAlias: supportsRowAlias(version),
    };
  }

  /** Borrows a pooled connection; any failure means the shard is unavailable. */
  #acquire(statement: Statement): Promise<PoolConnection> {
    return new Promise((resolve, reject) => {
      this.#core.getConnection((error, connection) => {
        if (error) reject(driverError(this.#connectErrors, statement, error));
        else resolve(connection);
      });
    });
  }

  /**
   * Runs a statement on a connection of the pool, given back at once (dropped
   * when it broke); a connection that cannot be had is already a waffle
   * error, a failed statement is the driver's error.
   */
  #once(statement: Statement): Promise<Result> {
    return new Promise((resolve, reject) => {
      this.#core.getConnection((error, connection) => {
        if (error) {
          reject(driverError(this.#connectErrors, statement, error));
          return;
        }
        send(connection, statement, (failure, result) => {
          if (failure) {
            this.#giveBack(connection, isFatal(failure));
            reject(failure);
          } else {
            connection.release();
            resolve(toResult(result));
          }
        });
      });
    });
  }

  /** Returns a connection to its pool, or drops it when it broke. */
  #giveBack(connection: PoolConnection, broken: boolean): void {
    if (broken) connection.destroy();
    else connection.release();
  }

  /** Refuses a statement on a closed shard, and, before sending it, one the server would drop the connection for. */
  #check(statement: Statement): void {
    if (this.#closed) throw closedError(this.name, statement);
    const max = this.#server.value?.maxPacket;
    if (max === undefined || packetBytes(statement) <= max - PACKET_MARGIN) return;
    const exact = statement.params.reduce<number>(
      (sum, value) =>
        sum + 11 + (typeof value === 'string' ? Buffer.byteLength(value) : parameterBytes(value)),
      16,
    );
    if (exact <= max - PACKET_MARGIN && statement.sql.length * 3 <= max - PACKET_MARGIN) return;
    throw new ValidationError(
      `A statement of ${exact} bytes is larger than the ${max} bytes max_allowed_packet of shard ${this.name} allows; nothing was sent (${statement.sql.slice(0, 80)}…)`,
    );
  }

  run(statement: Statement): Promise<Result> {
    if (this.#server.value === undefined) return this.inspect().then(() => this.#run(statement));
    return this.#run(statement);
  }

  /** Runs a statement on a pooled connection; a deadlock victim (rolled back entirely) simply runs again. */
  async #run(statement: Statement): Promise<Result> {
    this.#check(statement);
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#once(statement);
      } catch (error) {
        if (errnoOf(error) === ER_LOCK_DEADLOCK && attempt < DEADLOCK_RETRIES) {
          await backoff(attempt);
          if (this.#closed) throw closedError(this.name, statement);
          continue;
        }
        // A statement that writes on its own and was sent: lost before its reply, its outcome is unknown.
        if (commits(statement)) throw commitError(this.#errors, statement, error);
        throw driverError(this.#errors, statement, error);
      }
    }
  }

  /**
   * Runs the statements in one transaction on one connection. Their outcome
   * is all or nothing, so a deadlock victim runs again from the start.
   */
  async batch(statements: readonly Statement[]): Promise<Result[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.transaction(async (tx) => {
          const out: Result[] = [];
          for (const statement of statements) out.push(await tx.run(statement));
          return out;
        });
      } catch (error) {
        if (errnoOf(error) !== ER_LOCK_DEADLOCK || attempt >= DEADLOCK_RETRIES) throw error;
        await backoff(attempt);
      }
    }
  }

  /**
   * Runs `work` between START TRANSACTION and COMMIT on one pooled connection,
   * or ROLLBACK when it throws (its own error passes through unchanged). A
   * connection whose transaction could not be ended cleanly is dropped rather
   * than returned to the pool. Inside `work`, use only `tx`.
   */
  async transaction<T>(work: (tx: Runner) => Promise<T>): Promise<T> {
    if (this.#server.value === undefined) await this.inspect();
    if (this.#closed) throw closedError(this.name, BEGIN);
    const connection = await this.#acquire(BEGIN);
    let ended = false;
    let broken = false;
    const tx: Runner = {
      run: async (statement) => {
        this.#check(statement);
        if (ended)
          throw new QueryError('The transaction has ended', {
            sql: statement.sql,
            params: statement.params,
            shard: this.name,
          });
        try {
          return await runOn(connection, statement);
        } catch (error) {
          if (isFatal(error)) broken = true;
          throw driverError(this.#errors, statement, error);
        }
      },
    };
    try {
      try {
        await runOn(connection, BEGIN);
      } catch (error) {
        broken = isFatal(error);
        throw driverError(this.#errors, BEGIN, error);
      }
      let out: T;
      try {
        out = await work(tx);
      } catch (error) {
        if (!broken) {
          try {
            await runOn(connection, ROLLBACK);
          } catch {
            broken = true; // a failing rollback must not hide why the work failed
          }
        }
        throw error;
      }
      try {
        await runOn(connection, COMMIT);
      } catch (error) {
        broken = true; // the transaction's fate on this connection is unknown
        // Lost after the COMMIT was sent: unknown; not sent: rolled back by the server.
        throw commitError(this.#errors, COMMIT, error);
      }
      return out;
    } finally {
      ended = true;
      this.#giveBack(connection, broken);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#owned) await this.#pool.end();
  }
}
