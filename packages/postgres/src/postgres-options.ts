/**
 * The options of {@link postgresShard}, how a postgres.js client is opened
 * from them, and the shard's display name, which never carries a password.
 */
import { ValidationError } from '@waffle/core';
import { redact } from '@waffle/sql';
import postgres from 'postgres';

/** A postgres.js client (`postgres(…)`), with any type configuration. */
export type PostgresClient = postgres.Sql<any>;

/** postgres.js connection options, with any custom `types`. */
export type PostgresDriverOptions = postgres.Options<Record<string, postgres.PostgresType>>;

/** Options shared by every way of opening a PostgreSQL shard. */
export interface PostgresCommonOptions {
  /** A name for messages instead of the one derived from the connection. Must not contain secrets. */
  readonly name?: string;
}

/**
 * Open a client from a connection URL and/or postgres.js options (`max`,
 * `ssl`, `connect_timeout`, `password`, …). The shard owns the client and ends
 * it in `close()`. Unless given, `onnotice` is silent, `fetch_types` is off
 * (the shard binds no arrays the driver must serialize) and `backoff` (the
 * wait before connecting again after a failed connection) is at most 0.5 s.
 */
export interface PostgresUrlOptions extends PostgresCommonOptions, PostgresDriverOptions {
  /** `postgres://user:password@host:port/database?…`; the password never appears in names or errors. */
  readonly url?: string;
}

/** Options of {@link postgresShard}: a URL, or options with an optional URL. */
export type PostgresShardOptions = string | PostgresUrlOptions;

/** True when `value` is a postgres.js client rather than options. */
export function isClient(value: unknown): value is PostgresClient {
  return (
    typeof value === 'function' &&
    typeof (value as { unsafe?: unknown }).unsafe === 'function' &&
    typeof (value as { begin?: unknown }).begin === 'function'
  );
}

/** The password of a `scheme://user:password@…` URL, if it has one (read without parsing, so a malformed URL works too). */
export function urlPassword(url: string): string | undefined {
  const match = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s:/@]*:([^\s@/]*)@/.exec(url);
  return match?.[1] === '' ? undefined : match?.[1];
}

/** A URL without its password, for messages: `postgres://user@host/db`. */
export function withoutPassword(url: string): string {
  return url.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s:/@]*):[^\s@/]*@/, '$1@');
}

/**
 * How long postgres.js waits before connecting again after failed
 * connections (seconds, by failures in a row over the client): 50 ms,
 * doubling up to 0.5 s. Its own default grows to 20 s, and a call made while
 * its connection waits waits as long, even once the server is back: with a
 * server stopped for 3 s, calls hung for 16 s instead of failing as
 * unavailable. Waffle's circuit breakers do the backing off over replicas.
 */
export function reconnectBackoff(retries: number): number {
  return Math.min(0.05 * 2 ** Math.max(0, retries - 1), 0.5);
}

/**
 * Opens a postgres.js client from a URL or options (which may hold a URL).
 * Options postgres.js refuses (a malformed URL) are a {@link ValidationError}
 * whose message shows no password; the driver's error, which may hold the
 * URL, is not kept.
 */
export function openClient(options: PostgresShardOptions): PostgresClient {
  const url = typeof options === 'string' ? options : options.url;
  if (url !== undefined) checkScheme(url);
  const { url: _url, name: _name, ...rest } = typeof options === 'string' ? { url } : options;
  const settings: PostgresDriverOptions = {
    onnotice: () => {},
    fetch_types: false,
    backoff: reconnectBackoff,
    ...rest,
  };
  try {
    return url === undefined ? postgres(settings) : postgres(url, settings);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const password = typeof settings.password === 'string' ? settings.password : undefined;
    const secrets = [url, url === undefined ? undefined : urlPassword(url), password];
    const where =
      url === undefined ? 'the options given' : redact(secrets.slice(1), withoutPassword(url)).text;
    throw new ValidationError(`postgresShard: cannot open ${where}: ${redact(secrets, message).text}`);
  }
}

/**
 * Refuses a URL of another database (`mysql://…`, `libsql://…`, `file:…`)
 * before any connection: postgres.js would read it as a PostgreSQL server's
 * and fail later, against a server that speaks another protocol.
 */
function checkScheme(url: string): void {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url)?.[1];
  if (scheme === undefined) return; // not a URL at all: postgres.js refuses it below
  if (/^postgres(ql)?$/i.test(scheme)) return;
  const shown = redact([urlPassword(url)], withoutPassword(url)).text;
  throw new ValidationError(
    `postgresShard: expected a postgres:// or postgresql:// URL, got ${scheme}: (${shown})`,
  );
}

function hostPart(host: string, port: number | undefined): string {
  const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return port === undefined ? bracketed : `${bracketed}:${port}`;
}

/**
 * The shard's name: `postgres://user@host:port/database`, built from the
 * client's parsed options (so no password can be part of it), or the caller's name.
 */
export function shardName(client: PostgresClient, name: string | undefined): string {
  if (name !== undefined) return name;
  const o = client.options as Partial<PostgresClient['options']> | undefined;
  if (!o || !Array.isArray(o.host)) return 'postgres:client';
  const path = (o as { path?: unknown }).path;
  const where =
    typeof path === 'string' && path !== ''
      ? path
      : o.host.map((h, i) => hostPart(h, o.port?.[i] ?? o.port?.[0])).join(',');
  return `postgres://${o.user ?? ''}@${where}/${o.database ?? ''}`;
}

/** The client's password, when it is a plain string, so messages can be scrubbed of it. */
export function passwordOf(client: PostgresClient): string | undefined {
  const pass = (client.options as { pass?: unknown } | undefined)?.pass;
  return typeof pass === 'string' && pass !== '' ? pass : undefined;
}
