/**
 * The raw side on libSQL: @libsql/client on files in WAL mode, bound
 * parameters (`execute({ sql, args })`), each atomic unit one
 * `batch([...], 'write')` (a transaction).
 */
import { type Client, createClient, type InStatement, type Row } from '@libsql/client';
import type { TableNames } from '../workload/names.js';
import { type IndexHit, idCondition, list, type RawRow, shardOf } from './common.js';
import type { RawInsert, RawStore } from './side.js';

const q = (name: string) => `"${name}"`;
const RECORD_COLUMNS = 'id, body, codec, version, created_at, updated_at';

/** Opens a client on the file `path`, switched to WAL journaling as waffle's shard does. */
export async function rawClient(path: string): Promise<Client> {
  const client = createClient({ url: `file:${path}` });
  await client.execute('PRAGMA journal_mode = WAL');
  return client;
}

const toRows = (rows: readonly Row[]): RawRow[] =>
  rows.map((r) => ({
    id: String(r[0]),
    body: String(r[1]),
    version: Number(r[2]),
    createdAt: Number(r[3]),
    updatedAt: Number(r[4]),
  }));

/** The multi-row insert of records `rs` into `table`. */
function recordsStatement(table: string, rs: readonly RawInsert[], codec: string): InStatement {
  const now = Date.now();
  return {
    sql: `INSERT INTO ${q(table)} (${RECORD_COLUMNS}) VALUES ${list(rs.length, () => '(?, ?, ?, 1, ?, ?)')}`,
    args: rs.flatMap((r) => [r.id, JSON.stringify(r.value), codec, now, now]),
  };
}

/** The multi-row insert of the index rows (time, id, version 1) of `rs` into `table`. */
function insertIndexRows(table: string, rs: readonly RawInsert[]): InStatement {
  return {
    sql: `INSERT INTO ${q(table)} (time, __id, __version) VALUES ${list(rs.length, () => '(?, ?, 1)')}`,
    args: rs.flatMap((r) => [r.value.time, r.id]),
  };
}

/**
 * The store over `db` (records and the co-located index) and `others` (the
 * four files of the other index), on tables `names`.
 */
export function libsqlStore(
  db: Client,
  others: readonly Client[],
  names: TableNames,
  codec: string,
): RawStore {
  const byId = async (table: string, ids: readonly string[]) =>
    toRows(
      (
        await db.execute({
          sql: `SELECT id, body, version, created_at, updated_at FROM ${q(table)} WHERE ${idCondition(ids.length, () => '?')}`,
          args: [...ids],
        })
      ).rows,
    );
  return {
    async insert(rs) {
      await db.batch([insertIndexRows(names.time, rs), recordsStatement(names.post, rs, codec)], 'write');
    },
    async update(id, version, value, oldTime) {
      // The index statements check the new version, so that they change nothing when the compare-and-set failed.
      const [updated] = await db.batch(
        [
          {
            sql: `UPDATE ${q(names.post)} SET body = ?, version = version + 1, updated_at = ? WHERE id = ? AND version = ?`,
            args: [JSON.stringify(value), Date.now(), id, version],
          },
          {
            sql: `DELETE FROM ${q(names.time)} WHERE time = ? AND __id = ? AND EXISTS (SELECT 1 FROM ${q(names.post)} WHERE id = ? AND version = ?)`,
            args: [oldTime, id, id, version + 1],
          },
          {
            sql: `INSERT INTO ${q(names.time)} (time, __id, __version) SELECT ?, id, version FROM ${q(names.post)} WHERE id = ? AND version = ?`,
            args: [value.time, id, version + 1],
          },
        ],
        'write',
      );
      return updated!.rowsAffected === 1;
    },
    read: (ids) => byId(names.post, ids),
    async range(from, limit) {
      const { rows } = await db.execute({
        sql:
          `SELECT p.id, p.body, p.version, p.created_at, p.updated_at FROM ${q(names.time)} t JOIN ${q(names.post)} p ON p.id = t.__id ` +
          `WHERE t.time >= ? ORDER BY t.time, t.__id LIMIT ${limit}`,
        args: [from],
      });
      return toRows(rows);
    },
    otherShards: others.length,
    async rangeOther(shard, from, limit) {
      const { rows } = await others[shard]!.execute({
        sql: `SELECT time, __id FROM ${q(names.other)} WHERE time >= ? ORDER BY time, __id LIMIT ${limit}`,
        args: [from],
      });
      return rows.map((r): IndexHit => ({ time: Number(r[0]), id: String(r[1]) }));
    },
    read2: (ids) => byId(names.post2, ids),
    async insert2(rs) {
      await db.execute(recordsStatement(names.post2, rs, codec));
      await Promise.all(
        others.map((client, s) => {
          const mine = rs.filter((r) => shardOf(r.id, others.length) === s);
          return mine.length > 0 ? client.execute(insertIndexRows(names.other, mine)) : undefined;
        }),
      );
    },
    async insertRecords(table, rs) {
      await db.execute(recordsStatement(table, rs, codec));
    },
    async close() {
      for (const client of [db, ...others]) client.close();
    },
  };
}

/**
 * Copies the DDL of waffle's `tables` in the file `source` (tables and their
 * indexes, as SQLite keeps it) to `target`, names changed by `rename`.
 */
export async function cloneTables(
  source: string,
  target: Client,
  tables: readonly string[],
  rename: (ddl: string) => string,
): Promise<void> {
  const reader = createClient({ url: `file:${source}` });
  try {
    const { rows } = await reader.execute({
      sql: `SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND tbl_name IN (${list(tables.length, () => '?')}) ORDER BY type DESC`,
      args: [...tables],
    });
    await target.batch(
      rows.map((r) => rename(String(r[0]))),
      'write',
    );
  } finally {
    reader.close();
  }
}

/** Keyset-paged scan of `table` (S1): pages of `page` rows in id order. */
export async function* scanTable(client: Client, table: string, page: number): AsyncGenerator<RawRow[]> {
  let after = '';
  for (;;) {
    const { rows } = await client.execute({
      sql: `SELECT id, body, version, created_at, updated_at FROM ${q(table)} WHERE id > ? ORDER BY id LIMIT ${page}`,
      args: [after],
    });
    const out = toRows(rows);
    if (out.length > 0) yield out;
    if (out.length < page) return;
    after = out[out.length - 1]!.id;
  }
}
