import { OutcomeUnknownError, QueryError, ShardUnavailableError } from '@waffle/core';
import { describe, expect, it } from 'vitest';
import { commitError, commits, driverError, FirstUse, redact } from '../src/index.js';

describe('FirstUse', () => {
  it('finds the value once for concurrent first calls, then has it at hand', async () => {
    let finds = 0;
    const first = new FirstUse(async () => ++finds);
    expect(first.value).toBeUndefined();
    expect(await Promise.all([first.get(), first.get(), first.get()])).toEqual([1, 1, 1]);
    expect(first.value).toBe(1);
    expect(await first.get()).toBe(1);
    expect(finds).toBe(1);
  });

  it('tries again at the next call after a failure', async () => {
    let finds = 0;
    const first = new FirstUse(async () => {
      finds++;
      if (finds === 1) throw new Error('not yet');
      return 'ready';
    });
    await expect(first.get()).rejects.toThrow('not yet');
    expect(first.value).toBeUndefined();
    expect(await first.get()).toBe('ready');
    expect(finds).toBe(2);
  });
});

describe('driver errors', () => {
  const context = {
    shard: 'pg:db',
    secrets: ['hunter2', undefined],
    unavailable: (e: unknown) => (e as { code?: string }).code === 'ECONNREFUSED',
  };

  it('are a QueryError with the statement, or ShardUnavailableError when the server cannot be reached', () => {
    const statement = { sql: 'select $1', params: [1] };
    const failed = driverError(context, statement, new Error('syntax error'));
    expect(failed).toBeInstanceOf(QueryError);
    expect(failed).toMatchObject({ sql: 'select $1', params: [1], shard: 'pg:db' });
    expect(failed.message).toBe('syntax error [shard pg:db] (select $1)');
    const down = driverError(
      context,
      statement,
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    );
    expect(down).toBeInstanceOf(ShardUnavailableError);
    expect(down.message).toBe('Shard pg:db is unavailable: connect ECONNREFUSED');
    expect(driverError(context, statement, failed)).toBe(failed);
  });

  it('never carry a secret, and drop a cause whose message shows one', () => {
    const error = driverError(context, undefined, new Error('password hunter2 rejected'));
    expect(error.message).toBe('password *** rejected [shard pg:db] ()');
    expect(error.cause).toBeUndefined();
    expect(JSON.stringify(error)).not.toContain('hunter2');
    expect(redact(['a', undefined, ''], 'a b a')).toEqual({ text: '*** b ***', found: true });
    expect(redact(['zz'], 'a b')).toEqual({ text: 'a b', found: false });
  });
});

describe('statements that commit, and their lost replies', () => {
  const context = {
    shard: 'pg:db',
    secrets: ['hunter2'],
    unavailable: (e: unknown) => (e as { code?: string }).code === 'ECONNREFUSED',
    timedOut: (e: unknown) => (e as { code?: string }).code === '55P03',
    lost: (e: unknown) => (e as { code?: string }).code === 'CONNECTION_CLOSED',
  };
  const closed = Object.assign(new Error('write CONNECTION_CLOSED 127.0.0.1:5432'), {
    code: 'CONNECTION_CLOSED',
  });
  const insert = { sql: 'insert into "t" ("id") values ($1)', params: ['a'] };

  it('commits(): statements that write on their own or end a transaction, not reads', () => {
    for (const sql of [
      'INSERT INTO t VALUES (1)',
      '  update t set a = 1',
      'DELETE FROM t',
      'REPLACE INTO t VALUES (1)',
      'COMMIT',
      'with "r" as (insert into "t" values ($1) returning 1) select count(*) from "r"',
    ]) {
      expect(commits({ sql, params: [] }), sql).toBe(true);
    }
    for (const sql of [
      'SELECT 1',
      'with x as (select 1) select * from x',
      'BEGIN',
      'ROLLBACK',
      'START TRANSACTION',
    ]) {
      expect(commits({ sql, params: [] }), sql).toBe(false);
    }
  });

  it('commitError(): a lost connection is an OutcomeUnknownError naming the shard; anything else as driverError says', () => {
    const unknown = commitError(context, insert, closed);
    expect(unknown).toBeInstanceOf(OutcomeUnknownError);
    expect(unknown.message).toBe(
      'Shard pg:db lost the connection after a commit was sent and before its reply (write CONNECTION_CLOSED 127.0.0.1:5432): the write may or may not be stored; save the same record again to settle it',
    );
    expect(unknown.cause).toBe(closed);
    expect(commitError(context, insert, unknown)).toBe(unknown);
    const leaky = Object.assign(new Error('connection to hunter2 closed'), { code: 'CONNECTION_CLOSED' });
    const hidden = commitError(context, insert, leaky);
    expect(hidden.message).toContain('(connection to *** closed)');
    expect(hidden.cause).toBeUndefined();
    const refused = commitError(
      context,
      insert,
      Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }),
    );
    expect(refused).toBeInstanceOf(ShardUnavailableError);
    expect(commitError(context, insert, new Error('duplicate key'))).toBeInstanceOf(QueryError);
  });

  it('a timeout is a ShardUnavailableError saying so, with the server error as cause', () => {
    const timeout = Object.assign(new Error('canceling statement due to lock timeout'), { code: '55P03' });
    const error = driverError(context, insert, timeout);
    expect(error).toBeInstanceOf(ShardUnavailableError);
    expect(error.message).toBe(
      'Shard pg:db timed out (retry later): canceling statement due to lock timeout',
    );
    expect(error.cause).toBe(timeout);
  });
});
