/**
 * A real PostgreSQL server restarted during a workload (issue 13, item 2):
 * the cluster "restarted" on 127.0.0.1:5435 (`WAFFLE_POSTGRES4_URL`; made by
 * scripts/prepare-databases.sh), restarted with `pg_ctlcluster … restart`
 * in `fast` mode (sessions ended, a shutdown checkpoint) and in `immediate`
 * mode (the postmaster kills its processes, crash recovery at start) while
 * eight writers save records over two record shards and two index shards,
 * and go on saving until the restart is over. One save waits on a row lock
 * of a control session when the restart comes (cut in flight, or in fast
 * mode let through when the lock holder ends first).
 *
 * Each operation ends saved or with a typed error (ShardUnavailableError, or
 * OutcomeUnknownError for a commit cut before its reply); saving the same
 * record again settles it; the shards' pools recover by themselves (the next
 * call after the workload needs no reset of anything); and afterwards every
 * record holds its last acknowledged version and value, index answers equal
 * brute force, and verify() finds nothing.
 *
 * Only this file touches the server on 5435. It is skipped, saying why, when
 * the cluster cannot be managed here (not root, no pg_ctlcluster, or the URL
 * points to another host or to no local cluster); it always leaves the
 * server running.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { Entity, Index, integer, type Shard, ShardByColumn } from '@waffle/core';
import { postgresShard } from '@waffle/postgres';
import { json } from '@waffle/serializer-json';
import { dialectEnabled, shardDatabaseUrls, uniqueName } from '@waffle/testkit';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { type Acknowledged, expectAsAcknowledged, expectTyped } from './support/acknowledged.js';

const run = promisify(execFile);

const SERVER = (process.env.WAFFLE_POSTGRES4_URL || 'postgres://postgres@127.0.0.1:5435').replace(/\/+$/, '');

/** The local cluster behind SERVER, or why it cannot be restarted here. */
function cluster(): { version: string; name: string } | { skip: string } {
  if (!dialectEnabled('postgres')) return { skip: 'PostgreSQL is not among WAFFLE_DIALECTS' };
  const { hostname, port } = new URL(SERVER);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(hostname)) {
    return { skip: `WAFFLE_POSTGRES4_URL points to ${hostname}, not a cluster of this machine` };
  }
  if (process.getuid?.() !== 0) return { skip: 'restarting a cluster needs root (pg_ctlcluster)' };
  let listed: string;
  try {
    execFileSync('sh', ['-c', 'command -v pg_ctlcluster'], { stdio: 'ignore' });
    listed = execFileSync('pg_lsclusters', ['-h'], { encoding: 'utf8' });
  } catch {
    return { skip: "no pg_ctlcluster here (Debian's postgresql-common)" };
  }
  const line = listed
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find((fields) => fields[2] === (port || '5432'));
  if (!line)
    return { skip: `no local PostgreSQL cluster on port ${port} (run scripts/prepare-databases.sh)` };
  return { version: line[0]!, name: line[1]! };
}

const found = cluster();
const skip = 'skip' in found ? found.skip : undefined;
if (skip) console.warn(`server-restart.test.ts skipped: ${skip}`);

/** pg_ctlcluster on the cluster, without systemd (the tests run as root on a plain machine). */
async function ctl(...args: string[]): Promise<void> {
  const { version, name } = found as { version: string; name: string };
  await run('pg_ctlcluster', ['--skip-systemctl-redirect', version, name, ...args]);
}

/** Starts the cluster when it is not running (a test that failed half-way must not leave it down). */
async function ensureRunning(): Promise<void> {
  const { version, name } = found as { version: string; name: string };
  const { stdout } = await run('pg_lsclusters', ['-h', version, name]);
  if (!/\bonline\b/.test(stdout)) await ctl('start');
}

