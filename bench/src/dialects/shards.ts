/**
 * waffle's shard of a dialect on a target (a server URL with its database, or
 * a file path): the one function the run and the scan's child process share,
 * importing only the adapter it needs so that a child's memory holds no other.
 */
import type { Shard } from '@waffle/core';
import type { Dialect } from '@waffle/testkit';

/** Opens waffle's shard of `dialect` on `target`. */
export async function openShard(dialect: Dialect, target: string): Promise<Shard> {
  switch (dialect) {
    case 'libsql': {
      const { libsqlShard } = await import('@waffle/libsql');
      return libsqlShard({ url: `file:${target}` });
    }
    case 'postgres': {
      const { postgresShard } = await import('@waffle/postgres');
      return postgresShard({ url: target, max: 4 });
    }
    case 'mysql': {
      const { mysqlShard } = await import('@waffle/mysql');
      return mysqlShard(target);
    }
  }
}
