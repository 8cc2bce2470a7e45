/**
 * The driver half of an adapter: what runs statements on one database. A
 * driver connects (or takes the caller's client), runs a statement with bound
 * values, runs statements atomically (a batch or an interactive transaction),
 * tells an unreachable server from a failed statement, and closes what it
 * opened. Everything else (what the statements say) is the dialect's.
 */
import { OutcomeUnknownError, QueryError, ShardUnavailableError, type WaffleError } from '@waffle/core';

/** A statement's SQL text and its bound values, in placeholder order. */
export interface Statement {
  readonly sql: string;
  readonly params: readonly unknown[];
  /**
   * True when the text is one of unboundedly many (an index query, whose text
   * follows the predicate's shape): a driver that keeps prepared statements
   * may decline to prepare it.
   */
  readonly dynamic?: boolean;
}

/** What a statement returned: its rows as arrays of driver values, and how many rows it changed. */
export interface Result {
  readonly rows: readonly (readonly unknown[])[];
  readonly changes: number;
}

/** Runs statements: a driver itself, or one of its transactions. */
export interface Runner {
  /** Runs one statement; driver failures are thrown as {@link WaffleError}s. */
  run(statement: Statement): Promise<Result>;
}

/** A driver of one database. */
export interface Driver extends Runner {
  /** A name for messages: dialect and location, never a password. */
  readonly name: string;
  /**
   * Runs `statements` in one transaction, in order, in as few round trips as the
   * driver can (one, for libSQL's batches); a failure rolls all of them back.
   */
  batch(statements: readonly Statement[]): Promise<Result[]>;
  /**
   * Runs `work` in one transaction: committed when it resolves, rolled back
   * when it throws (its error passes through unchanged).
   */
  transaction<T>(work: (tx: Runner) => Promise<T>): Promise<T>;
  /** Closes the connection if the driver opened it; a client passed in by the caller stays open. */
  close(): Promise<void>;
}

/** How a driver recognises and hides what must not leak into messages. */
export interface ErrorContext {
  /** The shard's name. */
  readonly shard: string;
  /** Passwords, tokens and URLs with them: replaced by `***` in every message. */
  readonly secrets: readonly (string | undefined)[];
  /** True when an error means the server cannot be reached or cannot serve now. */
  readonly unavailable: (error: unknown) => boolean;
  /**
   * True when an error is a timeout the server or the session set (a lock
   * wait, a statement time limit): the statement was rolled back, so it is a
   * {@link ShardUnavailableError} (retry later) worded as a timeout.
   */
  readonly timedOut?: (error: unknown) => boolean;
  /**
   * True when an error means the connection was lost (reset, closed, killed)
   * with a statement on it: after a statement that commits was sent, its
   * outcome is unknown ({@link commitError}).
   */
  readonly lost?: (error: unknown) => boolean;
}

/**
 * True when `statement` changes data on its own when run outside a
 * transaction, or ends one: `INSERT`, `UPDATE`, `DELETE`, `REPLACE`, a `WITH`
 * holding one of them, or `COMMIT`. Its outcome is unknown when the
 * connection is lost after it was sent.
 */
export function commits(statement: Statement): boolean {
  const sql = statement.sql.trimStart().slice(0, 16).toLowerCase();
  if (/^(insert|update|delete|replace|commit)\b/.test(sql)) return true;
  return sql.startsWith('with') && /\b(insert|update|delete)\b/i.test(statement.sql);
}

/** `text` with every secret replaced by `***`; `found` tells whether there was one. */
export function redact(
  secrets: readonly (string | undefined)[],
  text: string,
): { text: string; found: boolean } {
  let found = false;
  for (const secret of secrets) {
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

/**
 * A driver failure as waffle reports it: a {@link ShardUnavailableError} when
 * the server cannot be reached, else a {@link QueryError} with the statement.
 * The driver's error is kept as `cause` unless its message shows a secret.
 * A failure that already is a `WaffleError` passes through.
 */
export function driverError(
  context: ErrorContext,
  statement: Statement | undefined,
  error: unknown,
): WaffleError {
  if (QueryError.is(error) || ShardUnavailableError.is(error)) return error as WaffleError;
  const { text, found } = redact(context.secrets, messageOf(error));
  const cause = found ? undefined : error;
  if (context.timedOut?.(error)) {
    return new ShardUnavailableError(`Shard ${context.shard} timed out (retry later): ${text}`, { cause });
  }
  if (context.unavailable(error)) {
    return new ShardUnavailableError(`Shard ${context.shard} is unavailable: ${text}`, { cause });
  }
  return new QueryError(text, {
    sql: statement?.sql ?? '',
    params: statement?.params ?? [],
    shard: context.shard,
    cause,
  });
}

/**
 * The failure of a statement that commits (see {@link commits}) and was
 * sent: an {@link OutcomeUnknownError} when the connection was lost before
 * its reply, else as {@link driverError} says. A driver calls it only when
 * the statement left (or may have left) this process; a statement that
 * could not be sent is a plain {@link driverError}.
 */
export function commitError(context: ErrorContext, statement: Statement, error: unknown): WaffleError {
  if (OutcomeUnknownError.is(error)) return error;
  if (!context.lost?.(error)) return driverError(context, statement, error);
  const { text, found } = redact(context.secrets, messageOf(error));
  return new OutcomeUnknownError(context.shard, text, { cause: found ? undefined : error });
}

/** The error of a statement attempted on a closed shard. */
export function closedError(shard: string, statement: Statement): QueryError {
  return new QueryError('The shard is closed', { sql: statement.sql, params: statement.params, shard });
}

/**
 * A value a driver finds at its first use (how its connection must be driven,
 * what the server allows): concurrent first calls share one finding, a
 * failed one is tried again at the next call, and once found the value is
 * at hand without waiting for a promise.
 */
export class FirstUse<T> {
  #finding: Promise<T> | undefined;
  /** The value, once found. */
  value: T | undefined;

  constructor(private readonly find: () => Promise<T>) {}

  /** The value, found now if it was not yet. */
  get(): Promise<T> {
    if (this.value !== undefined) return Promise.resolve(this.value);
    this.#finding ??= this.find().then(
      (value) => {
        this.value = value;
        return value;
      },
      (error: unknown) => {
        this.#finding = undefined;
        throw error;
      },
    );
    return this.#finding;
  }
}
