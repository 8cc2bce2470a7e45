/**
 * One entity over several servers and engines: records on two PostgreSQL
 * servers, the multi-valued tag index on MariaDB and libSQL. The whole
 * conformance suite runs on that layout.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Shard } from '@waffle/core';
import { libsqlShard } from '@waffle/libsql';
import { mysqlShard } from '@waffle/mysql';
import { postgresShard } from '@waffle/postgres';
import { json } from '@waffle/serializer-json';
import { dialectEnabled, servers, shardConformance, shardDatabaseUrls } from '@waffle/testkit';
import { afterAll, describe } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'waffle-mixed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

/** Shards alternating between the servers given, on distinct databases. */
function alternating(...makers: ((i: number) => Shard)[]) {
  return async (count: number) => Array.from({ length: count }, (_, i) => makers[i % makers.length]!(i));
}

const onPostgres = (i: number) => postgresShard(shardDatabaseUrls(servers.postgres)[i]!);
const onPostgres2 = (i: number) => postgresShard(shardDatabaseUrls(servers.postgres2)[i]!);
const onMysql = (i: number) => mysqlShard(shardDatabaseUrls(servers.mysql)[i]!);
const onLibsql = () => libsqlShard({ url: `file:${join(dir, `index-${files++}.db`)}` });

describe.skipIf(!dialectEnabled('postgres') || !dialectEnabled('mysql') || !dialectEnabled('libsql'))(
  'mixed engines',
  () => {
    shardConformance({
      name: 'records on two PostgreSQL servers, tag index on MariaDB and libSQL',
      serializer: json(),
      scale: 0.5,
      openShards: alternating(onPostgres, onPostgres2),
      openIndexShards: alternating(onMysql, onLibsql),
    });
  },
);
