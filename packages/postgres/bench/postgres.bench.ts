/**
 * waffle (Entity over one postgresShard) against raw postgres.js doing the
 * same work, side by side in one run, on tables of their own in the first
 * shard database (`waffle_s0` of WAFFLE_POSTGRES_URL, dropped afterwards),
 * with ~1 KB JSON documents and an index on one integer.
 *
 *   npx -y pnpm@12.4.2 bench        (or `pnpm bench` in packages/postgres)
 */
import { postgresShard } from '@waffle/postgres';
import { json } from '@waffle/serializer-json';
import {
  BENCH_TIMING,
  type BenchSide,
  compareWithRaw,
  markdownTable,
  rawBenchSide,
  servers,
  shardDatabaseUrls,
  waffleBenchSide,
} from '@waffle/testkit';
import postgres from 'postgres';

function waffleSide(url: string, suffix: string): Promise<BenchSide> {
  return waffleBenchSide(postgresShard({ url, max: 4 }), {
    entity: `bench_${suffix}`,
    index: `bench_time_${suffix}`,
    dialect: 'postgres',
    serializer: json(),
    async close() {
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      await sql.unsafe(`DROP TABLE IF EXISTS "bench_${suffix}", "bench_time_${suffix}"`);
      await sql.unsafe('DELETE FROM __waffle_meta WHERE key IN ($1, $2)', [
        `bench_${suffix}`,
        `bench_time_${suffix}`,
      ]);
      await sql.end();
    },
  });
}

async function rawSide(url: string, suffix: string): Promise<BenchSide> {
  const sql = postgres(url, { max: 4, onnotice: () => {} });
  const post_ = `raw_${suffix}`;
  const time_ = `raw_time_${suffix}`;
  await sql.unsafe(
    `CREATE TABLE "${post_}" (id text COLLATE "C" PRIMARY KEY, body text NOT NULL, version int8 NOT NULL)`,
  );
  await sql.unsafe(
    `CREATE TABLE "${time_}" (time int4 NOT NULL, id text COLLATE "C" NOT NULL, version int8 NOT NULL, PRIMARY KEY (time, id))`,
  );
  return rawBenchSide(
    {
      async insert(posts) {
        // Index rows and records as multi-row inserts, in one transaction, as prepared statements.
        await sql.begin(async (tx) => {
          await tx`INSERT INTO ${tx(time_)} ${tx(posts.map((p) => ({ time: p.value.time, id: p.id, version: 1 })))}`;
          await tx`INSERT INTO ${tx(post_)} ${tx(posts.map((p) => ({ id: p.id, body: JSON.stringify(p.value), version: 1 })))}`;
        });
      },
      async read(ids) {
        const rows =
          await sql`SELECT id, body, version FROM ${sql(post_)} WHERE id IN ${sql(ids as string[])}`;
        return rows.map((r) => ({ id: String(r.id), body: String(r.body), version: Number(r.version) }));
      },
      async range(from, limit) {
        const rows =
          await sql`SELECT id FROM ${sql(time_)} WHERE time >= ${from} ORDER BY time, id LIMIT ${limit}`;
        return rows.map((r) => String(r.id));
      },
      async update(id, version, body) {
        const result =
          await sql`UPDATE ${sql(post_)} SET body = ${body}, version = version + 1 WHERE id = ${id} AND version = ${version}`;
        return result.count;
      },
      async close() {
        await sql.unsafe(`DROP TABLE IF EXISTS "${post_}", "${time_}"`);
        await sql.end();
      },
    },
    'postgres',
  );
}

async function main(): Promise<void> {
  const url = shardDatabaseUrls(servers.postgres)[0]!;
  const suffix = `${process.pid}_${Date.now().toString(36)}`;
  const sides: BenchSide[] = [];
  try {
    sides.push(await rawSide(url, suffix), await waffleSide(url, suffix));
    const rows = await compareWithRaw(sides[0]!, sides[1]!);
    console.log(
      `PostgreSQL (${url}), ~1 KB JSON, median of ${BENCH_TIMING.rounds} rounds of ${BENCH_TIMING.roundMs / 1000} s (Node ${process.version})`,
    );
    console.log(markdownTable(rows));
    console.log(
      'raw: postgres.js tagged templates (prepared); writes as multi-row INSERTs of index rows and records in one\n' +
        'transaction; range = index-table range query, then the records by `id IN (...)`; update = read, then\n' +
        'compare-and-set UPDATE.',
    );
  } finally {
    for (const side of sides) await side.close();
  }
}

await main();
