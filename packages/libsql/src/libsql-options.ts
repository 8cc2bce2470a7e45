/**
 * The options of {@link libsqlShard} and the shard's display name, which must
 * never carry a secret.
 */
import type { Client } from '@libsql/client';

/** Options shared by both ways of opening a libSQL shard. */
export interface LibsqlCommonOptions {
  /**
   * How long, in milliseconds, a local file database waits for a lock held by
   * another connection or process before failing with `SQLITE_BUSY`. Default 5000.
   */
  readonly busyTimeout?: number;
  /** A name for messages instead of the one derived from the URL. Must not contain secrets. */
  readonly name?: string;
}

/** Open a database by URL: `:memory:`, `file:path.db`, `libsql://…`, `http(s)://…`, `ws(s)://…`. */
export interface LibsqlUrlOptions extends LibsqlCommonOptions {
  readonly url: string;
  /** Token for a remote server; never shown in names or messages. */
  readonly authToken?: string;
}

/**
 * Use a client the caller created with `createClient` from `@libsql/client`.
 * The shard never closes it. For a local file database pass `timeout` to
 * `createClient` so every connection of its pool waits for locks.
 */
export interface LibsqlClientOptions extends LibsqlCommonOptions {
  readonly client: Client;
}

/** Options of {@link libsqlShard}: a URL (the shard owns the client) or an existing client. */
export type LibsqlShardOptions = LibsqlUrlOptions | LibsqlClientOptions;

/** Default busy timeout for local file databases, in milliseconds. */
export const DEFAULT_BUSY_TIMEOUT = 5000;

/**
 * Removes everything that can hold a secret from a database URL: the query
 * string (`?authToken=…`), the fragment and any `user:password@`.
 */
export function redactUrl(url: string): string {
  const bare = url.replace(/[?#].*$/s, '');
  return bare.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/]*@/, '$1');
}

/**
 * The secrets a database URL holds, to keep out of messages: the password of
 * its `user:password@` part and the values of query parameters that name a
 * token, password, secret or key, each as written and decoded. Messages of
 * the driver may show a URL built from this one (`…/v2/pipeline`), so hiding
 * the whole URL is not enough.
 */
export function urlSecrets(url: string): string[] {
  const decode = (part: string) => {
    try {
      return decodeURIComponent(part.replace(/\+/g, ' '));
    } catch {
      return part;
    }
  };
  const found: string[] = [];
  const password = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#@]*?:([^/?#@]*)@/.exec(url)?.[1];
  if (password) found.push(password, decode(password));
  const query = /\?([^#]*)/.exec(url)?.[1] ?? '';
  for (const pair of query.split('&')) {
    const at = pair.indexOf('=');
    if (at > 0 && /token|password|secret|key/i.test(decode(pair.slice(0, at))) && at < pair.length - 1) {
      found.push(pair.slice(at + 1), decode(pair.slice(at + 1)));
    }
  }
  return found.filter((secret) => secret.length > 0);
}

/** The shard's name: `libsql:` and the redacted URL, or the caller's name. */
export function shardName(options: LibsqlShardOptions): string {
  if (options.name !== undefined) return options.name;
  if ('client' in options) return `libsql:client(${options.client.protocol})`;
  return `libsql:${redactUrl(options.url)}`;
}
