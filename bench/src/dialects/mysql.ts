/**
 * MySQL/MariaDB: records and the co-located index in `waffle_s0`, the other
 * index on `waffle_s1` … `waffle_s4` (WAFFLE_MYSQL_URL). No peers.
 */
import { json } from '@waffle/serializer-json';
import { servers, shardDatabaseUrls } from '@waffle/testkit';
import mysql, { type RowDataPacket } from 'mysql2/promise';
import { cloneTable, mysqlStore, rawPool } from '../raw/mysql.js';
import { recordTablePairs } from '../workload/names.js';
import { allSettled, type DialectSetup } from './dialect.js';
import { openShard } from './shards.js';

const q = (name: string) => `\`${name}\``;

/** Drops the run's tables in the database at `url`, and their metadata keys. */
async function dropRunTables(url: string, prefix: string): Promise<void> {
  const connection = await mysql.createConnection(url);
  try {
    const [tables] = await connection.execute<RowDataPacket[]>(
      'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() AND LEFT(table_name, ?) = ?',
      [prefix.length, prefix],
    );
    const names = tables.map((t) => String(t.name));
    if (names.length > 0) await connection.query(`DROP TABLE IF EXISTS ${names.map(q).join(', ')}`);
    const [meta] = await connection.query<RowDataPacket[]>("SHOW TABLES LIKE '\\_\\_waffle\\_meta'");
    if (meta.length > 0) {
      await connection.execute('DELETE FROM __waffle_meta WHERE LEFT(`key`, ?) = ?', [prefix.length, prefix]);
    }
  } finally {
    await connection.end();
  }
}

/** The server's version and address (never its credentials). */
async function describe(url: string): Promise<string> {
  const connection = await mysql.createConnection(url);
  try {
    const [rows] = await connection.query<RowDataPacket[]>(
      'SELECT VERSION() AS v, @@innodb_buffer_pool_size AS pool',
    );
    const { hostname, port } = new URL(url);
    const pool = Math.round(Number(rows[0]!.pool) / 2 ** 20);
    return `${String(rows[0]!.v)} at ${hostname}:${port} (InnoDB buffer pool ${pool} MiB)`;
  } finally {
    await connection.end();
  }
}

/** The MySQL setup of the run `prefix`. */
export async function mysqlSetup(prefix: string): Promise<DialectSetup> {
  const urls = shardDatabaseUrls(servers.mysql).slice(0, 5);
  const server = await describe(urls[0]!);
  const [records, ...others] = await Promise.all(urls.map((url) => openShard('mysql', url)));
  return {
    dialect: 'mysql',
    server,
    shards: { records: records!, others },
    async rawStore(waffle, names) {
      const [db, ...otherDbs] = urls.map(rawPool);
      const store = mysqlStore(db!, otherDbs, names, json().codec);
      try {
        for (const [from, to] of recordTablePairs(waffle, names)) {
          await cloneTable(db!, from, to);
        }
        for (const pool of otherDbs) await cloneTable(pool, waffle.other, names.other);
        return store;
      } catch (error) {
        await store.close();
        throw error;
      }
    },
    peers: async () => ({ sides: [], notes: [] }),
    scanTarget: () => urls[0]!,
    async close() {
      await allSettled([records!, ...others].map((shard) => () => shard.close())).finally(() =>
        allSettled(urls.map((url) => () => dropRunTables(url, prefix))),
      );
    },
  };
}
