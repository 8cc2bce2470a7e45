/**
 * `mysqlShard()`: a shard of the mysql2 driver and the MySQL dialect.
 */
import type { Shard } from '@waffle/core';
import { SqlShard } from '@waffle/sql';
import { MysqlDialect } from './mysql-dialect.js';
import { BODY_MARGIN, MysqlDriver } from './mysql-driver.js';
import type { MysqlShardOptions } from './mysql-options.js';

/**
 * A waffle shard on a MySQL (8.0+) or MariaDB (10.6+) database, through a
 * mysql2 pool. Give a URL (`mysql://user:password@host:3306/database`), pool
 * options (`{ url, … }` or `{ host, user, password, database, … }`, plus an
 * optional `name`) and the shard creates the pool and ends it in `close()`;
 * or give an existing mysql2 pool (bare or as `{ pool, name }`), which the
 * caller keeps: `close()` leaves it open. The name shown in messages never
 * holds a password. The shard learns the server's `max_allowed_packet` at
 * its first round trip; `limits.maxBodyBytes` tells it from then on.
 *
 * @example
 * const shards = [
 *   mysqlShard('mysql://app@db1:3306/waffle_s0'),
 *   mysqlShard({ url: 'mysql://app@db2:3306/waffle_s1', connectionLimit: 20 }),
 * ];
 */
export function mysqlShard(options: MysqlShardOptions): Shard {
  const driver = new MysqlDriver(options);
  return new SqlShard({
    driver,
    dialect: new MysqlDialect(driver),
    maxBodyBytes: () => {
      const server = driver.server;
      return server === undefined ? undefined : Math.max(0, server.maxPacket - BODY_MARGIN);
    },
  });
}
