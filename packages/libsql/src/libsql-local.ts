/**
 * A local libSQL database (a file or `:memory:`) driven through libsql's
 * statement API, the engine under @libsql/client's file client: each SQL text
 * is prepared once and kept, rows come back as arrays, and a batch runs
 * between BEGIN IMMEDIATE and COMMIT without yielding. The client prepares
 * every statement again on each call and builds each row as an object, which
 * costs more than the statement itself for the short statements a shard runs.
 *
 * Failures are thrown as the client throws them (`LibsqlError`, with the
 * SQLite code), so a caller sees one error type whichever way the shard
 * reaches its database.
 */
import { LibsqlError } from '@libsql/client';
import type { Result, Statement } from '@waffle/sql';
import Database from 'libsql';

/** How many prepared statements a database keeps; the least recently used goes first. */
const KEPT_STATEMENTS = 256;

/** A prepared statement and whether it returns rows. */
interface Prepared {
  readonly statement: Database.Statement;
  readonly reader: boolean;
}

/** SQLite's base code name for an extended result code (`rawCode & 0xff`). */
const BASE_CODES: Record<number, string> = {
  1: 'SQLITE_ERROR',
  2: 'SQLITE_INTERNAL',
  3: 'SQLITE_PERM',
  4: 'SQLITE_ABORT',
  5: 'SQLITE_BUSY',
  6: 'SQLITE_LOCKED',
  7: 'SQLITE_NOMEM',
  8: 'SQLITE_READONLY',
  9: 'SQLITE_INTERRUPT',
  10: 'SQLITE_IOERR',
  11: 'SQLITE_CORRUPT',
  13: 'SQLITE_FULL',
  14: 'SQLITE_CANTOPEN',
  17: 'SQLITE_SCHEMA',
  18: 'SQLITE_TOOBIG',
  19: 'SQLITE_CONSTRAINT',
  20: 'SQLITE_MISMATCH',
  21: 'SQLITE_MISUSE',
  25: 'SQLITE_RANGE',
  26: 'SQLITE_NOTADB',
};

/** The client's error for a libsql failure: base code, extended code and the original as cause. */
function libsqlError(error: unknown, statementIndex?: number): unknown {
  if (!(error instanceof Error) || typeof (error as { code?: unknown }).code !== 'string') return error;
  const extended = (error as unknown as { code: string }).code;
  const raw = (error as { rawCode?: unknown }).rawCode;
  const base = typeof raw === 'number' ? (BASE_CODES[raw & 0xff] ?? 'SQLITE_UNKNOWN') : extended;
  const out = new LibsqlError(
    error.message,
    base,
    extended,
    typeof raw === 'number' ? raw : undefined,
    error,
  );
  if (statementIndex !== undefined)
    (out as unknown as { statementIndex: number }).statementIndex = statementIndex;
  return out;
}

/** One connection to a local database. Every method runs to completion without yielding. */
export class LocalDatabase {
  readonly #db: Database.Database;
  readonly #prepared = new Map<string, Prepared>();

  /** Opens `path` (a file path or `:memory:`); `timeout` is the busy timeout in milliseconds. */
  constructor(path: string, timeout: number) {
    try {
      this.#db = new Database(path, { timeout });
    } catch (error) {
      throw libsqlError(error);
    }
  }

  /** The statement for `sql`, prepared at its first use. */
  #prepare(sql: string): Prepared {
    const kept = this.#prepared.get(sql);
    if (kept !== undefined) {
      // Most recently used last: a Map iterates in insertion order.
      this.#prepared.delete(sql);
      this.#prepared.set(sql, kept);
      return kept;
    }
    const statement = this.#db.prepare(sql);
    const reader = statement.reader;
    if (reader) statement.raw(true);
    const prepared = { statement, reader };
    if (this.#prepared.size >= KEPT_STATEMENTS) {
      this.#prepared.delete(this.#prepared.keys().next().value as string);
    }
    this.#prepared.set(sql, prepared);
    return prepared;
  }

  #run(statement: Statement): Result {
    const { statement: prepared, reader } = this.#prepare(statement.sql);
    const params = statement.params as unknown[];
    if (reader) return { rows: prepared.all(params) as unknown[][], changes: 0 };
    return { rows: [], changes: prepared.run(params).changes };
  }

  /** Runs one statement. */
  execute(statement: Statement): Result {
    try {
      return this.#run(statement);
    } catch (error) {
      throw libsqlError(error);
    }
  }

  /** Runs `statements` as one write transaction; a failure rolls it back and names the statement. */
  batch(statements: readonly Statement[]): Result[] {
    this.execute({ sql: 'BEGIN IMMEDIATE', params: [] });
    const out: Result[] = [];
    let at = 0;
    try {
      for (; at < statements.length; at++) out.push(this.#run(statements[at]!));
      this.#run({ sql: 'COMMIT', params: [] });
      return out;
    } catch (error) {
      if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
      throw libsqlError(error, at);
    }
  }

  /** Closes the connection. */
  close(): void {
    this.#prepared.clear();
    if (this.#db.open) this.#db.close();
  }
}
