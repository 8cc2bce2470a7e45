import type { PoolConnection } from 'mysql2';
import { describe, expect, it } from 'vitest';
import { createTables, enabled, entitySpec, insert, openPool, openShard, record } from './helpers.js';

type Done = (error: unknown, result?: unknown) => void;
type Execute = (options: { sql: string }, values: unknown, done: Done) => void;

describe.skipIf(!enabled)('clearNotes without RETURNING', () => {
  it('answers true for a note it cleared though a write commits right after its update, and leaves the newer note', async () => {
    // Found by testkit's model-based suite: clearNotes updated, then read the versions back; a write
    // committing between the two made the note it had cleared read as overtaken, and the async
    // write's background finish then deleted index rows that the new version still produced.
    const pool = openPool();
    const core = (
      pool as unknown as { pool: { getConnection(cb: (e: unknown, c?: PoolConnection) => void): void } }
    ).pool;
    /** Runs once, after the first statement that clears notes and before its reply is given back. */
    let afterClear: (() => Promise<void>) | undefined;
    const getConnection = core.getConnection.bind(core);
    const hooked = new WeakSet<object>();
    core.getConnection = (cb) =>
      getConnection((error, connection) => {
        if (connection && !hooked.has(connection)) {
          hooked.add(connection);
          const c = connection as unknown as { execute: Execute };
          const execute = c.execute.bind(connection);
          c.execute = (options, values, done) =>
            execute(options, values, (failure, result) => {
              const hook = /^update .* set \S*`note` = null/is.test(options.sql) ? afterClear : undefined;
              if (!hook) return done(failure, result);
              afterClear = undefined;
              hook().then(
                () => done(failure, result),
                (e) => done(e),
              );
            });
        }
        cb(error, connection);
      });
    const shard = openShard({ pool, name: 'hooked' });
    const other = openShard();
    const table = entitySpec('clear');
    await createTables(shard, table);
    expect(await insert(shard, table, record('a', { note: 'first' }))).toBe(true);
    const a2 = record('a', { version: 2, note: 'second' });
    let committed: boolean[] | undefined;
    afterClear = async () => {
      committed = await other.commit({ table, writes: [{ row: a2, expected: 1 }] });
    };
    expect(await shard.clearNotes(table, [{ id: 'a', version: 1 }])).toEqual([true]);
    expect(afterClear).toBeUndefined(); // the hook ran: the write committed between the statements
    expect(committed).toEqual([true]);
    expect(await shard.getRecords(table, ['a'])).toEqual([a2]);
  });
});
