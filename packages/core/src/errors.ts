/**
 * The error hierarchy of waffle. Every error waffle throws is a {@link WaffleError};
 * callers branch on {@link WaffleError.code} (or the `is` helpers), which stays
 * reliable even when two copies of `@waffle/core` are installed side by side.
 */

/** The machine-readable kind of a {@link WaffleError}. */
export type WaffleErrorCode =
  | 'WAFFLE_ERROR'
  | 'VALIDATION'
  | 'CONFLICT'
  | 'NOT_FOUND'
  | 'SERIALIZATION'
  | 'SHARD_MAP'
  | 'INDEX_NOT_READY'
  | 'QUERY'
  | 'SHARD_UNAVAILABLE'
  | 'OUTCOME_UNKNOWN'
  | 'QUORUM'
  | 'IMPORT';

const TAG = Symbol.for('@waffle/core/error');

/** Base class of every error raised by waffle. The underlying error, if any, is `cause`. */
export class WaffleError extends Error {
  readonly code: WaffleErrorCode = 'WAFFLE_ERROR';
  readonly [TAG] = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }

  /** True for any waffle error, whichever installed copy of `@waffle/core` created it. */
  static is(error: unknown): error is WaffleError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[TAG] === true;
  }
}

/**
 * Bad input caught before anything reached a database: an invalid name, a mapper
 * row with a missing or wrongly typed column, a predicate that cannot be planned.
 */
export class ValidationError extends WaffleError {
  override readonly code = 'VALIDATION';

  static override is(error: unknown): error is ValidationError {
    return WaffleError.is(error) && error.code === 'VALIDATION';
  }
}

/** What a {@link ConflictError} says happened, from the versions expected and found. */
function conflictDetail(expected: number, current: number | undefined, deleted: boolean): string {
  if (expected === 0) {
    if (current === undefined)
      return 'this save expected no stored record and lost to another write (retry it)';
    return deleted
      ? `this save expected no stored record, but the record was deleted meanwhile (version ${current})`
      : `it was created by another writer (this save expected no stored record; the stored version is ${current})`;
  }
  const wanted = `write based on version ${expected}`;
  if (current === undefined) return `${wanted}, but the record does not exist`;
  if (deleted) return `${wanted}, but the record was deleted (version ${current})`;
  return `${wanted}, but the stored version is ${current}`;
}

/**
 * A write lost a race: the stored version is not the one the caller read, or an
 * insert met an id that already exists. Re-read and retry (`Entity.update` does this).
 */
export class ConflictError extends WaffleError {
  override readonly code = 'CONFLICT';
  /** The id of the record. */
  readonly id: string;
  /** The version the writer expected (0 for an insert). */
  readonly expectedVersion: number;
  /** The version stored now, or `undefined` when the record never existed. */
  readonly currentVersion: number | undefined;
  /** True when the record was deleted: `currentVersion` is then the version of its deletion. */
  readonly deleted: boolean;

  constructor(id: string, expectedVersion: number, currentVersion: number | undefined, deleted = false) {
    super(`Conflict on record "${id}": ${conflictDetail(expectedVersion, currentVersion, deleted)}`);
    this.id = id;
    this.expectedVersion = expectedVersion;
    this.currentVersion = currentVersion;
    this.deleted = deleted;
  }

  static override is(error: unknown): error is ConflictError {
    return WaffleError.is(error) && error.code === 'CONFLICT';
  }
}

/** A record that must exist does not. */
export class NotFoundError extends WaffleError {
  override readonly code = 'NOT_FOUND';

  static override is(error: unknown): error is NotFoundError {
    return WaffleError.is(error) && error.code === 'NOT_FOUND';
  }
}

/** A value the serializer cannot represent, or stored bytes it cannot read. */
export class SerializationError extends WaffleError {
  override readonly code = 'SERIALIZATION';

  static override is(error: unknown): error is SerializationError {
    return WaffleError.is(error) && error.code === 'SERIALIZATION';
  }
}

/**
 * The shards given do not match the shards the data was created on (another
 * order, another number, or one database given twice). Nothing was read or written.
 */
export class ShardMapError extends WaffleError {
  override readonly code = 'SHARD_MAP';

  static override is(error: unknown): error is ShardMapError {
    return WaffleError.is(error) && error.code === 'SHARD_MAP';
  }
}

/**
 * A query (`select`, `count`) on an index that is still being built: added to
 * an entity that held records, or changed to a new `version`, and not yet
 * filled by `backfill()`. Pass `{ partial: true }` to read what it holds.
 */
export class IndexNotReadyError extends WaffleError {
  override readonly code = 'INDEX_NOT_READY';
  /** The index's name. */
  readonly index: string;

  constructor(message: string, index: string) {
    super(message);
    this.index = index;
  }

  static override is(error: unknown): error is IndexNotReadyError {
    return WaffleError.is(error) && error.code === 'INDEX_NOT_READY';
  }
}

/** The longest text parameter a {@link QueryError} keeps as it is. */
const KEPT_TEXT = 200;
/** How many elements of an array parameter a {@link QueryError} keeps. */
const KEPT_ELEMENTS = 20;
/** The longest statement text or driver message a {@link QueryError}'s message shows whole. */
const SHOWN_TEXT = 2000;

/**
 * A parameter as a {@link QueryError} keeps it: short values as they are,
 * bytes and long texts (record bodies, notes) by their length only, long
 * arrays (one per column, in a batch) cut after {@link KEPT_ELEMENTS}.
 */
