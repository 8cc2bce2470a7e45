/**
 * The records of a scanned table, one by one, as each side reads them:
 * waffle's `entity.scan()` or the raw driver's keyset pages, decoded. Only
 * the driver of the scanned side is imported.
 */
import { openShard } from '../dialects/shards.js';
import { decode, type RawRow } from '../raw/common.js';
import type { ScanJob } from './job.js';

/** Counts the records of `job`'s table as its side reads them. */
export async function countRecords(job: ScanJob): Promise<number> {
  let count = 0;
  if (job.side === 'waffle') {
    const { scanEntity } = await import('../sides/entities.js');
    const shard = await openShard(job.dialect, job.target);
    try {
      for await (const record of scanEntity(job.table, shard).scan({ batchSize: job.page })) {
        if (record.value.time > 0) count++;
      }
    } finally {
      await shard.close();
    }
    return count;
  }
  for await (const rows of rawPages(job)) for (const row of rows) if (decode(row).value.time > 0) count++;
  return count;
}

/** The raw side's pages of `job`'s table; the connection closes when they end. */
async function* rawPages(job: ScanJob): AsyncGenerator<RawRow[]> {
  switch (job.dialect) {
    case 'libsql': {
      const { rawClient, scanTable } = await import('../raw/libsql.js');
      const client = await rawClient(job.target);
      try {
        yield* scanTable(client, job.table, job.page);
      } finally {
        client.close();
      }
      return;
    }
    case 'postgres': {
      const { rawClient, scanTable } = await import('../raw/postgres.js');
      const sql = rawClient(job.target);
      try {
        yield* scanTable(sql, job.table, job.page);
      } finally {
        await sql.end();
      }
      return;
    }
    case 'mysql': {
      const { rawPool, scanTable } = await import('../raw/mysql.js');
      const pool = rawPool(job.target);
      try {
        yield* scanTable(pool, job.table, job.page);
      } finally {
        await pool.end();
      }
      return;
    }
  }
}
