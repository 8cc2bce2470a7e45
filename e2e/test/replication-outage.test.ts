/**
 * Replication under an outage (issue 12), the same workload as the stopped
 * PostgreSQL server's (support/replicated.ts: a writer and a reader running
 * concurrently, records and their index each with `replicas: 2`): on MariaDB
 * with one replica's databases reached through a TCP proxy that resets every
 * connection, then relays again; on libSQL files with one replica's shards
 * failing every call as unavailable, then answering again; and over mixed
 * engines, one replica on PostgreSQL and one on MariaDB behind the proxy.
 * Every operation started after the failure was detected succeeds; after
 * `drain()` the replicas are equal, every acknowledged write is there and
 * every index answer equals brute force.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Shard } from '@waffle/core';
import { libsqlShard } from '@waffle/libsql';
import { mysqlShard } from '@waffle/mysql';
import { postgresShard } from '@waffle/postgres';
import { dialectEnabled, Faults, servers, shardDatabaseUrls, TcpProxy, uniqueName } from '@waffle/testkit';
import { afterAll, describe, it } from 'vitest';
import {
  expectNoFailureAfterDetection,
  type Outage,
  replicatedEntity,
  workloadWithOutage,
} from './support/replicated.js';

const dir = mkdtempSync(join(tmpdir(), 'waffle-replication-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A proxy to the MariaDB server; its `outage` resets every connection while down. */
async function mysqlProxy(): Promise<{
  proxy: TcpProxy;
  through: (url: string) => Shard;
  outage: (shards: Shard[]) => Outage;
}> {
  const { hostname, port } = new URL(servers.mysql);
  const proxy = await TcpProxy.start({ host: hostname, port: Number(port || 3306) });
  return {
    proxy,
    through: (url) => mysqlShard({ url: proxy.url(url), connectTimeout: 2_000 }),
    outage: (shards) => ({
      what: 'the MariaDB databases behind the proxy',
      shards,
      down: () => proxy.down('reset'),
      up: () => proxy.up(),
    }),
  };
}

describe('replicas under an outage', () => {
  it.runIf(dialectEnabled('mysql'))(
    'MariaDB: one replica behind a proxy that resets every connection, then relays again',
    { timeout: 120_000 },
    async () => {
      const urls = shardDatabaseUrls(servers.mysql);
      const { proxy, through, outage } = await mysqlProxy();
      const direct = (url: string) => mysqlShard({ url, connectTimeout: 2_000 });
      const behind = [through(urls[1]!), through(urls[4]!)];
      const shards = [direct(urls[0]!), behind[0]!, direct(urls[2]!)];
      const indexShards = [direct(urls[3]!), behind[1]!, direct(urls[5]!)];
      try {
        const { docs, byN } = replicatedEntity(uniqueName('rout'), shards, indexShards);
        await docs.create();
        const report = await workloadWithOutage(docs, byN, outage(behind));
        expectNoFailureAfterDetection('MariaDB behind a proxy reset', report);
      } finally {
        await proxy.up();
        await Promise.all([...shards, ...indexShards].map((s) => s.close()));
        await proxy.close();
      }
    },
  );

  it.runIf(dialectEnabled('libsql'))(
    'libSQL: one replica failing every call as unavailable, then answering again',
    { timeout: 120_000 },
    async () => {
      const faults = new Faults();
      const file = (name: string) => libsqlShard({ url: `file:${join(dir, `${name}.db`)}` });
      const raw = [file('r0'), file('r1'), file('r2'), file('i0'), file('i1'), file('i2')];
      const [r0, r1, r2, i0, i1, i2] = raw;
      const down = [faults.wrap(r1!), faults.wrap(i1!)];
      const shards = [r0!, down[0]!, r2!];
      const indexShards = [i0!, down[1]!, i2!];
      try {
        const { docs, byN } = replicatedEntity(uniqueName('rout'), shards, indexShards);
        await docs.create();
        const report = await workloadWithOutage(docs, byN, {
          what: 'the libSQL files of one replica',
          shards: down,
          down: async () => faults.arm({ failAt: 1, persistent: true }),
          up: async () => faults.disarm(),
        });
        expectNoFailureAfterDetection('libSQL replica unavailable', report);
      } finally {
        faults.disarm();
        await Promise.all(raw.map((s) => s.close()));
      }
    },
  );

  it.runIf(dialectEnabled('postgres') && dialectEnabled('mysql'))(
    'mixed engines: one replica on PostgreSQL, the other on MariaDB behind a proxy going down and up',
    { timeout: 120_000 },
    async () => {
      const pg = shardDatabaseUrls(servers.postgres);
      const my = shardDatabaseUrls(servers.mysql);
      const { proxy, through, outage } = await mysqlProxy();
      const behind = [through(my[6]!), through(my[7]!)];
      const onPostgres = [
        postgresShard({ url: pg[4]!, connect_timeout: 2 }),
        postgresShard({ url: pg[5]!, connect_timeout: 2 }),
      ];
      // Two shards, two replicas: every record and every index row on both engines.
      const shards = [onPostgres[0]!, behind[0]!];
      const indexShards = [behind[1]!, onPostgres[1]!];
      try {
        const { docs, byN } = replicatedEntity(uniqueName('rmix'), shards, indexShards);
        await docs.create();
        const report = await workloadWithOutage(docs, byN, outage(behind));
        expectNoFailureAfterDetection('mixed engines, MariaDB behind a proxy reset', report);
      } finally {
        await proxy.up();
        await Promise.all([...shards, ...indexShards].map((s) => s.close()));
        await proxy.close();
      }
    },
  );
});
