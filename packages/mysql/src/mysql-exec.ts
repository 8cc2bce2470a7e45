/**
 * Runs statements built with drizzle through mysql2's `execute` (server-side
 * prepared statements, values always bound), never through drizzle's mysql2
 * driver, which splices values into the SQL text. Every failure becomes a
 * {@link QueryError} carrying the SQL, its parameters and the driver's error
 * as `cause`; a connection that cannot be had is a {@link ShardUnavailableError}.
 */
import { QueryError, ShardUnavailableError, ValidationError } from '@waffle/core';
import { type SQL, type SQLChunk, type SQLWrapper, StringChunk, sql } from 'drizzle-orm';
import { MySqlDialect } from 'drizzle-orm/mysql-core';
import type { ExecuteValues, Pool, PoolConnection } from 'mysql2/promise';
import type { ServerInfo } from './mysql-connection.js';

/** What every executor of one shard shares. */
export interface ShardState {
  readonly name: string;
  /** Passwords and tokens that must never appear in a message. */
  readonly secrets: readonly string[];
  closed: boolean;
  /** What the server told at first use; set before any operation runs. */
  server: ServerInfo | undefined;
}

/** A statement's SQL text and parameters, as sent to the server. */
export interface Statement {
  readonly sql: string;
  readonly params: readonly unknown[];
}

/** The outcome of a statement that returns no rows. */
export interface RunResult {
  /** Rows inserted, deleted or changed (found, when the connection sets `CLIENT_FOUND_ROWS`). */
  readonly affectedRows: number;
  /** The server's info text, e.g. `Rows matched: 1  Changed: 0  Warnings: 0` after an UPDATE. */
  readonly info: string;
}

/** Server error: `ALTER TABLE` adds a column the table has. */
export const ER_DUP_FIELDNAME = 1060;
/** Server error: `ALTER TABLE` adds a key the table has. */
export const ER_DUP_KEYNAME = 1061;
/** Server error: a duplicate entry for a unique key (the same number on MySQL and MariaDB). */
export const ER_DUP_ENTRY = 1062;
/** Server error: the table does not exist. */
export const ER_NO_SUCH_TABLE = 1146;
/** Server error: InnoDB chose the statement's transaction as a deadlock victim and rolled it back. */
export const ER_LOCK_DEADLOCK = 1213;

/** How often a statement outside a transaction is retried after InnoDB chose it as a deadlock victim. */
const DEADLOCK_RETRIES = 5;
/** Bytes kept free under `max_allowed_packet` for the packet headers around a statement. */
const PACKET_MARGIN = 1024;

const dialect = new MySqlDialect();

/** The SQL text and parameters drizzle renders for `query`. */
export function statementOf(query: SQLWrapper): Statement {
  const { sql, params } = dialect.sqlToQuery(query.getSQL());
  return { sql, params };
}

/** The server's error number of a driver error, if it has one. */
export function errnoOf(error: unknown): number | undefined {
  const cause = QueryError.is(error) ? error.cause : error;
  const errno = (cause as { errno?: unknown } | undefined)?.errno;
  return typeof errno === 'number' ? errno : undefined;
}