/** When the server's postmaster started: a restart changes it. */
async function startedAt(): Promise<string> {
  const sql = postgres(`${SERVER}/postgres`, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql`select pg_postmaster_start_time()::text as t`;
    return rows[0]!.t as string;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

type Value = { n: number; w: number; token: string };
type Model = Acknowledged<Value>;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(skip !== undefined)(
  skip ? `a real PostgreSQL server restart (skipped: ${skip})` : 'a real PostgreSQL server restart',
  () => {
    const shards: Shard[] = [];
    afterAll(async () => {
      await ensureRunning();
      for (const shard of shards.splice(0)) await shard.close();
    });

    /** Records on waffle_s0 and s1, `byN` on s2 and s3 (its rows put before each commit), `byW` with the records. */
    function entity() {
      const urls = shardDatabaseUrls(SERVER);
      const opened = urls.slice(0, 4).map((url) => postgresShard({ url, connect_timeout: 2 }));
      shards.push(...opened);
      const [s0, s1, s2, s3] = opened as [Shard, Shard, Shard, Shard];
      const name = uniqueName('restarted');
      const byN = new Index<Value>(`${name}_n`, {
        columns: { n: integer() },
        shard: new ShardByColumn('n', [s2, s3]),
        mapper: (d) => [{ n: d.value.n }],
      });
      const byW = new Index<Value>(`${name}_w`, {
        columns: { w: integer() },
        shard: [s0, s1],
        mapper: (d) => [{ w: d.value.w }],
      });
      const indexErrors: unknown[] = [];
      const docs = new Entity<Value>(name, {
        shards: [s0, s1],
        indices: [byN, byW],
        serializer: json(),
        onIndexError: (error) => indexErrors.push(error),
      });
      return { docs, byN, byW, name, s0url: urls[0]!, indexErrors };
    }

    /** Saves `record` until it is saved, each failure a typed error; returns the failures. */
    async function settle(docs: Entity<Value>, record: Parameters<Entity<Value>['save']>[0], what: string) {
      const failures: string[] = [];
      const expected = record.version;
      for (let attempt = 0; ; attempt++) {
        const error = await docs.save(record).then(
          () => undefined,
          (e: unknown) => e,
        );
        if (error === undefined) break;
        expectTyped(error, what);
        failures.push((error as Error).name);
        // Bounded: the restart takes a few seconds; 60 attempts wait up to about 50 s in all.
        expect(attempt, `${what}: still failing: ${String(error)}`).toBeLessThan(60);
        await pause(Math.min(50 * 2 ** attempt, 1000));
      }
      expect(record.version, what).toBe(expected + 1);
      return failures;
    }

    for (const mode of ['fast', 'immediate'] as const) {
      it(`pg_ctlcluster restart -m ${mode} during a workload of eight writers: typed errors, pools recover, nothing lost, doubled or misindexed`, async () => {
        const { docs, byN, byW, name, s0url, indexErrors } = entity();
        await docs.create();
        const model: Model = new Map();
        const counts: Record<string, number> = {};
        const count = (names: string[]) => {
          for (const n of names) counts[n] = (counts[n] ?? 0) + 1;
        };
        // Records acknowledged before the restart; one on s0 is the one a control session will lock.
        const seeded = await docs.saveMany(
          Array.from({ length: 20 }, (_, i) => docs.new({ n: i % 10, w: 99, token: `seed${i}` })),
        );
        for (const r of seeded) model.set(r.id, { value: r.value, version: r.version });
        const held = seeded.find((r) => docs.strategy.shardOf({ id: r.id }) === 0)!;
        const before = await startedAt();

        // The restart, with one save waiting on a row lock when it comes.
        let restarted: Promise<void> | undefined;
        let restartDone = false;
        const restart = async () => {
          const control = postgres(s0url, { max: 2, onnotice: () => {} });
          const session = await control.reserve();
          await session.unsafe('begin');
          await session.unsafe(`select 1 from "${name}" where id = $1 for update`, [held.id]);
          held.value = { n: 7, w: 99, token: 'held' };
          const saving = docs.save(held).then(
            () => undefined,
            (e: unknown) => e,
          );
          for (;;) {
            const rows =
              await control`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`;
            if (rows[0]!.n > 0) break;
            await pause(20);
          }
          await ctl('restart', '-m', mode);
          const error = await saving;
          await control.end({ timeout: 0 }).catch(() => {});
          // Cut in flight (a typed error: saving it again settles it), or, in fast mode, let through
          // when the lock holder ended first and the waiting backend committed before it ended too.
          if (error !== undefined) {
            expectTyped(error, 'the save waiting on a lock at the restart');
            count([(error as Error).name]);
            count(await settle(docs, held, 'the held save, again'));
          }
          expect(held.version).toBe(2);
          model.set(held.id, { value: held.value, version: held.version });
          restartDone = true;
        };

        let done = 0;
        // Each writer saves 25 records or updates, and goes on until the restart is over (bounded).
        const worker = async (w: number) => {
          const mine: Parameters<Entity<Value>['save']>[0][] = [];
          for (let i = 0; i < 25 || (!restartDone && i < 2000); i++) {
            const update = mine.length > 0 && i % 3 === 0;
            const record = update ? mine[i % mine.length]! : docs.new({ n: 0, w, token: '' });
            record.value = { n: (w + i) % 10, w, token: `w${w}i${i}` };
            count(await settle(docs, record, `worker ${w}, save ${i}`));
            if (!update) mine.push(record);
            model.set(record.id, { value: record.value, version: record.version });
            done++;
            if (done === 40) restarted = restart();
          }
        };
        await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
        expect(restarted).toBeDefined();
        await restarted;
        expect(await startedAt(), 'the postmaster was restarted').not.toBe(before);

        // The pools recovered by themselves: the next calls need no retry.
        const probes = await docs.saveMany(
          Array.from({ length: 4 }, (_, i) => docs.new({ n: i, w: 98, token: `after${i}` })),
        );
        for (const r of probes) model.set(r.id, { value: r.value, version: r.version });
        for (const error of indexErrors) expectTyped(error, 'an index error reported after a commit');
        const drained = await docs.drain();

        // Every record as acknowledged, index answers equal to brute force, verify() finds nothing.
        await expectAsAcknowledged(docs, model, [
          { index: byN, column: 'n', values: [...Array(10).keys()] },
          { index: byW, column: 'w', values: [0, 3, 7, 98, 99] },
        ]);
        expect((counts.ShardUnavailableError ?? 0) + (counts.OutcomeUnknownError ?? 0)).toBeGreaterThan(0);
        console.log(
          `restart -m ${mode}: ${model.size} records, ${seeded.length + done + 1 + probes.length} saves acknowledged; typed errors ${JSON.stringify(counts)}; index errors reported ${indexErrors.length}; drain ${JSON.stringify(drained)}; verify 0`,
        );
        await docs.drop();
      }, 180_000);
    }
  },
);
