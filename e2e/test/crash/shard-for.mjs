/**
 * A shard for a URL, by its scheme: for the child processes of the crash
 * tests, plain JavaScript on the built packages so that they start fast.
 */
import { libsqlShard } from '@waffle/libsql';
import { mysqlShard } from '@waffle/mysql';
import { postgresShard } from '@waffle/postgres';

export const shardFor = (url) =>
  url.startsWith('postgres://')
    ? postgresShard(url)
    : url.startsWith('mysql://')
      ? mysqlShard(url)
      : libsqlShard({ url });
