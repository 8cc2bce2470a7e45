import { QueryError, type ShardOperations } from '@waffle/core';
import { describe, expect, it } from 'vitest';
import { createTables, enabled, entitySpec, indexSpec, openPool, openShard, record } from './helpers.js';

describe.skipIf(!enabled)('transactions', () => {
  it('commits on one connection; others see the work only after COMMIT', async () => {
    const shard = openShard(openPool({ connectionLimit: 2 }));
    const spec = entitySpec();
    const index = indexSpec('tx_ix', [['n', 'integer', true]]);
    await createTables(shard, spec, index);
    const result = await shard.transaction(async (tx) => {
      expect(await tx.insertRecord(spec, record('a'))).toBe(true);
      await tx.putIndexRows(index, [{ id: 'a', values: [null], version: 1 }]);
      expect((await tx.getRecords(spec, ['a'])).map((r) => r.id)).toEqual(['a']);
      expect(await shard.getRecords(spec, ['a'])).toEqual([]); // another connection: not committed yet
      return 'done';
    });
    expect(result).toBe('done');
    expect((await shard.getRecords(spec, ['a'])).map((r) => r.version)).toEqual([1]);
  });

  it("rolls back and rethrows the work's own error unchanged, returning its connection", async () => {
    const shard = openShard(openPool({ connectionLimit: 1 }));
    const spec = entitySpec();
    await createTables(shard, spec);
    const failure = new TypeError('stop here');
    for (let i = 0; i < 3; i++) {
      const error = await shard
        .transaction(async (tx) => {
          await tx.insertRecord(spec, record(`x${i}`));
          throw failure;
        })
        .catch((e: unknown) => e);
      expect(error).toBe(failure);
    }
    // A driver error inside the work is the work's error too: it passes through as the QueryError it is.
    const query = await shard
      .transaction((tx) => tx.getRecords({ kind: 'entity', name: 'no_such_table' }, ['a']))
      .catch((e: unknown) => e);
    expect(query).toBeInstanceOf(QueryError);
    // With one connection in the pool, this works only if every transaction gave it back.
    expect(await shard.getRecords(spec, ['x0', 'x1', 'x2'])).toEqual([]);
    expect(await shard.insertRecord(spec, record('y'))).toBe(true);
  });

  it('refuses operations on a transaction that has ended', async () => {
    const shard = openShard();
    const spec = entitySpec();
    await createTables(shard, spec);
    let kept: ShardOperations | undefined;
    await shard.transaction(async (tx) => {
      kept = tx;
    });
    const error = await kept!.getRecords(spec, ['a']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueryError);
    expect((error as Error).message).toContain('The transaction has ended');
  });

  it('a duplicate insert inside a transaction returns false and the transaction goes on', async () => {
    const shard = openShard();
    const spec = entitySpec();
    await createTables(shard, spec);
    await shard.insertRecord(spec, record('a'));
    await shard.transaction(async (tx) => {
      expect(await tx.insertRecord(spec, record('a', { body: 'again' }))).toBe(false);
      expect(await tx.insertRecord(spec, record('b'))).toBe(true);
    });
    expect((await shard.getRecords(spec, ['a', 'b'])).map((r) => `${r.id}${r.body}`).sort()).toEqual([
      'a{"id":"a"}',
      'b{"id":"b"}',
    ]);
  });
});
