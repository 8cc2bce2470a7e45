/**
 * `@waffle/mysql`: a waffle {@link Shard} on MySQL and MariaDB, built on mysql2
 * (server-side prepared statements) and drizzle-orm (statement building).
 */

export type {
  MysqlCommonOptions,
  MysqlExistingPoolOptions,
  MysqlPoolOptions,
  MysqlShardOptions,
  MysqlUrlOptions,
} from './mysql-options.js';
export { mysqlShard } from './mysql-shard.js';
