/**
 * Server-side faults (issue 13, item 2), on PostgreSQL and MariaDB, in a
 * database of the test's own (so that killing every connection of it touches
 * no other test): a connection killed by the server in the middle of a write
 * (`pg_terminate_backend`, `KILL`), a lock wait timeout and a statement
 * timeout (both set per session, the write waiting on a row a control
 * connection holds with `SELECT … FOR UPDATE`), and a server restarted in the
 * middle of a workload (testkit's TcpProxy resets every connection and
 * refuses none, and every backend of the database is terminated). Each is a
 * typed error (a timeout or a write cut before its commit a
 * ShardUnavailableError: retry later; a write cut at its commit an
 * OutcomeUnknownError), the shard's pool recovers by itself for the next
 * call, and afterwards every record holds its last acknowledged version and
 * value, index answers equal brute force and verify() finds nothing.
 */
import { type Entity, type Index, type Shard, ShardUnavailableError } from '@waffle/core';
import { mysqlShard } from '@waffle/mysql';
import { postgresShard } from '@waffle/postgres';
import { dialectEnabled, servers, TcpProxy, uniqueName } from '@waffle/testkit';
import mysql from 'mysql2';
import mysqlPromise from 'mysql2/promise';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Acknowledged, expectAsAcknowledged, expectTyped } from './support/acknowledged.js';
import { numberedEntity } from './support/proxied.js';

type Value = { n: number; token: string };

/** What the test needs of a server: its own database, sessions that hold locks, and a way to kill every connection of the database. */
interface Control {
  /** The URL of the test's database. */
  readonly url: string;
  /** Opens a session that locks the row of `id` in `table` (SELECT … FOR UPDATE in an open transaction); `release()` rolls back. */
  lock(table: string, id: string): Promise<{ release(): Promise<void> }>;
  /** True when a session of the database waits for a row lock. */
  waiting(): Promise<boolean>;
  /** Kills every connection of the database but the control's own; returns how many. */
  killAll(): Promise<number>;
  close(): Promise<void>;
}

async function postgresControl(): Promise<Control> {
  const database = uniqueName('faults').toLowerCase();
  const admin = postgres(`${servers.postgres}/postgres`, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE "${database}"`);
  const url = `${servers.postgres}/${database}`;
  const CONTROL = 'waffle-faults-control';
  const control = postgres(url, { max: 4, onnotice: () => {}, connection: { application_name: CONTROL } });
  return {
    url,
    async lock(table, id) {
      const session = await control.reserve();
      await session.unsafe('begin');
      await session.unsafe(`select 1 from "${table}" where id = $1 for update`, [id]);
      return {
        async release() {
          await session.unsafe('rollback');
          session.release();
        },
      };
    },
    async waiting() {
      const rows =
        await control`select count(*)::int as n from pg_stat_activity where datname = ${database} and wait_event_type = 'Lock'`;
      return rows[0]!.n > 0;
    },
    async killAll() {
      const rows =
        await control`select pg_terminate_backend(pid) as done from pg_stat_activity where datname = ${database} and usename = current_user and application_name <> ${CONTROL}`;
      return rows.filter((r) => r.done).length;
    },
    async close() {
      await control.end({ timeout: 1 });
      await admin.unsafe(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      await admin.end({ timeout: 1 });
    },
  };
}

async function mysqlControl(): Promise<Control> {
  const database = uniqueName('faults');
  const admin = await mysqlPromise.createConnection({ uri: servers.mysql });
  await admin.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4`);
  const url = `${servers.mysql}/${database}`;
  const own = new Set<number>([admin.threadId]);
  const sessions: mysqlPromise.Connection[] = [];
  return {
    url,
    async lock(table, id) {
      const session = await mysqlPromise.createConnection({ uri: url });
      sessions.push(session);
      own.add(session.threadId);
      await session.query('START TRANSACTION');
      await session.execute(`SELECT 1 FROM \`${table}\` WHERE id = ? FOR UPDATE`, [id]);
      return {
        async release() {
          await session.query('ROLLBACK');
          await session.end();
        },
      };
    },
    async waiting() {
      // A statement of the database's other sessions still running (MariaDB lists an autocommit
      // statement waiting for a row lock as 'Updating', not among INNODB_TRX's lock waits).
      const [rows] = await admin.query(
        "SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND COMMAND IN ('Execute', 'Query')",
        [database],
      );
      return (rows as { id: number }[]).some(({ id }) => !own.has(Number(id)));
    },
    async killAll() {
      const [rows] = await admin.query('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ?', [
        database,
      ]);
      let killed = 0;
      for (const { id } of rows as { id: number }[]) {
        if (own.has(Number(id))) continue;
        await admin.query(`KILL ${Number(id)}`).then(
          () => killed++,
          () => {}, // gone meanwhile
        );
      }
      return killed;
    },
    async close() {
      for (const s of sessions) s.destroy();
      await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await admin.end();
    },
  };
}

