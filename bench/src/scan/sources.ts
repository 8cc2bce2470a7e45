/**
 * A scanned table as each side reads it: waffle's `entity.scan()` or the raw
 * driver's keyset pages, decoded. Opening imports only the scanned side's
 * driver, before the clock starts; counting is what S1 times.
 */
import { openShard } from '../dialects/shards.js';
import { decode, type RawRow } from '../raw/common.js';
import type { ScanJob } from './job.js';

/** An opened scan: `count` reads every record once. */
export interface ScanSource {
  count(): Promise<number>;
  close(): Promise<void>;
}

/** Counts the records of `pages`, decoding each. */
async function countPages(pages: AsyncIterable<RawRow[]>): Promise<number> {
  let count = 0;
  for await (const rows of pages) for (const row of rows) if (decode(row).value.time > 0) count++;
  return count;
}

/** Opens `job`'s table for its side. */
export async function openSource(job: ScanJob): Promise<ScanSource> {
  if (job.side === 'waffle') {
    const { plainEntity } = await import('../sides/entities.js');
    const shard = await openShard(job.dialect, job.target);
    const entity = plainEntity(job.table, shard);
    return {
      async count() {
        let count = 0;
        for await (const record of entity.scan({ batchSize: job.page })) if (record.value.time > 0) count++;
        return count;
      },
      close: () => shard.close(),
    };
  }
  switch (job.dialect) {
    case 'libsql': {
      const { rawClient, scanTable } = await import('../raw/libsql.js');
      const client = await rawClient(job.target);
      return {
        count: () => countPages(scanTable(client, job.table, job.page)),
        close: async () => client.close(),
      };
    }
    case 'postgres': {
      const { rawClient, scanTable } = await import('../raw/postgres.js');
      const sql = rawClient(job.target);
      return { count: () => countPages(scanTable(sql, job.table, job.page)), close: () => sql.end() };
    }
    case 'mysql': {
      const { rawPool, scanTable } = await import('../raw/mysql.js');
      const pool = rawPool(job.target);
      return { count: () => countPages(scanTable(pool, job.table, job.page)), close: () => pool.end() };
    }
  }
}
