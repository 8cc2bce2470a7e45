import { inspect } from 'node:util';
import type { Shard } from '@waffle/core';
import { libsqlShard } from '@waffle/libsql';
import { mysqlShard } from '@waffle/mysql';
import { postgresShard } from '@waffle/postgres';
import { dialectEnabled, servers } from '@waffle/testkit';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Issue 13, item 6: no password or token given in a URL or in options shows
 * in any error a shard raises (message, stack, every cause with its own
 * properties, JSON.stringify, util.inspect) nor in the shard's name: on each
 * adapter, for connections refused, unknown hosts, refused logins, unknown
 * databases and failing statements.
 */
const PASSWORD = 's3cr3t-PASSWORD-xyz';
const TOKEN = 's3cr3t-TOKEN-xyz';
const SECRETS = [PASSWORD, TOKEN, encodeURIComponent(PASSWORD)];

/** Every text an error shows or carries, through its chain of causes. */
function everythingShown(error: unknown): string {
  const parts: string[] = [];
  const safe = (work: () => string | undefined) => {
    try {
      parts.push(work() ?? '');
    } catch (e) {
      parts.push(`<unprintable: ${String(e)}>`);
    }
  };
  safe(() => JSON.stringify(error));
  safe(() => inspect(error, { depth: 10, showHidden: true }));
  safe(() => String(error));
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (typeof current === 'object' && current !== null && !seen.has(current)) {
    seen.add(current);
    const e = current as Error & Record<string, unknown>;
    safe(() => e.message);
    safe(() => e.stack);
    for (const key of Object.keys(e)) safe(() => `${key}=${inspect(e[key], { depth: 10 })}`);
    safe(() => JSON.stringify(e));
    const inners = e.errors; // an AggregateError's errors (several addresses tried)
    for (const inner of Array.isArray(inners) ? inners : []) safe(() => everythingShown(inner));
    current = e.cause;
  }
  return parts.join('\n');
}

/** The error of one call that reaches the server (or tries to). */
async function failureOf(shard: Shard, what: string): Promise<unknown> {
  try {
    await shard.getRecords({ kind: 'entity', name: 'waffle_secrets_no_such_table' }, ['a']);
  } catch (error) {
    return error;
  }
  throw new Error(`${what}: expected a failure`);
}

/** Fails when a secret shows in `error` or the shard's name; the error must be a waffle error of `code`. */
async function expectHidden(make: () => Shard, what: string, code?: string): Promise<void> {
  let shard: Shard;
  try {
    shard = make();
  } catch (error) {
    // Refused while opening: the same rules.
    const shown = everythingShown(error);
    for (const secret of SECRETS) expect(shown, `${what} (opening)`).not.toContain(secret);
    return;
  }
  try {
    for (const secret of SECRETS) expect(shard.name, what).not.toContain(secret);
    const error = await failureOf(shard, what);
    if (code !== undefined) expect((error as { code?: string }).code, `${what}: ${String(error)}`).toBe(code);
    const shown = everythingShown(error);
    expect(shown.length, what).toBeGreaterThan(0);
    for (const secret of SECRETS) expect(shown, what).not.toContain(secret);
  } finally {
    await shard.close().catch(() => {});
  }
}

const UNAVAILABLE = 'SHARD_UNAVAILABLE';

describe.skipIf(!dialectEnabled('postgres'))('postgres: no password in errors', () => {
  const server = new URL(servers.postgres);
  const host = server.hostname;
  const port = Number(server.port || 5432);
  const url = (h: string, p: number, database: string, user = 'postgres') =>
    `postgres://${user}:${encodeURIComponent(PASSWORD)}@${h}:${p}/${database}`;

  it('connection refused, by URL and by options', async () => {
    await expectHidden(
      () => postgresShard({ url: url(host, 1, 'test'), connect_timeout: 5 }),
      'refused URL',
      UNAVAILABLE,
    );
    await expectHidden(
      () =>
        postgresShard({
          host,
          port: 1,
          user: 'postgres',
          password: PASSWORD,
          database: 'test',
          connect_timeout: 5,
        }),
      'refused options',
      UNAVAILABLE,
    );
  });

  it('an unknown host', async () => {
    await expectHidden(
      () => postgresShard({ url: url('no-such-host.invalid', port, 'test'), connect_timeout: 5 }),
      'unknown host',
      UNAVAILABLE,
    );
  });

  it('an unknown role and an unknown database on the real server', async () => {
    await expectHidden(
      () => postgresShard(url(host, port, 'test', 'waffle_no_such_role')),
      'unknown role',
      UNAVAILABLE,
    );
    await expectHidden(
      () => postgresShard(url(host, port, 'waffle_no_such_db')),
      'unknown database URL',
      UNAVAILABLE,
    );
    await expectHidden(
      () =>
        postgresShard({ host, port, user: 'postgres', password: PASSWORD, database: 'waffle_no_such_db' }),
      'unknown database options',
      UNAVAILABLE,
    );
  });

  it('a failing statement on a connection opened with the password', async () => {
    // The test server trusts loopback connections: the password is sent, accepted, and must still never show.
    await expectHidden(() => postgresShard(url(host, port, 'test')), 'statement URL', 'QUERY');
    await expectHidden(
      () => postgresShard({ host, port, user: 'postgres', password: PASSWORD, database: 'test' }),
      'statement options',
      'QUERY',
    );
  });

  it('malformed URLs with the password', async () => {
    for (const bad of [
      `postgres://postgres:${PASSWORD}@${host}:99999/test`,
      `postgres://postgres:${PASSWORD}@/test?target_session_attrs=bogus`,
      `mysql://postgres:${PASSWORD}@${host}/test`,
    ]) {
      await expectHidden(() => postgresShard(bad), `malformed ${bad.replace(PASSWORD, '***')}`);
    }
  });
});

