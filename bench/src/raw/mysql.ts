/**
 * The raw side on MySQL/MariaDB: mysql2 pools, every statement a server-side
 * prepared statement (`execute`), each atomic unit a transaction on one
 * pooled connection (START TRANSACTION, the statements, COMMIT).
 */
import mysql, {
  type Pool,
  type PoolConnection,
  type ResultSetHeader,
  type RowDataPacket,
} from 'mysql2/promise';
import type { TableNames } from '../workload/names.js';
import { type IndexHit, idCondition, list, type RawRow, shardOf } from './common.js';
import type { RawInsert, RawStore } from './side.js';

const q = (name: string) => `\`${name}\``;
const RECORD_COLUMNS = 'id, body, codec, version, created_at, updated_at';

/** Opens a pool like the one mysqlShard(url) opens: mysql2's defaults, 100 prepared statements per connection. */
export function rawPool(url: string): Pool {
  return mysql.createPool({ uri: url, maxPreparedStatements: 100 });
}

/** `id` is binary (a Buffer), `body` text, `version` a BIGINT. */
const toRows = (rows: readonly unknown[][]): RawRow[] =>
  rows.map((r) => ({
    id: String(r[0]),
    body: String(r[1]),
    version: Number(r[2]),
    createdAt: Number(r[3]),
    updatedAt: Number(r[4]),
  }));

/** Selects rows as arrays, as prepared statements. */
async function select(pool: Pool | PoolConnection, sql: string, params: unknown[]): Promise<unknown[][]> {
  const [rows] = await pool.execute<RowDataPacket[]>({ sql, rowsAsArray: true }, params as never[]);
  return rows as unknown as unknown[][];
}

/** Runs `work` in a transaction on one connection of `pool`. */
async function transaction<T>(pool: Pool, work: (c: PoolConnection) => Promise<T>): Promise<T> {
  const connection = await pool.getConnection();
  try {
    await connection.beginTransaction();
    const result = await work(connection);
    await connection.commit();
    return result;
  } catch (error) {
    await connection.rollback().catch(() => {});
    throw error;
  } finally {
    connection.release();
  }
}

const recordsInsert = (table: string, n: number) =>
  `INSERT INTO ${q(table)} (${RECORD_COLUMNS}) VALUES ${list(n, () => '(?, ?, ?, 1, ?, ?)')}`;
const recordParams = (rs: readonly RawInsert[], codec: string, now = Date.now()) =>
  rs.flatMap((r) => [r.id, JSON.stringify(r.value), codec, now, now]);
const indexInsert = (table: string, n: number) =>
  `INSERT INTO ${q(table)} (time, __id, __version) VALUES ${list(n, () => '(?, ?, 1)')}`;
const indexParams = (rs: readonly RawInsert[]) => rs.flatMap((r) => [r.value.time, r.id]);

/**
 * The store over `db` (records and the co-located index) and `others` (the
 * four databases of the other index), on tables `names`.
 */
export function mysqlStore(db: Pool, others: readonly Pool[], names: TableNames, codec: string): RawStore {
  const byId = async (table: string, ids: readonly string[]) =>
    toRows(
      await select(
        db,
        `SELECT id, body, version, created_at, updated_at FROM ${q(table)} WHERE ${idCondition(ids.length, () => '?')}`,
        [...ids],
      ),
    );
  return {
    async insert(rs) {
      await transaction(db, async (c) => {
        await c.execute(indexInsert(names.time, rs.length), indexParams(rs));
        await c.execute(recordsInsert(names.post, rs.length), recordParams(rs, codec));
      });
    },
    update(id, version, value, oldTime) {
      return transaction(db, async (c) => {
        const [updated] = await c.execute<ResultSetHeader>(
          `UPDATE ${q(names.post)} SET body = ?, version = version + 1, updated_at = ? WHERE id = ? AND version = ?`,
          [JSON.stringify(value), Date.now(), id, version],
        );
        if (updated.affectedRows !== 1) return false; // the commit of nothing
        await c.execute(`DELETE FROM ${q(names.time)} WHERE time = ? AND __id = ?`, [oldTime, id]);
        await c.execute(indexInsert(names.time, 1), [value.time, id]);
        return true;
      });
    },
    read: (ids) => byId(names.post, ids),
    async range(from, limit) {
      return toRows(
        await select(
          db,
          `SELECT p.id, p.body, p.version, p.created_at, p.updated_at FROM ${q(names.time)} t JOIN ${q(names.post)} p ON p.id = t.__id ` +
            `WHERE t.time >= ? ORDER BY t.time, t.__id LIMIT ${limit}`,
          [from],
        ),
      );
    },
    otherShards: others.length,
    async rangeOther(shard, from, limit) {
      const rows = await select(
        others[shard]!,
        `SELECT time, __id FROM ${q(names.other)} WHERE time >= ? ORDER BY time, __id LIMIT ${limit}`,
        [from],
      );
      return rows.map((r): IndexHit => ({ time: Number(r[0]), id: String(r[1]) }));
    },
    read2: (ids) => byId(names.post2, ids),
    async insert2(rs) {
      await db.execute(recordsInsert(names.post2, rs.length), recordParams(rs, codec));
      await Promise.all(
        others.map((pool, s) => {
          const mine = rs.filter((r) => shardOf(r.id, others.length) === s);
          return mine.length > 0
            ? pool.execute(indexInsert(names.other, mine.length), indexParams(mine))
            : undefined;
        }),
      );
    },
    async insertRecords(table, rs) {
      await db.execute(recordsInsert(table, rs.length), recordParams(rs, codec));
    },
    async close() {
      await Promise.all([db, ...others].map((pool) => pool.end()));
    },
  };
}

/** Copies the DDL of waffle's table `from` (columns, keys, indexes, options) to a new table `to`. */
export async function cloneTable(pool: Pool, from: string, to: string): Promise<void> {
  await pool.query(`CREATE TABLE ${q(to)} LIKE ${q(from)}`);
}

/** Keyset-paged scan of `table` (S1): pages of `page` rows in id order. */
export async function* scanTable(pool: Pool, table: string, page: number): AsyncGenerator<RawRow[]> {
  let after: unknown = '';
  for (;;) {
    const rows = await select(
      pool,
      `SELECT id, body, version, created_at, updated_at FROM ${q(table)} WHERE id > ? ORDER BY id LIMIT ${page}`,
      [after],
    );
    if (rows.length > 0) yield toRows(rows);
    if (rows.length < page) return;
    after = rows[rows.length - 1]![0]; // the binary id as it came
  }
}
