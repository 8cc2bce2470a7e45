/**
 * Runs drizzle-built statements on a database or transaction and turns every
 * failure into a {@link QueryError} carrying the SQL, its parameters and the
 * driver's error as `cause`.
 */
import type { ResultSet } from '@libsql/client';
import { QueryError } from '@waffle/core';
import { DrizzleQueryError, type SQLWrapper } from 'drizzle-orm';
import { type BaseSQLiteDatabase, SQLiteAsyncDialect } from 'drizzle-orm/sqlite-core';

/** A drizzle libSQL database or one of its transactions. */
export type SqliteDb = BaseSQLiteDatabase<'async', ResultSet, Record<string, never>>;

/** What every executor of one shard shares. */
export interface ShardState {
  readonly name: string;
  closed: boolean;
}

/** A statement's SQL text and parameters, for error reports. */
export interface Statement {
  readonly sql: string;
  readonly params: readonly unknown[];
}

const dialect = new SQLiteAsyncDialect();

/** The SQL text and parameters drizzle sends for `query`. */
export function statementOf(query: SQLWrapper): Statement {
  return dialect.sqlToQuery(query.getSQL());
}

/** Wraps a driver error (unwrapping drizzle's own wrapper) in a {@link QueryError}. */
export function queryError(shard: string, statement: Statement, error: unknown): QueryError {
  const cause = error instanceof DrizzleQueryError && error.cause !== undefined ? error.cause : error;
  const message = cause instanceof Error ? cause.message : String(cause);
  return new QueryError(message, { sql: statement.sql, params: statement.params, shard, cause });
}

/** Executes statements on one database or transaction of a shard. */
export class Executor {
  constructor(
    /** The drizzle database or transaction the statements run on. */
    readonly db: SqliteDb,
    private readonly state: ShardState,
  ) {}

  /** Runs a query and returns its rows as arrays of raw driver values. */
  async rows(query: SQLWrapper): Promise<ArrayLike<unknown>[]> {
    return this.#attempt(query, () => this.db.values(query));
  }

  /** Runs a statement and returns how many rows it changed. */
  async run(query: SQLWrapper): Promise<number> {
    const result = await this.#attempt(query, () => this.db.run(query));
    return Number(result.rowsAffected);
  }

  async #attempt<T>(query: SQLWrapper, go: () => Promise<T>): Promise<T> {
    if (this.state.closed) {
      throw queryError(this.state.name, statementOf(query), new Error('The shard is closed'));
    }
    try {
      return await go();
    } catch (error) {
      throw queryError(this.state.name, statementOf(query), error);
    }
  }
}
