/**
 * Where the tests find their databases: environment variables with loopback
 * defaults, and `WAFFLE_DIALECTS` to run fewer dialects locally.
 *
 * | variable | default |
 * |---|---|
 * | `WAFFLE_DIALECTS` | `libsql,postgres,mysql` |
 * | `WAFFLE_POSTGRES_URL` | `postgres://postgres@127.0.0.1:5432` |
 * | `WAFFLE_POSTGRES2_URL` (a second server) | `postgres://postgres@127.0.0.1:5433` |
 * | `WAFFLE_MYSQL_URL` | `mysql://root@127.0.0.1:3306` |
 *
 * Shard databases are `waffle_s0` … `waffle_s7` on each server (the root
 * `pnpm test` creates them, through `scripts/prepare-databases.sh`). Under
 * CI (`CI` set) every dialect runs: CI never skips one.
 */

/** The dialects waffle's adapters cover. */
export const ALL_DIALECTS = ['libsql', 'postgres', 'mysql'] as const;
/** One of {@link ALL_DIALECTS}. */
export type Dialect = (typeof ALL_DIALECTS)[number];

/** Number of shard databases on each server. */
export const SHARD_DATABASES = 8;

/** The dialects to test: all of them, or those listed in `WAFFLE_DIALECTS`. */
export function enabledDialects(env: NodeJS.ProcessEnv = process.env): Dialect[] {
  const listed = env.WAFFLE_DIALECTS?.split(',')
    .map((d) => d.trim())
    .filter(Boolean);
  if (!listed || listed.length === 0) return [...ALL_DIALECTS];
  const unknown = listed.filter((d) => !(ALL_DIALECTS as readonly string[]).includes(d));
  if (unknown.length > 0) {
    throw new Error(
      `WAFFLE_DIALECTS names unknown dialects: ${unknown.join(', ')} (known: ${ALL_DIALECTS.join(', ')})`,
    );
  }
  if (env.CI && listed.length < ALL_DIALECTS.length) {
    throw new Error(`WAFFLE_DIALECTS=${env.WAFFLE_DIALECTS} under CI: CI runs every dialect`);
  }
  return listed as Dialect[];
}

/** True when tests of `dialect` should run. */
export function dialectEnabled(dialect: Dialect): boolean {
  return enabledDialects().includes(dialect);
}

function server(variable: string, fallback: string): string {
  return (process.env[variable] || fallback).replace(/\/+$/, '');
}

/** The server URLs (without a database) of each server the tests use. */
export const servers = {
  get postgres(): string {
    return server('WAFFLE_POSTGRES_URL', 'postgres://postgres@127.0.0.1:5432');
  },
  get postgres2(): string {
    return server('WAFFLE_POSTGRES2_URL', 'postgres://postgres@127.0.0.1:5433');
  },
  get mysql(): string {
    return server('WAFFLE_MYSQL_URL', 'mysql://root@127.0.0.1:3306');
  },
};

/** The URLs of the shard databases `waffle_s0` … `waffle_s7` on a server. */
export function shardDatabaseUrls(serverUrl: string): string[] {
  return Array.from({ length: SHARD_DATABASES }, (_, i) => `${serverUrl}/waffle_s${i}`);
}
