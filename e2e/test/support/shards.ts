import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Shard } from '@waffle/core';
import { libsqlShard } from '@waffle/libsql';
import { mysqlShard } from '@waffle/mysql';
import { postgresShard } from '@waffle/postgres';
import { type Dialect, servers, shardDatabaseUrls } from '@waffle/testkit';
import { afterAll } from 'vitest';

/**
 * A shard maker per dialect for a test file: `i` picks the database
 * `waffle_s<i>` on PostgreSQL and MySQL; each libSQL shard is a new file in a
 * temporary folder, removed after the file's tests.
 */
export function dialectShards(prefix: string): Record<Dialect, (i: number) => Shard> {
  const dir = mkdtempSync(join(tmpdir(), `waffle-${prefix}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let files = 0;
  return {
    libsql: () => libsqlShard({ url: `file:${join(dir, `s${files++}.db`)}` }),
    postgres: (i) => postgresShard(shardDatabaseUrls(servers.postgres)[i]!),
    mysql: (i) => mysqlShard(shardDatabaseUrls(servers.mysql)[i]!),
  };
}