/** Session settings of a shard: none, a lock wait timeout, or a statement timeout. */
type Limits = 'none' | 'lock' | 'statement';

function postgresShardOf(url: string, limits: Limits): Shard {
  const connection =
    limits === 'lock' ? { lock_timeout: 300 } : limits === 'statement' ? { statement_timeout: 300 } : {};
  return postgresShard({ url, connect_timeout: 2, connection });
}

/** The mysql2 pools the test made (a shard never ends a pool it was given). */
const pools: mysql.Pool[] = [];

function mysqlShardOf(url: string, limits: Limits): Shard {
  const pool = mysql.createPool({ uri: url, connectTimeout: 5000 });
  const setting =
    limits === 'lock'
      ? 'SET SESSION innodb_lock_wait_timeout = 1'
      : limits === 'statement'
        ? 'SET SESSION max_statement_time = 0.3'
        : undefined;
  if (setting) pool.on('connection', (connection) => connection.query(setting));
  pools.push(pool);
  return mysqlShard({ pool, name: `mysql:faults:${limits}` });
}

/** Waits until `condition` holds (a state of the server, not a time). */
async function until(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 20));
}

for (const dialect of ['postgres', 'mysql'] as const) {
  describe.runIf(dialectEnabled(dialect))(`server-side faults on ${dialect}`, () => {
    let control: Control;
    let proxy: TcpProxy;
    const shards: Shard[] = [];
    beforeAll(async () => {
      control = dialect === 'postgres' ? await postgresControl() : await mysqlControl();
      const { hostname, port } = new URL(control.url);
      proxy = await TcpProxy.start({ host: hostname, port: Number(port) });
    });
    afterAll(async () => {
      for (const shard of shards.splice(0)) await shard.close();
      for (const pool of pools.splice(0)) await new Promise<void>((resolve) => pool.end(() => resolve()));
      await proxy?.close();
      await control?.close();
    });

    /** An entity over the test's database through the proxy, with a co-located index, and its model. */
    async function entity(limits: Limits = 'none', name = uniqueName('faulted')) {
      const url = proxy.url(control.url);
      const shard = dialect === 'postgres' ? postgresShardOf(url, limits) : mysqlShardOf(url, limits);
      shards.push(shard);
      const { docs, byN } = await numberedEntity<Value>(name, shard);
      return { docs, byN, name };
    }

    const check = (docs: Entity<Value>, byN: Index<Value>, model: Acknowledged<Value>) =>
      expectAsAcknowledged(docs, model, [{ index: byN, column: 'n', values: [...Array(10).keys()] }]);

    it('a connection killed by the server while a write waits on a lock: a typed error; the next call succeeds; nothing wrong', async () => {
      const { docs, byN, name } = await entity();
      const model = new Map<string, { value: Value; version: number }>();
      const records = await docs.saveMany(
        Array.from({ length: 10 }, (_, i) => docs.new({ n: i % 10, token: `seed${i}` })),
      );
      for (const r of records) model.set(r.id, { value: r.value, version: r.version });
      const target = records[3]!;
      const lock = await control.lock(name, target.id);
      target.value = { n: 7, token: 'killed' };
      const saving = docs.save(target).then(
        () => undefined,
        (error: unknown) => error,
      );
      await until(() => control.waiting());
      expect(await control.killAll()).toBeGreaterThan(0);
      const error = await saving;
      await lock.release();
      expectTyped(error, 'the killed write');
      // A plain failure was not written; an unknown outcome is settled by saving again.
      if (ShardUnavailableError.is(error)) expect((await docs.get(target.id))?.version).toBe(1);
      await docs.save(target); // the next call, with no reset of anything
      model.set(target.id, { value: target.value, version: 2 });
      expect(target.version).toBe(2);
      await check(docs, byN, model);
    });

    it('a connection killed while a transaction of several statements waits on a lock: ShardUnavailableError, nothing written, the process lives on', async () => {
      const { docs, byN, name } = await entity();
      const model = new Map<string, { value: Value; version: number }>();
      // 600 updates: more than one statement of records (512 at most on PostgreSQL), in one transaction.
      const records = await docs.saveMany(
        Array.from({ length: 600 }, (_, i) => docs.new({ n: i % 10, token: `seed${i}` })),
      );
      const lock = await control.lock(name, records[599]!.id);
      for (const r of records) r.value = { n: (r.value.n + 1) % 10, token: `${r.value.token}+` };
      const saving = docs.saveMany(records).then(
        () => undefined,
        (error: unknown) => error,
      );
      await until(() => control.waiting());
      expect(await control.killAll()).toBeGreaterThan(0);
      const error = await saving;
      await lock.release();
      expect(error).toBeInstanceOf(ShardUnavailableError);
      expect((error as Error).message).toMatch(/^Shard \S+ is unavailable: /);
      expect(records.every((r) => r.version === 1)).toBe(true);
      expect((await docs.getMany(records.map((r) => r.id))).every((r) => r?.version === 1)).toBe(true);
      await docs.saveMany(records); // the next call, with no reset of anything
      for (const r of records) model.set(r.id, { value: r.value, version: 2 });
      await check(docs, byN, model);
    });

    for (const limits of ['lock', 'statement'] as const) {
      it(`a ${limits === 'lock' ? 'lock wait' : 'statement'} timeout set for the session: ShardUnavailableError saying it timed out, nothing written; the next call succeeds`, async () => {
        const { docs, byN, name } = await entity(limits);
        const model = new Map<string, { value: Value; version: number }>();
        const records = await docs.saveMany(
          Array.from({ length: 10 }, (_, i) => docs.new({ n: i % 10, token: `seed${i}` })),
        );
        for (const r of records) model.set(r.id, { value: r.value, version: r.version });
        const target = records[5]!;
        const lock = await control.lock(name, target.id);
        target.value = { n: 2, token: 'timed out' };
        const error = await docs.save(target).catch((e: unknown) => e);
        await lock.release();
        expect(error).toBeInstanceOf(ShardUnavailableError);
        expect((error as Error).message).toMatch(/^Shard \S+ timed out \(retry later\): /);
        const cause = (error as Error).cause as { code?: unknown; errno?: unknown };
        if (dialect === 'postgres') expect(cause.code).toBe(limits === 'lock' ? '55P03' : '57014');
        else expect(cause.errno).toBe(limits === 'lock' ? 1205 : 1969);
        expect(target.version).toBe(1);
        expect((await docs.get(target.id))?.value.token).toBe('seed5');
        await docs.save(target);
        model.set(target.id, { value: target.value, version: 2 });
        await check(docs, byN, model);
      });
    }

    it('a server restarted during a workload: each save ends saved or with a typed error, saving again settles it, nothing is lost or doubled', async () => {
      const { docs, byN } = await entity();
      const model = new Map<string, { value: Value; version: number }>();
      const counts: Record<string, number> = {};
      let done = 0;
      let restarted = false;
      const restart = async () => {
        restarted = true;
        // The server ends every backend of the database, then nothing answers until it is back.
        counts.killed = await control.killAll();
        await proxy.down('reset');
        await proxy.up();
      };
      const worker = async (w: number) => {
        const mine: Awaited<ReturnType<typeof docs.save>>[] = [];
        for (let i = 0; i < 25; i++) {
          const update = mine.length > 0 && i % 3 === 0;
          const record = update ? mine[i % mine.length]! : docs.new({ n: 0, token: '' });
          record.value = { n: (w + i) % 10, token: `w${w}i${i}` };
          const expected = record.version;
          for (let attempt = 0; ; attempt++) {
            const error = await docs.save(record).then(
              () => undefined,
              (e: unknown) => e,
            );
            if (error === undefined) break;
            expectTyped(error, `worker ${w}, save ${i}`);
            counts[(error as Error).name] = (counts[(error as Error).name] ?? 0) + 1;
            expect(attempt, String(error)).toBeLessThan(20);
            await new Promise((resolve) => setTimeout(resolve, 25));
          }
          expect(record.version).toBe(expected + 1);
          if (!update) mine.push(record);
          model.set(record.id, { value: record.value, version: record.version });
          done++;
          if (done === 60 && !restarted) await restart();
        }
      };
      await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
      expect(restarted).toBe(true);
      expect(counts.killed).toBeGreaterThan(0);
      console.log(`a server restarted during a workload on ${dialect}: ${JSON.stringify(counts)}`);
      // The next call after it needs no reset, and every record is as acknowledged.
      await check(docs, byN, model);
    }, 120_000);
  });
}
