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
  | 'SHARD_UNAVAILABLE';

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
    const now =
      currentVersion === undefined
        ? 'the record does not exist'
        : deleted
          ? `the record was deleted (version ${currentVersion})`
          : `the stored version is ${currentVersion}`;
    const wanted =
      expectedVersion === 0 ? 'insert of a new record' : `write based on version ${expectedVersion}`;
    super(`Conflict on record "${id}": ${wanted}, but ${now}`);
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

/** A statement failed on a shard. Carries the SQL and its parameters; the driver error is `cause`. */
export class QueryError extends WaffleError {
  override readonly code = 'QUERY';
  readonly sql: string;
  readonly params: readonly unknown[];
  /** The shard's name (never containing a password). */
  readonly shard: string;

  constructor(
    message: string,
    details: { sql: string; params: readonly unknown[]; shard: string; cause?: unknown },
  ) {
    super(`${message} [shard ${details.shard}] (${details.sql})`, { cause: details.cause });
    this.sql = details.sql;
    this.params = details.params;
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