describe.skipIf(!dialectEnabled('mysql'))('mysql: no password in errors', () => {
  const server = new URL(servers.mysql);
  const host = server.hostname;
  const port = Number(server.port || 3306);
  const user = 'waffle_secret_user';
  const url = (h: string, p: number, database: string, u = user, password = PASSWORD) =>
    `mysql://${u}:${encodeURIComponent(password)}@${h}:${p}/${database}`;
  let admin: mysql.Connection;

  beforeAll(async () => {
    admin = await mysql.createConnection({
      host,
      port,
      user: decodeURIComponent(server.username) || 'root',
      password: decodeURIComponent(server.password) || undefined,
    });
    await admin.query(`DROP USER IF EXISTS '${user}'@'%'`);
    await admin.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${PASSWORD}'`);
    await admin.query(`GRANT ALL ON test.* TO '${user}'@'%'`);
  });
  afterAll(async () => {
    await admin?.query(`DROP USER IF EXISTS '${user}'@'%'`);
    await admin?.end();
  });

  it('connection refused, by URL and by options', async () => {
    await expectHidden(
      () => mysqlShard({ url: url(host, 1, 'test'), connectTimeout: 5000 }),
      'refused URL',
      UNAVAILABLE,
    );
    await expectHidden(
      () => mysqlShard({ host, port: 1, user, password: PASSWORD, database: 'test', connectTimeout: 5000 }),
      'refused options',
      UNAVAILABLE,
    );
  });

  it('an unknown host', async () => {
    await expectHidden(
      () => mysqlShard({ url: url('no-such-host.invalid', port, 'test'), connectTimeout: 5000 }),
      'unknown host',
      UNAVAILABLE,
    );
  });

  it('a wrong password for a real user, and a user that does not exist', async () => {
    // The user's password is PASSWORD; these logins send another secret or the right one for the wrong user.
    await expectHidden(
      () => mysqlShard(url(host, port, 'test', user, `${PASSWORD}-wrong`)),
      'wrong password URL',
      UNAVAILABLE,
    );
    await expectHidden(
      () => mysqlShard({ host, port, user, password: `${PASSWORD}-wrong`, database: 'test' }),
      'wrong password options',
      UNAVAILABLE,
    );
    await expectHidden(
      () => mysqlShard(url(host, port, 'test', 'waffle_no_such_user')),
      'unknown user',
      UNAVAILABLE,
    );
  });

  it('an unknown database and a failing statement, logged in with the password', async () => {
    await expectHidden(
      () => mysqlShard(url(host, port, 'waffle_no_such_db')),
      'unknown database',
      UNAVAILABLE,
    );
    await expectHidden(() => mysqlShard(url(host, port, 'test')), 'statement URL', 'QUERY');
    await expectHidden(
      () => mysqlShard({ host, port, user, password: PASSWORD, database: 'test' }),
      'statement options',
      'QUERY',
    );
  });

  it('malformed URLs with the password', async () => {
    for (const bad of [
      `mysql://${user}:${PASSWORD}@${host}:99999/test`,
      `postgres://${user}:${PASSWORD}@${host}/test`,
      `mysql://${user}:${PASSWORD}@[bad/test`,
    ]) {
      await expectHidden(() => mysqlShard(bad), `malformed ${bad.replace(PASSWORD, '***')}`);
    }
  });
});

describe('libsql: no token or password in errors', () => {
  it('a remote server that refuses the connection, with the token in options and in the URL', async () => {
    for (const base of ['http://127.0.0.1:1', 'ws://127.0.0.1:1', 'libsql://127.0.0.1:1?tls=0']) {
      await expectHidden(() => libsqlShard({ url: base, authToken: TOKEN }), `refused ${base}`, UNAVAILABLE);
      const sep = base.includes('?') ? '&' : '?';
      await expectHidden(
        () => libsqlShard({ url: `${base}${sep}authToken=${TOKEN}` }),
        `refused ${base} token in URL`,
        UNAVAILABLE,
      );
      const withUser = base.replace('://', `://ann:${PASSWORD}@`);
      await expectHidden(
        () => libsqlShard({ url: withUser, authToken: TOKEN }),
        `refused ${base} password in URL`,
      );
    }
  });

  it('an unknown host', async () => {
    await expectHidden(
      () => libsqlShard({ url: 'https://no-such-host.invalid', authToken: TOKEN }),
      'unknown host',
      UNAVAILABLE,
    );
    await expectHidden(
      () => libsqlShard({ url: `https://ann:${PASSWORD}@no-such-host.invalid?authToken=${TOKEN}` }),
      'unknown host, secrets in URL',
    );
  });

  it('malformed URLs with the token', async () => {
    for (const bad of [
      `ftp://host/db?authToken=${TOKEN}`,
      `not a url?authToken=${TOKEN}`,
      `libsql://h:99999/x?authToken=${TOKEN}`,
    ]) {
      await expectHidden(
        () => libsqlShard({ url: bad, authToken: TOKEN }),
        `malformed ${bad.replace(TOKEN, '***')}`,
      );
    }
  });
});
