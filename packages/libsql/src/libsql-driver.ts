/**
 * The libSQL driver: opens a client (or takes the caller's), prepares the
 * connection at first use (WAL and the busy timeout for a local file), runs
 * statements, batches and transactions, and reports failures as waffle errors.
 *
 * A local database is driven in-process: a statement or a batch runs without
 * yielding, but an interactive transaction yields between its statements, so
 * the shard's {@link Gate} runs transactions alone and everything else shared.
 * A local database the shard opened from a URL is driven through libsql's
 * statement API ({@link LocalDatabase}: statements prepared once); a client
 * passed in is driven through its own `execute`, `batch` and `transaction`.
 */
import { type Client, createClient, type InStatement } from '@libsql/client';
import { QueryError, ShardUnavailableError, ValidationError } from '@waffle/core';
import {
  closedError,
  type Driver,
  driverError,
  type ErrorContext,
  FirstUse,
  type Result,
  type Runner,
  type Statement,
} from '@waffle/sql';
import { Gate } from './libsql-gate.js';
import { LocalDatabase } from './libsql-local.js';
import {
  DEFAULT_BUSY_TIMEOUT,
  type LibsqlShardOptions,
  redactUrl,
  shardName,
  urlSecrets,
} from './libsql-options.js';

/** How a driver drives its client, found at first use. */
interface ConnectionMode {
  /** A local database (`file:` or `:memory:`): statements and transactions share the process. */
  readonly local: boolean;
  /**
   * The client (before @libsql/client 0.18) gives its only connection of an
   * in-memory database to `transaction()` and then opens a new, empty one; such
   * transactions must run as BEGIN … COMMIT on the client itself.
   */
  readonly manualTransactions: boolean;
  /** The database driven without the client: set for a local database opened from a URL. */
  readonly direct?: LocalDatabase;
}

