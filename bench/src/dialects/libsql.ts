/**
 * libSQL: files in a temporary directory, WAL journaling. Each side has its
 * records' file and four more for the other index; the directory goes at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { json } from '@waffle/serializer-json';
import { cloneTables, libsqlStore, rawClient } from '../raw/libsql.js';
import { recordTablePairs, toRawNames } from '../workload/names.js';
import { allSettled, type DialectSetup } from './dialect.js';
import { openShard } from './shards.js';

/** The records' file and the four other files of `side` in `dir`. */
const files = (dir: string, side: 'waffle' | 'raw') => ({
  records: join(dir, `${side}.db`),
  others: [1, 2, 3, 4].map((n) => join(dir, `${side}-other${n}.db`)),
});

/** The libSQL setup of the run `prefix`. */
export async function libsqlSetup(prefix: string): Promise<DialectSetup> {
  const dir = mkdtempSync(join(tmpdir(), 'waffle-bench-'));
  const waffleFiles = files(dir, 'waffle');
  const rawFiles = files(dir, 'raw');
  const records = await openShard('libsql', waffleFiles.records);
  const others = await Promise.all(waffleFiles.others.map((file) => openShard('libsql', file)));
  const rename = (ddl: string) => toRawNames(prefix, ddl);
  return {
    dialect: 'libsql',
    server: `@libsql/client on local files (WAL) in ${tmpdir()}`,
    shards: { records, others },
    async rawStore(waffle, names) {
      const db = await rawClient(rawFiles.records);
      const otherDbs = await Promise.all(rawFiles.others.map(rawClient));
      const store = libsqlStore(db, otherDbs, names, json().codec);
      try {
        const tables = recordTablePairs(waffle, names).map(([from]) => from);
        await cloneTables(waffleFiles.records, db, tables, rename);
        for (const [i, file] of waffleFiles.others.entries()) {
          await cloneTables(file, otherDbs[i]!, [waffle.other], rename);
        }
        return store;
      } catch (error) {
        await store.close();
        throw error;
      }
    },
    peers: async () => ({ sides: [], notes: [] }),
    scanTarget: (side) => (side === 'waffle' ? waffleFiles.records : rawFiles.records),
    async close() {
      await allSettled([records, ...others].map((shard) => () => shard.close())).finally(() =>
        rmSync(dir, { recursive: true, force: true }),
      );
    },
  };
}
