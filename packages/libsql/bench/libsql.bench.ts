/**
 * waffle (Entity over one libsqlShard) against the raw @libsql/client doing the
 * same work, side by side in one run, each on its own temporary `file:`
 * database in WAL mode, with ~1 KB JSON documents and an index on one integer.
 *
 *   npx -y pnpm@12.4.2 bench        (or `pnpm bench` in packages/libsql)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { libsqlShard } from '@waffle/libsql';
import { json } from '@waffle/serializer-json';
import {
  BENCH_TIMING,
  type BenchSide,
  compareWithRaw,
  markdownTable,
  rawBenchSide,
  waffleBenchSide,
} from '@waffle/testkit';

function waffleSide(file: string): Promise<BenchSide> {
  return waffleBenchSide(libsqlShard({ url: `file:${file}` }), {
    entity: 'post',
    index: 'post_time',
    dialect: 'libsql',
    serializer: json(),
  });
}

async function rawSide(file: string): Promise<BenchSide> {
  const client = createClient({ url: `file:${file}` });
  await client.execute('PRAGMA journal_mode = WAL');
  await client.batch(
    [
      'CREATE TABLE post (id TEXT PRIMARY KEY, body TEXT NOT NULL, version INTEGER NOT NULL)',
      'CREATE TABLE post_time (time INTEGER NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (time, id))',
    ],
    'write',
  );
  const tuples = (rows: number) => Array.from({ length: rows }, () => '(?, ?, ?)').join(', ');
  return rawBenchSide(
    {
      async insert(posts) {
        await client.batch(
          [
            {
              sql: `INSERT INTO post_time (time, id, version) VALUES ${tuples(posts.length)}`,
              args: posts.flatMap((p) => [p.value.time, p.id, 1]),
            },
            {
              sql: `INSERT INTO post (id, body, version) VALUES ${tuples(posts.length)}`,
              args: posts.flatMap((p) => [p.id, JSON.stringify(p.value), 1]),
            },
          ],
          'write',
        );
      },
      async read(ids) {
        const { rows } = await client.execute({
          sql: `SELECT id, body, version FROM post WHERE id IN (${ids.map(() => '?').join(', ')})`,
          args: [...ids],
        });
        return rows.map((r) => ({ id: String(r[0]), body: String(r[1]), version: Number(r[2]) }));
      },
      async range(from, limit) {
        const { rows } = await client.execute({
          sql: 'SELECT id FROM post_time WHERE time >= ? ORDER BY time, id LIMIT ?',
          args: [from, limit],
        });
        return rows.map((r) => String(r[0]));
      },
      async update(id, version, body) {
        const result = await client.execute({
          sql: 'UPDATE post SET body = ?, version = version + 1 WHERE id = ? AND version = ?',
          args: [body, id, version],
        });
        return result.rowsAffected;
      },
      close: async () => client.close(),
    },
    'libsql',
  );
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'waffle-bench-'));
  const sides: BenchSide[] = [];
  try {
    sides.push(await rawSide(join(dir, 'raw.db')), await waffleSide(join(dir, 'waffle.db')));
    const rows = await compareWithRaw(sides[0]!, sides[1]!);
    console.log(
      `libSQL file, WAL, ~1 KB JSON, median of ${BENCH_TIMING.rounds} rounds of ${BENCH_TIMING.roundMs / 1000} s (Node ${process.version})`,
    );
    console.log(markdownTable(rows));
    console.log(
      'raw: writes as multi-row INSERTs of index rows and records in one batch transaction;\n' +
        'range = index-table range query, then the records by `id IN (...)`; update = read, then compare-and-set UPDATE.',
    );
  } finally {
    for (const side of sides) await side.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
