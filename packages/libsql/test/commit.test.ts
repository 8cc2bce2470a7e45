import type { CasWrite, EntityTable, HistoryTable, Runner } from '@waffle/sql';
import { FULL_AFTER_CONFLICT, SqlShard } from '@waffle/sql';
import { describe, expect, it } from 'vitest';
import { SqliteDialect } from '../src/libsql-dialect.js';
import { LibsqlDriver } from '../src/libsql-driver.js';
import { backends, indexSpec, onCleanup, openOptions, posts, record } from './helpers.js';

/** SQLite's dialect, counting the batches of plain inserts it builds. */
class CountingDialect extends SqliteDialect {
  plainBatches = 0;
  protected override plainStatements(
    entity: EntityTable,
    writes: readonly CasWrite[],
    put: Parameters<SqliteDialect['plainStatements']>[2],
    history: HistoryTable | undefined,
  ) {
    this.plainBatches++;
    return super.plainStatements(entity, writes, put, history);
  }
}

const byTime = indexSpec('by_time', [['time', 'integer']]);
const byTag = indexSpec('by_tag', [['tag', 'text', true]]);
const history: HistoryTable['spec'] = { kind: 'history', name: 'posts_history' };

describe.each(backends)('commits of new records (%s)', (backend) => {
  it('go in as plain inserts; a stored key sends the commit to the gated batch, and the next ones for a while', async () => {
    const dialect = new CountingDialect();
    const driver = new LibsqlDriver(openOptions(backend));
    const shard = new SqlShard({ driver, dialect });
    onCleanup(() => shard.close());
    await shard.createTables([posts, byTime, byTag, history]);
    const rows = async (sql: string) => (await (driver as Runner).run({ sql, params: [] })).rows;
    let n = 0;
    const commitNew = (ids: string[]) =>
      shard.commit({
        table: posts,
        writes: ids.map((id) => ({ row: record(id), expected: 0 })),
        put: [
          { table: byTime, rows: ids.map((id) => ({ id, values: [n++], version: 1 })) },
          { table: byTag, rows: ids.map((id) => ({ id, values: [null], version: 1 })) },
        ],
        history,
      });
    expect(await commitNew(['a', 'b', 'c'])).toEqual([true, true, true]);
    expect(dialect.plainBatches).toBe(1);
    expect((await rows('SELECT count(*) FROM by_time'))[0]![0]).toBe(3);
    expect((await rows('SELECT count(*) FROM by_tag'))[0]![0]).toBe(3);
    expect((await rows('SELECT count(*) FROM posts_history'))[0]![0]).toBe(3);
    // A stored id: the plain batch wrote nothing, the gated one writes the others with their rows.
    expect(await commitNew(['b', 'd', 'e'])).toEqual([false, true, true]);
    expect(dialect.plainBatches).toBe(2);
    expect((await rows('SELECT __id FROM by_time ORDER BY __id')).map((r) => r[0])).toEqual([
      'a',
      'b',
      'c',
      'd',
      'e',
    ]);
    expect((await rows('SELECT count(*) FROM by_tag'))[0]![0]).toBe(5);
    expect((await rows('SELECT count(*) FROM posts_history'))[0]![0]).toBe(5);
    // Then the table's next commits of new records take the gated batch at once, and after them plain inserts again.
    for (let i = 0; i < FULL_AFTER_CONFLICT; i++)
      expect(await commitNew([`f${i}`, `g${i}`])).toEqual([true, true]);
    expect(dialect.plainBatches).toBe(2);
    expect(await commitNew(['h1', 'h2'])).toEqual([true, true]);
    expect(dialect.plainBatches).toBe(3);
    // A stored index key alone (left by an earlier record of the id) fails the plain batch too; the gated one keeps the larger tag.
    await shard.putIndexRows(byTime, [{ id: 'stale', values: [n], version: 9 }]);
    expect(await commitNew(['stale'])).toEqual([true]);
    expect(dialect.plainBatches).toBe(4);
    expect(
      (await rows(`SELECT __version FROM by_time WHERE __id = 'stale'`)).map((r) => Number(r[0])),
    ).toEqual([9]);
    expect((await rows('SELECT count(*) FROM posts'))[0]![0]).toBe(5 + 2 * FULL_AFTER_CONFLICT + 2 + 1);
  });
});
