/**
 * The options of {@link mysqlShard}, how they become a mysql2 pool, and the
 * shard's display name, which never carries a password.
 */
import { ValidationError } from '@waffle/core';
import type { Pool as CallbackPool } from 'mysql2';
import mysql, { type Pool, type PoolOptions } from 'mysql2/promise';

/** Options shared by every way of opening a MySQL shard. */
export interface MysqlCommonOptions {
  /** A name for messages instead of the one derived from the connection settings. Must not contain secrets. */
  readonly name?: string;
}

/**
 * Open a pool from a URL, `mysql://user:password@host:3306/database`, with
 * optional mysql2 pool options beside it (settings in the URL win, as in mysql2).
 * The shard owns the pool: `close()` ends it.
 */
export interface MysqlUrlOptions extends MysqlCommonOptions, Omit<PoolOptions, 'uri'> {
  readonly url: string;
}

/**
 * Open a pool from mysql2 pool options (`host`, `port`, `user`, `password`,
 * `database`, `connectionLimit`, …). The shard owns the pool: `close()` ends it.
 */
export interface MysqlPoolOptions extends MysqlCommonOptions, PoolOptions {}

/**
 * Use a pool the caller created with mysql2 (`createPool` from `mysql2/promise`,
 * or a callback pool from `mysql2`). The shard never ends it.
 */
export interface MysqlExistingPoolOptions extends MysqlCommonOptions {
  readonly pool: Pool | CallbackPool;
}

/**
 * What {@link mysqlShard} accepts: a URL, URL or pool options (the shard owns
 * the pool), or an existing mysql2 pool, bare or as `{ pool, name }` (the
 * caller keeps it).
 */
export type MysqlShardOptions =
  | string
  | MysqlUrlOptions
  | MysqlPoolOptions
  | MysqlExistingPoolOptions
  | Pool
  | CallbackPool;

/**
 * Prepared statements each pooled connection keeps (mysql2's default is 16,000).
 * The server allows `max_prepared_stmt_count` (16,382 by default) over all its
 * connections, and every shard on a server brings a pool of its own.
 */
export const DEFAULT_MAX_PREPARED_STATEMENTS = 100;

/** A resolved shard configuration: the promise pool, who owns it, its name and the secrets to keep out of messages. */
export interface ResolvedOptions {
  readonly pool: Pool;
  readonly owned: boolean;
  readonly name: string;
  readonly secrets: readonly string[];
}

interface Location {
  readonly user?: string | undefined;
  readonly host?: string | undefined;
  readonly port?: number | string | undefined;
  readonly database?: string | undefined;
  readonly socketPath?: string | undefined;
}

/** `mysql://user@host:port/database`: the parts of a location that are safe to show. */
function describeLocation(location: Location): string {
  const user = location.user ? `${location.user}@` : '';
  const host = location.socketPath
    ? `unix(${location.socketPath})`
    : `${location.host || 'localhost'}${location.port ? `:${location.port}` : ''}`;
  return `mysql://${user}${host}/${location.database ?? ''}`;
}

/** Removes the password, query string and fragment from a URL that does not parse. */
export function redactUrl(url: string): string {
  const bare = url.replace(/[?#].*$/s, '');
  return bare.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/@]*)@/, (_all, scheme: string, auth: string) => {
    const user = auth.split(':')[0];
    return `${scheme}${user ? `${user}@` : ''}`;
  });
}

function parseUrl(url: string, given: string | undefined): { name: string; secrets: string[] } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // The URL error names its input, password included: it is not kept as cause, and
    // the input is shown only when it looks enough like a URL to be redacted.
    const shown = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(url) ? ` ${redactUrl(url)}` : '';
    throw new ValidationError(
      `mysqlShard: invalid URL${shown} (expected mysql://user:password@host:port/database)`,
    );
  }
  if (parsed.protocol !== 'mysql:' && parsed.protocol !== 'mariadb:') {
    throw new ValidationError(
      `mysqlShard: expected a mysql:// URL, got ${parsed.protocol}// (${redactUrl(url)})`,
    );
  }
  const decode = (part: string) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  };
  const secrets = [parsed.password, decode(parsed.password)];
  for (const [key, value] of parsed.searchParams) {
    if (/password|token|secret|key/i.test(key)) secrets.push(value);
  }
  const name =
    given ??
    describeLocation({
      user: decode(parsed.username),
      host: parsed.hostname,
      port: parsed.port,
      database: decode(parsed.pathname.slice(1)),
    });
  return { name, secrets: secrets.filter((s) => s.length > 0) };
}

