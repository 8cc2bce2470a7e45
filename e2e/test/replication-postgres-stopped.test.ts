/**
 * Replication with a real PostgreSQL server stopped (issue 12): records and
 * their index, each with `replicas: 2`, over shard databases of the server at
 * 5432 and of the server at 5434 (WAFFLE_POSTGRES3_URL, the cluster
 * "stopped" that scripts/prepare-databases.sh creates). A writer and a reader
 * run concurrently while that server is stopped with `pg_ctlcluster … stop -m
 * immediate` and started again; every operation started after the failure
 * was detected succeeds, and after `drain()` the replicas are equal, every
 * acknowledged write is there and every index answer equals brute force (see
 * support/replicated.ts for what is counted).
 *
 * Only this file stops that server, and it always starts it again. It
 * skips where the server cannot be managed: not root, no Debian cluster
 * tools, or WAFFLE_POSTGRES3_URL naming a server elsewhere.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import type { Shard } from '@waffle/core';
import { postgresShard } from '@waffle/postgres';
import { dialectEnabled, servers, shardDatabaseUrls, uniqueName } from '@waffle/testkit';
import { afterAll, describe, it } from 'vitest';
import {
  expectNoFailureAfterDetection,
  type Outage,
  replicatedEntity,
  workloadWithOutage,
} from './support/replicated.js';

const run = promisify(execFile);
const stoppedServer = (process.env.WAFFLE_POSTGRES3_URL || 'postgres://postgres@127.0.0.1:5434').replace(
  /\/+$/,
  '',
);

/** The cluster this file may stop and start, or why it may not. */
function manageable(): { version: string; cluster: string } | { reason: string } {
  if (!dialectEnabled('postgres')) return { reason: 'PostgreSQL is not in WAFFLE_DIALECTS' };
  const { hostname, port } = new URL(stoppedServer);
  const portOf = (url: string) => new URL(url).port || '5432';
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(hostname)) {
    return {
      reason: `WAFFLE_POSTGRES3_URL names a server elsewhere (${hostname}): it cannot be stopped from here`,
    };
  }
  if ([portOf(servers.postgres), portOf(servers.postgres2)].includes(port || '5432')) {
    return { reason: 'WAFFLE_POSTGRES3_URL names a server the other tests use: it is not stopped' };
  }
  if (process.getuid?.() !== 0) return { reason: 'not root: pg_ctlcluster cannot stop the server' };
  if (!existsSync('/usr/bin/pg_ctlcluster'))
    return { reason: 'no pg_ctlcluster (Debian PostgreSQL clusters)' };
  const line = clusters().find((fields) => fields[2] === (port || '5432'));
  if (!line) return { reason: `no local cluster on port ${port} (run scripts/prepare-databases.sh)` };
  return { version: line[0]!, cluster: line[1]! };
}

/** pg_lsclusters, one array of fields per cluster: version, name, port, status, … */
function clusters(): string[][] {
  try {
    return execFileSync('pg_lsclusters', ['-h'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => line.trim().split(/\s+/));
  } catch {
    return [];
  }
}

const cluster = manageable();
const reason = 'reason' in cluster ? cluster.reason : '';

/** Stops (immediately: no checkpoint, connections cut) or starts the cluster. */
async function ctl(action: 'stop' | 'start'): Promise<void> {
  if ('reason' in cluster) return;
  const mode = action === 'stop' ? ['-m', 'immediate'] : [];
  await run('pg_ctlcluster', [
    '--skip-systemctl-redirect',
    cluster.version,
    cluster.cluster,
    action,
    ...mode,
  ]);
}

/** Starts the cluster unless it is running. */
async function ensureStarted(): Promise<void> {
  if ('reason' in cluster) return;
  const line = clusters().find((fields) => fields[0] === cluster.version && fields[1] === cluster.cluster);
  if (line?.[3] !== 'online') await ctl('start');
}

afterAll(ensureStarted);

describe('replicas over two PostgreSQL servers, one stopped', () => {
  it.skipIf(reason !== '')(
    `a writer and a reader go on while the server at 5434 is stopped and started again${reason ? ` (skipped: ${reason})` : ''}`,
    { timeout: 120_000 },
    async () => {
      const main = shardDatabaseUrls(servers.postgres);
      const other = shardDatabaseUrls(stoppedServer);
      const open = (url: string) => postgresShard({ url, connect_timeout: 2 });
      // Records on 3 shards, 2 replicas: the stopped server is first for a third of the buckets,
      // second for another third. The index likewise, on other databases.
      const onStopped = [open(other[0]!), open(other[1]!)];
      const shards: Shard[] = [open(main[0]!), onStopped[0]!, open(main[1]!)];
      const indexShards: Shard[] = [open(main[2]!), onStopped[1]!, open(main[3]!)];
      const outage: Outage = {
        what: `the PostgreSQL server at ${new URL(stoppedServer).host}`,
        shards: onStopped,
        down: () => ctl('stop'),
        up: () => ctl('start'),
      };
      try {
        const { docs, byN } = replicatedEntity(uniqueName('rstop'), shards, indexShards);
        await docs.create();
        const report = await workloadWithOutage(docs, byN, outage);
        expectNoFailureAfterDetection('PostgreSQL server stopped', report);
      } finally {
        await ensureStarted();
        await Promise.all([...shards, ...indexShards].map((s) => s.close()));
      }
    },
  );
});
