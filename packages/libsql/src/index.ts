/**
 * `@waffle/libsql`: a waffle {@link Shard} on libSQL / SQLite, built on
 * `@libsql/client` and drizzle-orm.
 */

export type {
  LibsqlClientOptions,
  LibsqlCommonOptions,
  LibsqlShardOptions,
  LibsqlUrlOptions,
} from './libsql-options.js';
export { libsqlShard } from './libsql-shard.js';