function keptParam(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') {
    return value.length <= KEPT_TEXT ? value : `<text: ${value.length} characters>`;
  }
  if (value instanceof Uint8Array || value instanceof ArrayBuffer)
    return `<bytes: ${value.byteLength} bytes>`;
  if (ArrayBuffer.isView(value)) return `<bytes: ${value.byteLength} bytes>`;
  if (Array.isArray(value)) {
    if (depth > 0) return `<array: ${value.length} elements>`;
    const kept = value.slice(0, KEPT_ELEMENTS).map((v) => keptParam(v, depth + 1));
    if (value.length > KEPT_ELEMENTS) kept.push(`<… ${value.length - KEPT_ELEMENTS} more elements>`);
    return kept;
  }
  return value;
}

/** `text`, or its start and its length when it is longer than {@link SHOWN_TEXT}. */
function shownText(text: string): string {
  return text.length <= SHOWN_TEXT ? text : `${text.slice(0, SHOWN_TEXT)}… (${text.length} characters)`;
}

/**
 * A statement failed on a shard. Carries the SQL and its parameters; the
 * driver error is `cause`. Parameters are kept small whatever the statement
 * wrote: a body (bytes, or text longer than 200 characters) is kept as its
 * length only (`<bytes: 2097152 bytes>`, `<text: 2097152 characters>`), an
 * array parameter to its first 20 elements; the message shows at most 2,000
 * characters of the driver's text and of the SQL. So `JSON.stringify(error)`,
 * `message` and `stack` stay short when a 2 MB record fails to insert.
 */
export class QueryError extends WaffleError {
  override readonly code = 'QUERY';
  /** The statement's SQL text. */
  readonly sql: string;
  /** The statement's parameters, bodies and long texts as their length only. */
  readonly params: readonly unknown[];
  /** The shard's name (never containing a password). */
  readonly shard: string;

  constructor(
    message: string,
    details: { sql: string; params: readonly unknown[]; shard: string; cause?: unknown },
  ) {
    super(`${shownText(message)} [shard ${details.shard}] (${shownText(details.sql)})`, {
      cause: details.cause,
    });
    this.sql = details.sql;
    this.params = details.params.map((value) => keptParam(value));
    this.shard = details.shard;
  }

  static override is(error: unknown): error is QueryError {
    return WaffleError.is(error) && error.code === 'QUERY';
  }
}

/** A shard could not be reached. The operation may be retried. */
export class ShardUnavailableError extends WaffleError {
  override readonly code = 'SHARD_UNAVAILABLE';

  static override is(error: unknown): error is ShardUnavailableError {
    return WaffleError.is(error) && error.code === 'SHARD_UNAVAILABLE';
  }
}

/**
 * The connection to a shard was lost after the statement that commits a
 * write (a `COMMIT`, or a single statement that writes on its own) was sent
 * and before its reply: the write may or may not be stored, and nothing the
 * client holds tells which. Never a plain failure (then it was not written:
 * {@link ShardUnavailableError}) nor a success. Settle it by saving the same
 * record object again, unchanged: the write path finds its own earlier
 * commit (the stored row at the next version with the body, codec and
 * update time this save wrote) and returns the record as saved, or commits
 * it once.
 */
export class OutcomeUnknownError extends WaffleError {
  override readonly code = 'OUTCOME_UNKNOWN';
  /** The shard's name (never containing a password). */
  readonly shard: string;

  constructor(shard: string, detail: string, options?: { cause?: unknown }) {
    super(
      `Shard ${shard} lost the connection after a commit was sent and before its reply (${detail}): the write may or may not be stored; save the same record again to settle it`,
      options,
    );
    this.shard = shard;
  }

  static override is(error: unknown): error is OutcomeUnknownError {
    return WaffleError.is(error) && error.code === 'OUTCOME_UNKNOWN';
  }
}

/**
 * A write over replicas that committed, but on fewer replicas than its
 * `writeQuorum` asked: the copies to the others failed after the commit (a
 * replica went down meanwhile). The write is not undone: the record is
 * saved (the record object was updated in place, as by a successful save),
 * readers see it, and the missing copies wait in its note until `drain()`
 * (or a later write) delivers them. Retrying the same save would conflict:
 * run `drain()` once the replicas are back instead.
 */
export class QuorumError extends WaffleError {
  override readonly code = 'QUORUM';
  /** The record's id. */
  readonly id: string;
  /** How many replicas hold the write now. */
  readonly replicas: number;
  /** How many the write asked for. */
  readonly required: number;

  constructor(id: string, replicas: number, required: number, options?: { cause?: unknown }) {
    super(
      `Record "${id}" is committed on ${replicas} of the ${required} replicas its writeQuorum asks for: the write stands, and drain() will copy it to the others once they are reachable`,
      options,
    );
    this.id = id;
    this.replicas = replicas;
    this.required = required;
  }

  static override is(error: unknown): error is QuorumError {
    return WaffleError.is(error) && error.code === 'QUORUM';
  }
}

/**
 * A line of an import (`Entity.import`) that cannot be imported: not JSON,
 * not a record line, a value the serializer or the entity refuses, or, under
 * `onConflict: 'fail'`, the id of a stored record. The message starts with
 * `line <n>: `; the underlying error, if any, is `cause`. The valid lines
 * before it are imported.
 */
export class ImportError extends WaffleError {
  override readonly code = 'IMPORT';
  /** The line's number, from 1 (blank lines count). */
  readonly line: number;

  constructor(line: number, message: string, options?: { cause?: unknown }) {
    super(`line ${line}: ${message}`, options);
    this.line = line;
  }

  static override is(error: unknown): error is ImportError {
    return WaffleError.is(error) && error.code === 'IMPORT';
  }
}
