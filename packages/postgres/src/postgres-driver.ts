/**
 * The PostgreSQL driver: opens a postgres.js client (or takes the caller's),
 * runs statements with `sql.unsafe(text, params, { prepare }).values()` (rows
 * as arrays, so no column name or transform of the client applies), batches
 * and transactions with `sql.begin`, tells an unreachable server from a
 * failed statement, and ends only a client it opened.
 */

import {
  closedError,
  commitError,
  commits,
  type Driver,
  driverError,
  type ErrorContext,
  type Result,
  type Runner,
  type Statement,
} from '@waffle/sql';
import {
  isClient,
  openClient,
  type PostgresClient,
  type PostgresCommonOptions,
  type PostgresShardOptions,
  passwordOf,
  shardName,
} from './postgres-options.js';

/** A statement of this adapter: `prepare: false` runs it unnamed (DDL, which runs once). */
export interface PostgresStatement extends Statement {
  readonly prepare?: boolean;
}

/** What runs statements: a postgres.js client or one of its transactions. */
interface Queryable {
  unsafe(
    query: string,
    parameters?: any[],
    options?: { prepare?: boolean },
  ): PromiseLike<unknown> & { values(): PromiseLike<ArrayLike<unknown>[] & { count?: unknown }> };
}

/**
 * What postgres.js keeps on a query (3.x, internal): `state` is set when the
 * query is handed to an open connection (its bytes written or about to be),
 * `describeFirst` stays true while only its Parse and Describe were sent
 * (the Bind and Execute follow the server's description). A query with no
 * such properties counts as sent.
 */
interface QueryProgress {
  state?: unknown;
  describeFirst?: unknown;
}

/** True unless postgres.js shows that `query` never reached the point where the server could execute it. */
function mayHaveRun(query: QueryProgress): boolean {
  return query.state !== null && query.describeFirst !== true;
}

/**
 * Dynamic statements (index queries, whose text depends on the predicate) are
 * prepared until a shard has prepared this many distinct ones; later new texts
 * run unnamed. postgres.js keeps every prepared statement for the life of its
 * connection, so an unbounded number would grow without end on the server.
 */
export const MAX_PREPARED_DYNAMIC = 200;

/** How long `close()` lets running statements finish before it ends the connections, in seconds. */
const CLOSE_TIMEOUT = 5;

/** Error codes of postgres.js and Node meaning the server could not be reached or went away. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'EPIPE',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECTION_ENDED',
]);

/**
 * SQLSTATEs of a server that cannot serve now: connection exceptions (class
 * 08, less protocol violations), shutdowns, "cannot connect now" and too many
 * connections; and of one that refuses the connection: a database that does
 * not exist (3D000) or a refused login (class 28), as MySQL's adapter
 * reports a connection it cannot make.
 */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300', '3D000', '28000', '28P01']);

/**
 * SQLSTATEs of a statement stopped by a limit the server or session set: a
 * statement timeout (or a cancel) and a lock timeout. The statement, and the
 * transaction it was in, were rolled back: retry later.
 */
const TIMEOUT_STATES = new Set(['57014', '55P03']);

/** True when `error` is a statement or lock timeout of the server. */
export function isTimeout(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && TIMEOUT_STATES.has(code);
}

/**
 * Error codes of postgres.js and Node meaning a connection that was open is
 * gone. A `write ECONNRESET` counts too: postgres.js pipelines, and rejects
 * every query on the connection with the error of whichever write failed,
 * so it does not show that this query's bytes never left.
 */
const LOST = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'CONNECTION_CLOSED', 'CONNECTION_DESTROYED']);

/**
 * True when `error` says the connection a statement was on was lost (reset,
 * closed, terminated by the server): a commit sent on it has an unknown outcome.
 */
export function isLost(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return (
    LOST.has(code) || code === '57P01' || code === '57P02' || (code.startsWith('08') && code !== '08P01')
  );
}

/** True when `error` says the server is unreachable or cannot serve, rather than that a statement failed. */
export function isUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (UNREACHABLE.has(code) || UNAVAILABLE_STATES.has(code)) return true;
    if (code.startsWith('08') && code !== '08P01') return true;
  }
  // Node reports a failed connection to every address of a host as an AggregateError.
  const errors = (error as { errors?: unknown } | null)?.errors;
  return Array.isArray(errors) && errors.length > 0 && errors.every(isUnavailable);
}

const BEGIN: Statement = { sql: 'BEGIN', params: [] };
const COMMIT: Statement = { sql: 'COMMIT', params: [] };

/**
 * The rows and count of a finished query. The rows are moved out of
 * postgres.js's result array into one of waffle's own, which leaves that
 * array empty: the query (a `Promise` subclass resolved with that array)
 * can outlive the call. V8 keeps a query of postgres.js alive across young
 * collections for as long as the function that awaited it has not been
 * optimized, and with it every row it read, which then fills the old
 * generation (BENCHMARKS.md, "PostgreSQL Q1"); emptied, it keeps nothing.
 */
function result(rows: ArrayLike<unknown>[] & { count?: unknown }): Result {
  // A loop, not splice or slice: on postgres.js's Array subclass those take V8's slow path.
  const moved: unknown[][] = new Array(rows.length);
  for (let i = 0; i < moved.length; i++) moved[i] = rows[i] as unknown[];
  rows.length = 0;
  return { rows: moved, changes: Number(rows.count ?? 0) };
}

