/**
 * `postgresShard()`: a shard of the PostgreSQL driver and dialect.
 */
import type { Shard } from '@waffle/core';
import { SqlShard } from '@waffle/sql';
import { PostgresDialect } from './postgres-dialect.js';
import { PostgresDriver } from './postgres-driver.js';
import type { PostgresClient, PostgresCommonOptions, PostgresShardOptions } from './postgres-options.js';

/**
 * A waffle shard on a PostgreSQL database (15 or later), through postgres.js,
 * with statements built once by drizzle-orm. Give it
 *
 * - a connection URL (`postgres://user:password@host:5432/database`),
 * - postgres.js options with an optional `url` (`{ url, max: 4, ssl: 'require' }`),
 *   both opening a client the shard ends in `close()`, or
 * - an existing postgres.js client (`sql` from `postgres(…)`), which the caller
 *   keeps: `close()` leaves it open.
 *
 * `name` (in the options, or in `extra` for a URL or client) replaces the
 * derived name `postgres://user@host:port/database`, which never shows a password.
 *
 * @example
 * const shards = [
 *   postgresShard('postgres://app@db1.internal:5432/blog'),
 *   postgresShard({ url: 'postgres://app@db2.internal:5432/blog', max: 4 }),
 * ];
 */
export function postgresShard(
  target: PostgresShardOptions | PostgresClient,
  extra: PostgresCommonOptions = {},
): Shard {
  return new SqlShard({ driver: new PostgresDriver(target, extra), dialect: new PostgresDialect() });
}
