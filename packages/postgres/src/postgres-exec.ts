/**
 * Runs statements built once by drizzle on a postgres.js client or
 * transaction (`sql.unsafe(text, params, { prepare })`, rows as arrays), and
 * turns every failure into a {@link QueryError} carrying the SQL, its
 * parameters and the driver's error as `cause`, or, when the server cannot be
 * reached, a {@link ShardUnavailableError}.
 */
import { QueryError, ShardUnavailableError, type WaffleError } from '@waffle/core';
import { fillPlaceholders, type SQLWrapper } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { drizzle } from 'drizzle-orm/postgres-js';

/** What runs statements: a postgres.js client or one of its transactions. */
export interface Queryable {
  unsafe(
    query: string,
    parameters?: any[],
    options?: { prepare?: boolean },
  ): PromiseLike<unknown> & { values(): PromiseLike<ArrayLike<unknown>[] & { count?: unknown }> };
}

/** What every executor of one shard shares. */
export interface ShardState {
  readonly name: string;
  /** The client's password, scrubbed from every message. */
  readonly secret: string | undefined;
  closed: boolean;
  /** Distinct dynamic statements (index queries) run as prepared statements so far. */
  readonly prepared: Set<string>;
}

/** A statement's SQL text and parameters. */
export interface Statement {
  readonly sql: string;
  readonly params: readonly unknown[];
}

/**
 * Dynamic statements (index queries, whose text depends on the predicate) are
 * prepared until a shard has prepared this many distinct ones; later new texts
 * run unnamed. postgres.js keeps every prepared statement for the life of its
 * connection, so an unbounded number would grow without end on the server.
 */
export const MAX_PREPARED_DYNAMIC = 200;

const dialect = new PgDialect();

/**
 * drizzle's PostgreSQL query builder, without a client: it only builds SQL.
 * Statements are executed by {@link Executor} on the postgres.js client, because
 * `drizzle(client)` replaces the client's date and JSON parsers and serializers,
 * which would change the behaviour of a client the caller passed in.
 */
export const builder = drizzle.mock();

/** The SQL text and parameters of a drizzle query (placeholders stay in the parameters). */
export function statementOf(query: SQLWrapper): Statement {
  const { sql, params } = dialect.sqlToQuery(query.getSQL());
  return { sql, params };
}

/** A statement built once, with named placeholders filled at each execution. */
export class Template {
  readonly sql: string;
  readonly #params: readonly unknown[];

  constructor(query: Statement) {
    this.sql = query.sql;
    this.#params = query.params;
  }

  /** The statement with its placeholders replaced by `values`. */
  bind(values: Record<string, unknown>): Statement {
    return { sql: this.sql, params: fillPlaceholders(this.#params as unknown[], values) };
  }
}

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
 * connections.
 */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300']);

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** True when `error` says the server is unreachable or cannot serve, rather than that a statement failed. */
export function isUnavailable(error: unknown): boolean {
  const code = codeOf(error);
  if (code !== undefined) {
    if (UNREACHABLE.has(code) || UNAVAILABLE_STATES.has(code)) return true;
    if (code.startsWith('08') && code !== '08P01') return true;
  }
  // Node reports a failed connection to every address of a host as an AggregateError.
  const errors = (error as { errors?: unknown } | null)?.errors;
  return Array.isArray(errors) && errors.length > 0 && errors.every(isUnavailable);
}

function scrub(message: string, secret: string | undefined): string {
  return secret === undefined ? message : message.split(secret).join('***');
}

/**
 * Wraps a driver error: a {@link ShardUnavailableError} when the server
 * cannot be reached, otherwise a {@link QueryError} with the statement. The
 * driver error is kept as `cause` unless its message shows the password.
 */
export function driverError(state: ShardState, statement: Statement, error: unknown): WaffleError {
  const original = error instanceof Error ? error.message : String(error);
  const message = scrub(original, state.secret);
  const cause = message === original ? error : undefined;
  if (isUnavailable(error)) {
    return new ShardUnavailableError(`Shard ${state.name} is unavailable: ${message}`, { cause });
  }
  return new QueryError(message, { sql: statement.sql, params: statement.params, shard: state.name, cause });
}

/** The error of a statement attempted on a closed shard. */
export function closedError(state: ShardState, statement: Statement): QueryError {
  return new QueryError('The shard is closed', {
    sql: statement.sql,
    params: statement.params,
    shard: state.name,
  });
}

/** Executes statements on one client or transaction of a shard. */
export class Executor {
  constructor(
    /** The postgres.js client or transaction the statements run on. */
    readonly client: Queryable,
    readonly state: ShardState,
  ) {}

  /** Runs a query and returns its rows as arrays of driver values. */
  async rows(statement: Statement, prepare = true): Promise<ArrayLike<unknown>[]> {
    return this.#attempt(statement, () =>
      this.client.unsafe(statement.sql, statement.params as any[], { prepare }).values(),
    );
  }

  /** Runs a statement and returns how many rows it changed. */
  async run(statement: Statement, prepare = true): Promise<number> {
    const result = await this.#attempt(statement, () =>
      this.client.unsafe(statement.sql, statement.params as any[], { prepare }).values(),
    );
    return Number(result.count ?? 0);
  }

  /**
   * Whether a dynamic statement runs prepared: yes while the shard has prepared
   * fewer than {@link MAX_PREPARED_DYNAMIC} distinct texts, or this text already.
   */
  preparable(sql: string): boolean {
    const seen = this.state.prepared;
    if (seen.has(sql)) return true;
    if (seen.size >= MAX_PREPARED_DYNAMIC) return false;
    seen.add(sql);
    return true;
  }

  async #attempt<T>(statement: Statement, go: () => PromiseLike<T>): Promise<T> {
    if (this.state.closed) throw closedError(this.state, statement);
    try {
      return await go();
    } catch (error) {
      throw driverError(this.state, statement, error);
    }
  }
}