function isPool(value: unknown): value is Pool | CallbackPool {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { getConnection?: unknown }).getConnection === 'function' &&
    typeof (value as { execute?: unknown }).execute === 'function'
  );
}

/** The promise API of a pool given either way (a callback pool has `promise()`). */
function promisePool(pool: Pool | CallbackPool): Pool {
  const candidate = pool as { promise?: unknown; pool?: unknown };
  // A promise pool wraps its callback pool as `.pool`; a callback pool offers `.promise()`.
  if (typeof candidate.promise === 'function' && candidate.pool === undefined) {
    return (pool as CallbackPool).promise();
  }
  return pool as Pool;
}

/** The name of a pool the caller made, from its connection settings when mysql2 exposes them. */
function poolName(pool: Pool): string {
  const config = (pool as unknown as { pool?: { config?: { connectionConfig?: Location } } }).pool?.config
    ?.connectionConfig;
  return config ? describeLocation(config) : 'mysql://pool';
}

/** The passwords among pool options (mysql2 also takes `password1` … `password3` for multi-factor logins). */
function passwords(options: PoolOptions): string[] {
  const all = options as Record<string, unknown>;
  return ['password', 'password1', 'password2', 'password3']
    .map((key) => all[key])
    .filter((value): value is string => typeof value === 'string' && value.length > 0);
}

function withDefaults(options: PoolOptions): PoolOptions {
  return {
    ...options,
    maxPreparedStatements: options.maxPreparedStatements ?? DEFAULT_MAX_PREPARED_STATEMENTS,
  };
}

function createPool(options: PoolOptions, name: string): Pool {
  try {
    return mysql.createPool(options);
  } catch (error) {
    // e.g. an unknown charset; mysql2 checks options before connecting, and its messages hold no password.
    const message = error instanceof Error ? error.message : String(error);
    throw new ValidationError(`Cannot open ${name}: ${message}`, { cause: error });
  }
}

/** Turns the accepted forms of options into a pool, its owner, a name and the secrets to redact. */
export function resolveOptions(options: MysqlShardOptions): ResolvedOptions {
  if (typeof options === 'string') {
    const { name, secrets } = parseUrl(options, undefined);
    return { pool: createPool(withDefaults({ uri: options }), name), owned: true, name, secrets };
  }
  if (typeof options !== 'object' || options === null) {
    throw new ValidationError(
      'mysqlShard: expected a URL, pool options ({ url } or { host, user, … }) or a mysql2 pool',
    );
  }
  if (typeof (options as { execute?: unknown }).execute === 'function' && !isPool(options)) {
    throw new ValidationError(
      'mysqlShard: give a pool (mysql2 createPool), not a single connection: the shard needs a connection per transaction',
    );
  }
  if (isPool(options)) {
    const pool = promisePool(options);
    return { pool, owned: false, name: poolName(pool), secrets: [] };
  }
  if ('pool' in options && options.pool !== undefined) {
    if (!isPool(options.pool)) throw new ValidationError('mysqlShard: `pool` must be a mysql2 pool');
    const pool = promisePool(options.pool);
    return { pool, owned: false, name: options.name ?? poolName(pool), secrets: [] };
  }
  if (options.name !== undefined && typeof options.name !== 'string') {
    throw new ValidationError('mysqlShard: `name` must be a string');
  }
  if ('url' in options && options.url !== undefined) {
    const { url, name: given, ...rest } = options as MysqlUrlOptions;
    if (typeof url !== 'string') throw new ValidationError('mysqlShard: `url` must be a string');
    const { name, secrets } = parseUrl(url, given);
    const extra = passwords(rest);
    return {
      pool: createPool(withDefaults({ ...rest, uri: url }), name),
      owned: true,
      name,
      secrets: [...secrets, ...extra],
    };
  }
  const { name: given, ...rest } = options as MysqlPoolOptions;
  if (rest.uri !== undefined) {
    return resolveOptions({ ...rest, url: rest.uri, name: given } as MysqlUrlOptions);
  }
  const name = given ?? describeLocation(rest);
  const secrets = passwords(rest);
  return { pool: createPool(withDefaults(rest), name), owned: true, name, secrets };
}