/** Error codes of a remote server that cannot be reached or cannot serve now. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'HRANA_WEBSOCKET_ERROR',
  'SERVER_ERROR',
]);

/** True when `error` (or its cause) says a remote server is unreachable. */
export function isUnavailable(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && UNREACHABLE.has(code)) return true;
    if (e instanceof TypeError && e.message === 'fetch failed') return true;
  }
  return false;
}

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
    for (const secret of [url, authToken, ...urlSecrets(url)]) {
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

function result(set: { rows: ArrayLike<unknown>[]; rowsAffected: number }): Result {
  return { rows: set.rows as unknown as unknown[][], changes: set.rowsAffected };
}

function inStatement(statement: Statement): InStatement {
  return { sql: statement.sql, args: statement.params as never };
}

/** A driver of one libSQL database. */
export class LibsqlDriver implements Driver {
  readonly name: string;
  readonly #client: Client;
  readonly #owned: boolean;
  readonly #busyTimeout: number;
  readonly #gate = new Gate();
  readonly #errors: ErrorContext;
  readonly #mode = new FirstUse(() => this.#prepare());
  /** The URL the shard opened, when it opened one. */
  readonly #url: string | undefined;
  #closed = false;

  constructor(options: LibsqlShardOptions) {
    this.name = shardName(options);
    this.#busyTimeout = checkBusyTimeout(options.busyTimeout);
    if ('client' in options) {
      this.#client = options.client;
      this.#owned = false;
    } else {
      this.#client = openClient(options.url, options.authToken, this.#busyTimeout, this.name);
      this.#owned = true;
      this.#url = options.url;
    }
    const secrets =
      'url' in options
        ? [
            options.url === redactUrl(options.url) ? undefined : options.url,
            options.authToken,
            ...urlSecrets(options.url),
          ]
        : [];
    this.#errors = { shard: this.name, secrets, unavailable: isUnavailable };
  }

  /**
   * Reads the database's kind; for a local file sets WAL journaling (readers no
   * longer wait for the writer) and the busy timeout of the current connection.
   */
  async #prepare(): Promise<ConnectionMode> {
    if (this.#client.protocol !== 'file') return { local: false, manualTransactions: false };
    const databases = await this.#execute({ sql: 'PRAGMA database_list', params: [] });
    const main = databases.rows.find((row) => row[1] === 'main');
    const path = main === undefined || main[2] === null ? '' : String(main[2]);
    if (path === '' && this.#url !== ':memory:') {
      return { local: true, manualTransactions: await this.#detachesOnTransaction() };
    }
    if (this.#owned) return this.#direct(path);
    // PRAGMA takes no bound parameters; busyTimeout was checked to be a non-negative integer.
    await this.#execute({ sql: `PRAGMA busy_timeout = ${this.#busyTimeout}`, params: [] });
    await this.#execute({ sql: 'PRAGMA journal_mode = WAL', params: [] });
    return { local: true, manualTransactions: false };
  }

  /**
   * Reopens the database the shard's own client opened (file `path`, or a new
   * `:memory:` one when `path` is empty: nothing was written yet) through
   * libsql's statement API, and closes the client.
   */
  #direct(path: string): ConnectionMode {
    const step = { sql: 'PRAGMA journal_mode = WAL', params: [] };
    let direct: LocalDatabase | undefined;
    try {
      direct = new LocalDatabase(path === '' ? ':memory:' : path, this.#busyTimeout);
      if (path !== '') direct.execute(step);
    } catch (error) {
      direct?.close();
      throw driverError(this.#errors, step, error);
    }
    this.#client.close();
    return { local: true, manualTransactions: true, direct };
  }

  /**
   * True for clients that keep one connection and leave a BEGIN issued through
   * `execute()` open (before 0.18); clients with a connection pool roll it back
   * when the statement returns its connection, so the ROLLBACK finds nothing.
   */
  async #detachesOnTransaction(): Promise<boolean> {
    await this.#execute({ sql: 'BEGIN DEFERRED', params: [] });
    try {
      await this.#execute({ sql: 'ROLLBACK', params: [] });
      return true;
    } catch {
      return false;
    }
  }

  async #execute(statement: Statement): Promise<Result> {
    if (this.#closed) throw closedError(this.name, statement);
    const direct = this.#mode.value?.direct;
    try {
      return direct !== undefined
        ? direct.execute(statement)
        : result(await this.#client.execute(inStatement(statement)));
    } catch (error) {
      throw driverError(this.#errors, statement, error);
    }
  }

  /** Runs `statement` on the direct database, synchronously. */
  #executeDirect(direct: LocalDatabase, statement: Statement): Result {
    if (this.#closed) throw closedError(this.name, statement);
    try {
      return direct.execute(statement);
    } catch (error) {
      throw driverError(this.#errors, statement, error);
    }
  }

  run(statement: Statement): Promise<Result> {
    const direct = this.#mode.value?.direct;
    if (direct !== undefined) return this.#gate.now(() => this.#executeDirect(direct, statement));
    return this.#runClient(statement);
  }

  async #runClient(statement: Statement): Promise<Result> {
    const mode = this.#mode.value ?? (await this.#mode.get());
    if (mode.direct !== undefined) return this.run(statement);
    return mode.local ? this.#gate.shared(() => this.#execute(statement)) : this.#execute(statement);
  }

  async batch(statements: readonly Statement[]): Promise<Result[]> {
    const mode = this.#mode.value ?? (await this.#mode.get());
    const direct = mode.direct;
    if (direct !== undefined) {
      return this.#gate.now(() => {
        if (this.#closed) throw closedError(this.name, statements[0] ?? { sql: 'BEGIN', params: [] });
        try {
          return direct.batch(statements);
        } catch (error) {
          const at = (error as { statementIndex?: unknown }).statementIndex;
          const failed = typeof at === 'number' ? statements[at] : undefined;
          throw driverError(this.#errors, failed ?? { sql: 'COMMIT', params: [] }, error);
        }
      });
    }
    if (mode.manualTransactions)
      return this.transaction(async (tx) => {
        const out: Result[] = [];
        for (const statement of statements) out.push(await tx.run(statement));
        return out;
      });
    const go = async () => {
      if (this.#closed) throw closedError(this.name, statements[0] ?? { sql: 'BEGIN', params: [] });
      try {
        return (await this.#client.batch(statements.map(inStatement), 'write')).map(result);
      } catch (error) {
        const at = (error as { statementIndex?: unknown }).statementIndex;
        throw driverError(this.#errors, typeof at === 'number' ? statements[at] : statements[0], error);
      }
    };
    return mode.local ? this.#gate.shared(go) : go();
  }

  /**
   * Runs `work` in one write transaction. Inside `work`, use only `tx`: on a
   * local database the shard's other operations wait until the transaction ends.
   */
  async transaction<T>(work: (tx: Runner) => Promise<T>): Promise<T> {
    const mode = this.#mode.value ?? (await this.#mode.get());
    const run = () => (mode.manualTransactions ? this.#manual(work) : this.#interactive(work));
    return mode.local ? this.#gate.exclusive(run) : run();
  }

  /**
   * Runs `work` between BEGIN IMMEDIATE and COMMIT on the database's only
   * connection, rolling back when anything fails. The runner refuses
   * statements once the transaction has ended.
   */
  async #manual<T>(work: (tx: Runner) => Promise<T>): Promise<T> {
    await this.#execute({ sql: 'BEGIN IMMEDIATE', params: [] });
    let ended = false;
    const run = (statement: Statement) =>
      ended
        ? Promise.reject(new QueryError('The transaction has ended', { ...statement, shard: this.name }))
        : this.#execute(statement);
    try {
      const out = await work({ run });
      ended = true;
      await this.#execute({ sql: 'COMMIT', params: [] });
      return out;
    } catch (error) {
      ended = true;
      await this.#execute({ sql: 'ROLLBACK', params: [] }).catch(() => undefined);
      throw error;
    }
  }

  /** Runs `work` in a libSQL interactive transaction; its own errors pass through, driver errors become waffle errors. */
  async #interactive<T>(work: (tx: Runner) => Promise<T>): Promise<T> {
    const begin = { sql: 'BEGIN', params: [] };
    if (this.#closed) throw closedError(this.name, begin);
    let tx: Awaited<ReturnType<Client['transaction']>>;
    try {
      tx = await this.#client.transaction('write');
    } catch (error) {
      throw driverError(this.#errors, begin, error);
    }
    try {
      const out = await work({
        run: async (statement) => {
          try {
            return result(await tx.execute(inStatement(statement)));
          } catch (error) {
            throw driverError(this.#errors, statement, error);
          }
        },
      });
      try {
        await tx.commit();
      } catch (error) {
        throw driverError(this.#errors, { sql: 'COMMIT', params: [] }, error);
      }
      return out;
    } finally {
      tx.close();
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Waits for a transaction in flight, which may not be left open on the connection it closes.
    const direct = this.#mode.value?.direct;
    if (direct !== undefined) return this.#gate.exclusive(async () => direct.close());
    if (this.#owned) this.#client.close();
  }
}
