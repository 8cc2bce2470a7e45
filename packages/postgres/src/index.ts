/**
 * `@waffle/postgres`: a waffle {@link Shard} on PostgreSQL, built on
 * postgres.js and drizzle-orm.
 */

export type {
  PostgresClient,
  PostgresCommonOptions,
  PostgresDriverOptions,
  PostgresShardOptions,
  PostgresUrlOptions,
} from './postgres-options.js';
export { postgresShard } from './postgres-shard.js';
