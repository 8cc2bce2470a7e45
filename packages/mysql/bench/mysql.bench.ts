/**
 * waffle (Entity over one mysqlShard) against raw mysql2 doing the same work,
 * side by side in one run, on tables of their own in the first shard database
 * (`waffle_s0` of WAFFLE_MYSQL_URL, dropped afterwards), with ~1 KB JSON
 * documents and an index on one integer.
 *
 *   npx -y pnpm@12.4.2 bench        (or `pnpm bench` in packages/mysql)
 */
import { mysqlShard } from '@waffle/mysql';
import { json } from '@waffle/serializer-json';
import {
  BENCH_SIZES,
  BENCH_TIMING,
  type BenchSide,
  compareWithRaw,
  markdownTable,
  rawBenchSide,
  servers,
  shardDatabaseUrls,
  waffleBenchSide,
} from '@waffle/testkit';
import mysql, { type ResultSetHeader } from 'mysql2/promise';

function waffleSide(url: string, suffix: string): Promise<BenchSide> {
  return waffleBenchSide(mysqlShard(url), {
    entity: `bench_${suffix}`,
    index: `bench_time_${suffix}`,
    dialect: 'mysql',
    serializer: json(),
    async close() {
      const connection = await mysql.createConnection(url);
      await connection.query(`DROP TABLE IF EXISTS \`bench_${suffix}\`, \`bench_time_${suffix}\``);
      await connection.execute('DELETE FROM __waffle_meta WHERE `key` IN (?, ?)', [
        `bench_${suffix}`,
        `bench_time_${suffix}`,
      ]);
      await connection.end();
    },
  });
}

/** `(?, ?, …), (?, ?, …)`: `rows` tuples of `width` placeholders. */
const tuples = (rows: number, width: number) =>
  Array.from({ length: rows }, () => `(${Array.from({ length: width }, () => '?').join(', ')})`).join(', ');

/** The tables waffle creates for the entity and its index (see the package README, "Storage"). */
const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC';
const TEXT = 'LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin';

async function rawSide(url: string, suffix: string): Promise<BenchSide> {
  // The pool mysqlShard(url) creates: mysql2's defaults (10 connections) and 100 prepared statements per connection.
  const pool = mysql.createPool({ uri: url, maxPreparedStatements: 100 });
  const post_ = `raw_${suffix}`;
  const time_ = `raw_time_${suffix}`;
  await pool.query(
    `CREATE TABLE \`${post_}\` (id VARBINARY(255) NOT NULL, body ${TEXT} NULL, bin LONGBLOB NULL, ` +
      'codec VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, version BIGINT NOT NULL, ' +
      `created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, note ${TEXT} NULL, pending TINYINT NULL, ` +
      `PRIMARY KEY (id), KEY __waffle_pending (pending, id)) ${TABLE_OPTIONS}`,
  );
  await pool.query(
    `CREATE TABLE \`${time_}\` (time INT NOT NULL, __id VARBINARY(255) NOT NULL, __version BIGINT NOT NULL, ` +
      `PRIMARY KEY (time, __id)) ${TABLE_OPTIONS}`,
  );
  const inList = (n: number) => Array.from({ length: n }, () => '?').join(', ');
  return rawBenchSide(
    {
      async insert(posts) {
        // Index rows and records as multi-row inserts, in one transaction, as prepared statements.
        // The records are the rows waffle stores: codec, timestamps, no note (`bin`, `note`, `pending` NULL).
        const now = Date.now();
        const connection = await pool.getConnection();
        try {
          await connection.beginTransaction();
          await connection.execute(
            `INSERT INTO \`${time_}\` (time, __id, __version) VALUES ${tuples(posts.length, 3)}`,
            posts.flatMap((p) => [p.value.time, p.id, 1]),
          );
          await connection.execute(
            `INSERT INTO \`${post_}\` (id, body, codec, version, created_at, updated_at) VALUES ${tuples(posts.length, 6)}`,
            posts.flatMap((p) => [p.id, JSON.stringify(p.value), 'json', 1, now, now]),
          );
          await connection.commit();
        } catch (error) {
          await connection.rollback().catch(() => {});
          throw error;
        } finally {
          connection.release();
        }
      },
      async read(ids) {
        const [rows] = await pool.execute<mysql.RowDataPacket[]>(
          {
            sql: `SELECT id, body, version FROM \`${post_}\` WHERE id IN (${inList(ids.length)})`,
            rowsAsArray: true,
          },
          [...ids],
        );
        // `id` is binary (a Buffer), `body` text, `version` a BIGINT.
        return rows.map((r) => ({ id: String(r[0]), body: String(r[1]), version: Number(r[2]) }));
      },
      async range(from, limit) {
        // The row count bound as a decimal string, as the adapter does (MySQL 8 refuses a double in LIMIT).
        const [rows] = await pool.execute<mysql.RowDataPacket[]>(
          {
            sql: `SELECT __id FROM \`${time_}\` WHERE time >= ? ORDER BY time, __id LIMIT ?`,
            rowsAsArray: true,
          },
          [from, String(limit)],
        );
        return rows.map((r) => String(r[0]));
      },
      async update(id, version, body) {
        // mysql2 sets CLIENT_FOUND_ROWS: affectedRows counts the rows matched.
        const [result] = await pool.execute<ResultSetHeader>(
          `UPDATE \`${post_}\` SET body = ?, version = version + 1, updated_at = ? WHERE id = ? AND version = ?`,
          [body, Date.now(), id, version],
        );
        return result.affectedRows;
      },
      async close() {
        await pool.query(`DROP TABLE IF EXISTS \`${post_}\`, \`${time_}\``);
        await pool.end();
      },
    },
    'mysql',
  );
}

