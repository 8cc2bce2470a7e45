/**
 * PostgreSQL: records and the co-located index in `waffle_s0`, the other
 * index on `waffle_s1` … `waffle_s4` (WAFFLE_POSTGRES_URL); Keyv and Pongo in
 * `waffle_s0` beside them.
 */
import { json } from '@waffle/serializer-json';
import { servers, shardDatabaseUrls } from '@waffle/testkit';
import postgres from 'postgres';
import { cloneTable, indexNulls, postgresStore, rawClient } from '../raw/postgres.js';
import { keyvSide } from '../sides/keyv.js';
import { pongoSide } from '../sides/pongo.js';
import { recordTablePairs } from '../workload/names.js';
import type { Side } from '../workload/operations.js';
import { allSettled, type DialectSetup, type Peers } from './dialect.js';
import { openShard } from './shards.js';

const q = (name: string) => `"${name}"`;

/** Drops the run's tables in the database at `url`, and their metadata keys. */
async function dropRunTables(url: string, prefix: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const tables = await sql<{ tablename: string }[]>`SELECT tablename FROM pg_tables
      WHERE schemaname = current_schema() AND left(tablename, ${prefix.length}) = ${prefix}`;
    if (tables.length > 0) {
      await sql.unsafe(`DROP TABLE IF EXISTS ${tables.map((t) => q(t.tablename)).join(', ')} CASCADE`);
    }
    const [meta] = await sql<{ found: string | null }[]>`SELECT to_regclass('__waffle_meta')::text AS found`;
    if (meta?.found) await sql`DELETE FROM __waffle_meta WHERE left(key, ${prefix.length}) = ${prefix}`;
  } finally {
    await sql.end();
  }
}

/** The server's version and address (never its credentials). */
async function describe(url: string): Promise<string> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<{ v: string }[]>`SELECT current_setting('server_version') AS v`;
    const { hostname, port } = new URL(url);
    return `PostgreSQL ${row!.v.split(' ')[0]} at ${hostname}:${port}`;
  } finally {
    await sql.end();
  }
}

/** Measures a peer, or notes why it could not be. */
async function peer(name: string, open: () => Promise<Side>, peers: Peers): Promise<void> {
  try {
    peers.sides.push(await open());
  } catch (error) {
    peers.notes.push(`${name} could not be measured on this machine: ${(error as Error).message}`);
  }
}

/** The PostgreSQL setup of the run `prefix`. */
export async function postgresSetup(prefix: string): Promise<DialectSetup> {
  const urls = shardDatabaseUrls(servers.postgres).slice(0, 5);
  const server = await describe(urls[0]!);
  const [records, ...others] = await Promise.all(urls.map((url) => openShard('postgres', url)));
  return {
    dialect: 'postgres',
    server,
    shards: { records: records!, others },
    async rawStore(waffle, names) {
      const [db, ...otherDbs] = urls.map(rawClient);
      try {
        for (const [from, to] of recordTablePairs(waffle, names)) await cloneTable(db!, from, to);
        for (const sql of otherDbs) await cloneTable(sql, waffle.other, names.other);
        return postgresStore(db!, otherDbs, names, json().codec, await indexNulls(db!, names.time));
      } catch (error) {
        await Promise.all([db!, ...otherDbs].map((sql) => sql.end()));
        throw error;
      }
    },
    async peers(config, preload, pick) {
      const peers: Peers = { sides: [], notes: [] };
      await peer('Keyv', () => keyvSide(urls[0]!, `${prefix}_keyv`, config, preload, pick), peers);
      await peer('Pongo', () => pongoSide(urls[0]!, `${prefix}_pongo`, config, preload, pick), peers);
      return peers;
    },
    scanTarget: () => urls[0]!,
    async close() {
      await allSettled([records!, ...others].map((shard) => () => shard.close())).finally(() =>
        allSettled(urls.map((url) => () => dropRunTables(url, prefix))),
      );
    },
  };
}