/** A driver of one PostgreSQL database. */
export class PostgresDriver implements Driver {
  readonly name: string;
  readonly #client: PostgresClient;
  readonly #owned: boolean;
  readonly #errors: ErrorContext;
  /** Distinct dynamic statements run as prepared statements so far. */
  readonly #prepared = new Set<string>();
  #closed = false;

  constructor(target: PostgresShardOptions | PostgresClient, extra: PostgresCommonOptions = {}) {
    if (isClient(target)) {
      this.#client = target;
      this.#owned = false;
      this.name = shardName(target, extra.name);
    } else {
      this.#client = openClient(target);
      this.#owned = true;
      this.name = shardName(
        this.#client,
        typeof target === 'string' ? extra.name : (target.name ?? extra.name),
      );
    }
    this.#errors = {
      shard: this.name,
      secrets: [passwordOf(this.#client)],
      unavailable: isUnavailable,
      timedOut: isTimeout,
      lost: isLost,
    };
  }

  /**
   * Whether a statement runs prepared: yes, unless it says otherwise or it is
   * dynamic and the shard has prepared {@link MAX_PREPARED_DYNAMIC} other
   * dynamic texts already.
   */
  #prepare(statement: PostgresStatement): boolean {
    if (statement.prepare !== undefined) return statement.prepare;
    if (statement.dynamic !== true) return true;
    const seen = this.#prepared;
    if (seen.has(statement.sql)) return true;
    if (seen.size >= MAX_PREPARED_DYNAMIC) return false;
    seen.add(statement.sql);
    return true;
  }

  /**
   * Runs a statement on `on`; driver failures become waffle errors. With
   * `committing`, a statement that writes on its own (outside a transaction)
   * or a COMMIT whose connection is lost once it may have reached the server
   * is an OutcomeUnknownError.
   */
  async #run(
    on: Queryable,
    statement: PostgresStatement,
    committing = false,
    onLost?: (error: unknown) => void,
  ): Promise<Result> {
    if (this.#closed) throw closedError(this.name, statement);
    const query = on.unsafe(statement.sql, statement.params as any[], { prepare: this.#prepare(statement) });
    try {
      return result(await query.values());
    } catch (error) {
      if (onLost !== undefined && isLost(error)) {
        onLost(error);
        return new Promise<never>(() => {}); // never settles: see transaction()
      }
      if (committing && mayHaveRun(query as unknown as QueryProgress)) {
        throw commitError(this.#errors, statement, error);
      }
      throw driverError(this.#errors, statement, error);
    }
  }

  run(statement: Statement): Promise<Result> {
    return this.#run(this.#client, statement, commits(statement));
  }

  /**
   * Runs the statements in one transaction, sent together (postgres.js
   * pipelines them on the transaction's connection): BEGIN, the statements
   * and COMMIT in about two round trips.
   */
  async batch(statements: readonly Statement[]): Promise<Result[]> {
    if (statements.length === 0) return [];
    let failed: { at: number; error: unknown } | undefined;
    try {
      return await this.transaction((tx) =>
        Promise.all(
          statements.map((statement, at) =>
            tx.run(statement).catch((error: unknown) => {
              if (failed === undefined || at < failed.at) failed = { at, error };
              throw error;
            }),
          ),
        ),
      );
    } catch (error) {
      // The first statement that failed tells why; the later ones only saw the transaction aborted.
      throw failed === undefined ? error : failed.error;
    }
  }

  /**
   * Runs `work` in one transaction on one connection of the client
   * (`sql.begin`; other calls of the shard go on alongside, on other
   * connections): committed when it resolves, rolled back when it throws.
   * The work's own error passes through unchanged; a failing BEGIN is a
   * waffle error, a COMMIT whose connection is lost once it was sent an
   * OutcomeUnknownError, a connection lost before it a ShardUnavailableError.
   *
   * When the connection dies under the work, `sql.begin` would send its
   * ROLLBACK on the closed connection, and that write, scheduled with
   * `setImmediate`, throws a TypeError outside every promise that ends the
   * process (postgres.js 3.4.9, porsager/postgres#1208). So a statement of
   * the work that fails with a lost connection never settles for the work:
   * `sql.begin` then rejects with the connection's close, and sends nothing
   * more. (`sql.reserve()` is no way out: on a client with `fetch_types:
   * false` a reservation that opens a connection is never resolved.)
   */
  async transaction<T>(work: (tx: Runner) => Promise<T>): Promise<T> {
    if (this.#closed) throw closedError(this.name, BEGIN);
    const progress: { step: Statement; failure?: { error: unknown }; lost?: unknown } = { step: BEGIN };
    try {
      return (await this.#client.begin(async (tx) => {
        progress.step = { sql: 'the statements of the transaction', params: [] };
        let out: T;
        try {
          out = await work({
            run: (statement) =>
              this.#run(tx as unknown as Queryable, statement, false, (error) => {
                progress.lost ??= error;
              }),
          });
        } catch (error) {
          if (progress.lost !== undefined) return new Promise<never>(() => {}); // see above: sql.begin rejects
          progress.failure = { error };
          throw error;
        }
        if (progress.lost !== undefined) return new Promise<never>(() => {});
        progress.step = COMMIT;
        return out;
      })) as T;
    } catch (error) {
      // postgres.js rolled back; a failing rollback must not hide why the work failed.
      if (progress.failure !== undefined) throw progress.failure.error;
      if (progress.step === COMMIT) throw commitError(this.#errors, COMMIT, error);
      throw driverError(this.#errors, progress.step, progress.lost ?? error);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#owned) await this.#client.end({ timeout: CLOSE_TIMEOUT });
  }
}