/** `VERSION()` of the server (e.g. `10.11.6-MariaDB`) and the size of its InnoDB buffer pool. */
async function serverInfo(url: string): Promise<{ version: string; bufferPoolBytes: number }> {
  const connection = await mysql.createConnection(url);
  try {
    const [rows] = await connection.query<mysql.RowDataPacket[]>(
      'SELECT VERSION() AS version, @@innodb_buffer_pool_size AS pool',
    );
    return { version: String(rows[0]?.version), bufferPoolBytes: Number(rows[0]?.pool) };
  } finally {
    await connection.end();
  }
}

/** Bytes a benchmark document takes in the two tables (record, pending key, index row), about. */
const DOC_BYTES = 1.4 * 1024;

/**
 * The two sides, counting the documents each stores, and evened out before
 * the first read. The write measurements run each side for the same time, so
 * the faster one stores more, and the side written last has its pages in
 * InnoDB's buffer pool (new pages go to the young end of its LRU list, where
 * random reads, entering at the midpoint, do not displace them). When the
 * tables outgrow the buffer pool, both make a side's reads go to disk less
 * often than the other's. So before the first read, the side with fewer
 * documents is brought up to the other's count (batches, then single saves),
 * and then, if both tables do not fit in `bufferPoolBytes`, both sides get
 * batches in turn until they have written that much, leaving the cache to
 * neither side.
 */
function levelled(
  raw: BenchSide,
  waffle: BenchSide,
  bufferPoolBytes: number,
): { sides: [BenchSide, BenchSide]; stored: number[] } {
  const inner = [raw, waffle];
  const stored = [0, 0];
  let done = false; // compareWithRaw runs one operation at a time
  const level = async () => {
    const [less, more] = stored[0]! < stored[1]! ? [0, 1] : [1, 0];
    const side = inner[less]!;
    while (stored[more]! - stored[less]! >= BENCH_SIZES.batch) {
      await side.insertBatch();
      stored[less]! += BENCH_SIZES.batch;
    }
    while (stored[less]! < stored[more]!) {
      await side.saveOne();
      stored[less]!++;
    }
    if (2 * stored[0]! * DOC_BYTES > bufferPoolBytes) {
      const rounds = Math.ceil(bufferPoolBytes / (2 * BENCH_SIZES.batch * DOC_BYTES));
      for (let round = 0; round < rounds; round++) {
        for (const [i, side] of inner.entries()) {
          await side.insertBatch();
          stored[i]! += BENCH_SIZES.batch;
        }
      }
    }
    done = true;
  };
  const wrap = (side: BenchSide, i: number): BenchSide => {
    const read = (op: () => Promise<void>) => async () => {
      if (!done) await level();
      await op();
    };
    return {
      async saveOne() {
        await side.saveOne();
        stored[i]!++;
      },
      async insertBatch() {
        await side.insertBatch();
        stored[i]! += BENCH_SIZES.batch;
      },
      getOne: read(() => side.getOne()),
      getMany: read(() => side.getMany()),
      range: read(() => side.range()),
      updateOne: read(() => side.updateOne()),
      close: () => side.close(),
    };
  };
  return { sides: [wrap(raw, 0), wrap(waffle, 1)], stored };
}

const mib = (bytes: number) => Math.round(bytes / 2 ** 20).toLocaleString('en-US');

async function main(): Promise<void> {
  const url = shardDatabaseUrls(servers.mysql)[0]!;
  const { version, bufferPoolBytes } = await serverInfo(url);
  const suffix = `${process.pid}_${Date.now().toString(36)}`;
  const sides: BenchSide[] = [];
  try {
    sides.push(await rawSide(url, suffix), await waffleSide(url, suffix));
    const { sides: compared, stored } = levelled(sides[0]!, sides[1]!, bufferPoolBytes);
    const rows = await compareWithRaw(...compared);
    console.log(
      `MySQL (${version}, ${url}), ~1 KB JSON, median of ${BENCH_TIMING.rounds} rounds of ${BENCH_TIMING.roundMs / 1000} s (Node ${process.version})`,
    );
    console.log(markdownTable(rows));
    console.log(
      "raw: mysql2 pool (as the adapter makes it), prepared statements (`execute`), tables laid out as waffle's;\n" +
        'writes = START TRANSACTION, a multi-row INSERT of the index rows, one of the records, COMMIT;\n' +
        'reads by `id IN (...)`; range = index-table range query, then the records by `id IN (...)`;\n' +
        'update = read, then compare-and-set UPDATE.\n' +
        `Reads start with ${stored[0]!.toLocaleString('en-US')} documents on each side (~${mib(stored[0]! * DOC_BYTES)} MiB), evened out\n` +
        `after the writes (the side with fewer topped up${2 * stored[0]! * DOC_BYTES > bufferPoolBytes ? ', then both written to in turn' : ''}); InnoDB buffer pool ${mib(bufferPoolBytes)} MiB` +
        (2 * stored[0]! * DOC_BYTES > bufferPoolBytes
          ? `:\nthe tables do not fit in it, so many reads wait on the disk (a pool over ${mib(2 * stored[0]! * DOC_BYTES)} MiB would hold them).`
          : '.'),
    );
  } finally {
    for (const side of sides) await side.close();
  }
}

await main();
