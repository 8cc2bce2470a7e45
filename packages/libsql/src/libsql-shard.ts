/**
 * `libsqlShard()`: a shard of the libSQL driver and the SQLite dialect.
 */
import type { Shard } from '@waffle/core';
import { SqlShard } from '@waffle/sql';
import { SqliteDialect } from './libsql-dialect.js';
import { LibsqlDriver } from './libsql-driver.js';
import type { LibsqlShardOptions } from './libsql-options.js';

const dialect = new SqliteDialect();

/**
 * A waffle shard on a libSQL or SQLite database: an embedded file
 * (`file:data/s0.db`), an in-memory database (`:memory:`) or a remote libSQL
 * server (`libsql://…`), given by URL or as an existing `@libsql/client` client.
 * Local file databases are switched to WAL journaling at first use.
 *
 * @example
 * const shards = [libsqlShard({ url: 'file:data/s0.db' }), libsqlShard({ url: 'file:data/s1.db' })];
 */
export function libsqlShard(options: LibsqlShardOptions): Shard {
  return new SqlShard({ driver: new LibsqlDriver(options), dialect });
}