/** Replaces every secret in `text`; `found` tells whether there was one. */
function redact(state: ShardState, text: string): { text: string; found: boolean } {
  let found = false;
  for (const secret of state.secrets) {
    if (secret && text.includes(secret)) {
      found = true;
      text = text.split(secret).join('***');
    }
  }
  return { text, found };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Wraps a driver error in a {@link QueryError}; the cause is dropped if its message shows a secret. */
export function queryError(state: ShardState, statement: Statement, error: unknown): QueryError {
  const { text, found } = redact(state, messageOf(error));
  return new QueryError(text, {
    sql: statement.sql,
    params: statement.params,
    shard: state.name,
    cause: found ? undefined : error,
  });
}

/** Wraps a failure to connect in a {@link ShardUnavailableError}. */
export function unavailable(state: ShardState, error: unknown): ShardUnavailableError {
  const { text, found } = redact(state, messageOf(error));
  return new ShardUnavailableError(`Cannot connect to ${state.name}: ${text}`, {
    cause: found ? undefined : error,
  });
}

/** Borrows a pooled connection; any failure (refused, unknown host, bad login, pool ended) means the shard is unavailable. */
export async function acquire(state: ShardState, pool: Pool): Promise<PoolConnection> {
  try {
    return await pool.getConnection();
  } catch (error) {
    throw unavailable(state, error);
  }
}

/** Returns a connection to its pool, or drops it when it broke. */
export function giveBack(connection: PoolConnection, broken: boolean): void {
  if (broken) connection.destroy();
  else connection.release();
}

/** True when a driver error left its connection unusable. */
export function isFatal(error: unknown): boolean {
  return (error as { fatal?: unknown } | undefined)?.fatal === true;
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

/** Where statements run: a pooled connection per statement, or the one connection of a transaction. */
export type Target =
  | { readonly kind: 'pool'; readonly pool: Pool }
  | { readonly kind: 'connection'; readonly connection: PoolConnection; ended: boolean };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Executes statements on a shard's pool or on one transaction's connection. */
export class Executor {
  constructor(
    private readonly state: ShardState,
    private readonly target: Target,
  ) {}

  /** The shard's name, for messages. */
  get shard(): string {
    return this.state.name;
  }

  /** Bytes a batch's values may take: the server's packet limit less room for the statement around them. */
  get batchBytes(): number {
    return Math.max(64 * 1024, (this.state.server?.maxPacket ?? 4 * 1024 * 1024) - 64 * 1024);
  }

  /** What the server told at first use. */
  get server(): ServerInfo {
    const server = this.state.server;
    if (server === undefined) throw new Error(`Shard ${this.state.name} was used before it was inspected`);
    return server;
  }

  /** Runs a query and returns its rows as arrays of raw driver values. */
  async rows(statement: Statement): Promise<unknown[][]> {
    const result = await this.#execute(statement);
    if (!Array.isArray(result)) {
      throw queryError(this.state, statement, new Error('The statement returned no rows'));
    }
    return result as unknown[][];
  }

  /** Runs a statement and returns how many rows it affected, with the server's info text. */
  async run(statement: Statement): Promise<RunResult> {
    const result = (await this.#execute(statement)) as { affectedRows?: unknown; info?: unknown };
    return {
      affectedRows: Number(result?.affectedRows ?? 0),
      info: typeof result?.info === 'string' ? result.info : '',
    };
  }

  /**
   * Runs a statement without parameters through the text protocol: DDL and
   * transaction control, which need no prepared statement kept per connection.
   */
  async command(sql: string): Promise<void> {
    const statement = { sql, params: [] };
    await this.#attempt(statement, (connection) => connection.query(sql));
  }

  #execute(statement: Statement): Promise<unknown> {
    this.#checkSize(statement);
    return this.#attempt(statement, async (connection) => {
      const [result] = await connection.execute(
        { sql: statement.sql, rowsAsArray: true, namedPlaceholders: false },
        statement.params as ExecuteValues[],
      );
      return result;
    });
  }

  /** Refuses, before sending it, a statement the server would drop the connection for. */
  #checkSize(statement: Statement): void {
    const max = this.state.server?.maxPacket;
    if (max === undefined) return;
    const size = packetBytes(statement);
    if (size <= max - PACKET_MARGIN) return;
    const exact = statement.params.reduce<number>(
      (sum, value) =>
        sum + 11 + (typeof value === 'string' ? Buffer.byteLength(value) : parameterBytes(value)),
      16,
    );
    if (exact <= max - PACKET_MARGIN && statement.sql.length * 3 <= max - PACKET_MARGIN) return;
    throw new ValidationError(
      `A statement of ${exact} bytes is larger than the ${max} bytes max_allowed_packet of shard ${this.state.name} allows; nothing was sent (${statement.sql.slice(0, 80)}…)`,
    );
  }

  async #attempt<T>(statement: Statement, go: (connection: PoolConnection) => Promise<T>): Promise<T> {
    if (this.state.closed) {
      throw queryError(this.state, statement, new Error('The shard is closed'));
    }
    const target = this.target;
    if (target.kind === 'connection') {
      if (target.ended) {
        throw queryError(this.state, statement, new Error('The transaction has ended'));
      }
      try {
        return await go(target.connection);
      } catch (error) {
        throw queryError(this.state, statement, error);
      }
    }
    for (let attempt = 0; ; attempt++) {
      const connection = await acquire(this.state, target.pool);
      let result: T;
      try {
        result = await go(connection);
      } catch (error) {
        giveBack(connection, isFatal(error));
        // A deadlock victim was rolled back entirely: outside a transaction the statement can simply run again.
        if (errnoOf(error) === ER_LOCK_DEADLOCK && attempt < DEADLOCK_RETRIES) {
          await sleep(2 ** attempt + Math.random() * 4);
          continue;
        }
        throw queryError(this.state, statement, error);
      }
      giveBack(connection, false);
      return result;
    }
  }
}

