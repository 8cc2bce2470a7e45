import { QueryError, ShardUnavailableError } from '@waffle/core';
import { describe, expect, it } from 'vitest';
import { driverError, FirstUse, redact } from '../src/index.js';

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
