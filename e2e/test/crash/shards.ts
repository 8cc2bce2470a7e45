import type { Shard } from '@waffle/core';
import { libsqlShard } from '@waffle/libsql';
import { mysqlShard } from '@waffle/mysql';
import { postgresShard } from '@waffle/postgres';

/** A shard for a URL, by its scheme. */
export function shardFor(url: string): Shard {
  if (url.startsWith('postgres://')) return postgresShard(url);
  if (url.startsWith('mysql://')) return mysqlShard(url);
  return libsqlShard({ url });
}