/**
 * The number of rows a statement is built for: exact up to 8, then the next
 * power of two, at most `max`. Few shapes mean few prepared statements per
 * connection; a short batch is padded to its shape with {@link pad}.
 */
export function shapeSize(count: number, max: number): number {
  if (count <= 8) return count;
  let size = 16;
  while (size < count) size *= 2;
  return Math.min(size, max);
}

/** Repeats the smallest item until the batch fills its shape (harmless in IN lists, OR lists and upserts). */
export function pad<T>(batch: readonly T[], max: number, bytesOf: (item: T) => number): T[] {
  const size = shapeSize(batch.length, max);
  if (size === batch.length) return [...batch];
  let smallest = batch[0] as T;
  for (const item of batch) if (bytesOf(item) < bytesOf(smallest)) smallest = item;
  return [...batch, ...Array.from({ length: size - batch.length }, () => smallest)];
}

/**
 * Splits items into batches of at most `maxRows` items and about `maxBytes`
 * bytes; each batch is filled to half its byte budget, so it stays within it
 * once padded.
 */
export function batches<T>(
  items: readonly T[],
  maxRows: number,
  maxBytes: number,
  bytesOf: (item: T) => number,
): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = bytesOf(item);
    if (current.length > 0 && (current.length >= maxRows || bytes + size > maxBytes / 2)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** The placeholder statement templates are built with; the values are bound when the template runs. */
export const PLACEHOLDER = sql.placeholder('value');

/**
 * The SQL text of a statement shape, rendered by drizzle once and kept in
 * `cache` under `key`. Templates use {@link PLACEHOLDER} for every value, and
 * the caller passes the values in the same order.
 */
export function template(cache: Map<string, string>, key: string, build: () => SQLWrapper): string {
  let text = cache.get(key);
  if (text === undefined) {
    text = statementOf(build()).sql;
    cache.set(key, text);
  }
  return text;
}

/** `(?, ?, …), (?, ?, …)`: `rows` tuples of `width` placeholders, as one flat list of chunks (fast to render). */
export function tuples(rows: number, width: number): SQL {
  const chunks: SQLChunk[] = [];
  const open = new StringChunk('(');
  const between = new StringChunk(', ');
  const close = new StringChunk(')');
  for (let r = 0; r < rows; r++) {
    if (r > 0) chunks.push(between);
    chunks.push(open);
    for (let v = 0; v < width; v++) {
      if (v > 0) chunks.push(between);
      chunks.push(PLACEHOLDER);
    }
    chunks.push(close);
  }
  return sql.fromList(chunks);
}
