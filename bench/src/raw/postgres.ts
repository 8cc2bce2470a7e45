/**
 * The raw side on PostgreSQL: postgres.js, every statement prepared
 * (`unsafe(text, params, { prepare: true })`, the text built once per shape),
 * each atomic unit one statement (data-modifying CTEs).
 */
import postgres from 'postgres';
import type { TableNames } from '../workload/names.js';
import { type IndexHit, idCondition, list, type RawRow, shardOf } from './common.js';
import type { RawInsert, RawStore } from './side.js';

type Sql = postgres.Sql;

const q = (name: string) => `"${name}"`;
const RECORD_COLUMNS = 'id, body, codec, version, created_at, updated_at';

/** Opens a postgres.js client like the one the waffle side's shard opens. */
export function rawClient(url: string): Sql {
  return postgres(url, { max: 4, onnotice: () => {} });
}

/**
 * Runs a prepared statement, its text built once per `key`; rows come as
 * arrays (`values()`), which spares postgres.js an object per row.
 */
function prepared(sql: Sql) {
  const texts = new Map<string, string>();
  return (key: string, build: () => string, params: unknown[]): Promise<unknown[][]> => {
    let text = texts.get(key);
    if (text === undefined) {
      text = build();
      texts.set(key, text);
    }
    return sql
      .unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare: true })
      .values()
      .then(movedOut);
  };
}

/**
 * The rows of a finished query, moved out of postgres.js's result array
 * (left empty), as waffle's PostgreSQL driver does: V8 keeps a postgres.js
 * query alive across young collections while the code that awaited it runs
 * unoptimized, and with it every row it read (BENCHMARKS.md, "PostgreSQL
 * Q1"). The raw side does it too, so that a ratio measures waffle's code,
 * not which side's functions V8 has optimized yet.
 */
function movedOut(rows: unknown[][]): unknown[][] {
  const moved: unknown[][] = new Array(rows.length);
  for (let i = 0; i < moved.length; i++) moved[i] = rows[i]!;
  rows.length = 0;
  return moved;
}

/** Rows of `id, body, version` (a BIGINT, which postgres.js reads as a string). */
const toRows = (rows: readonly unknown[][]): RawRow[] =>
  rows.map((r) => ({
    id: r[0] as string,
    body: r[1] as string,
    version: Number(r[2]),
    createdAt: Number(r[3]),
    updatedAt: Number(r[4]),
  }));

/** Record tuples `($k, $k+1, $1, 1, $2, $2)` after the shared codec ($1) and time ($2) parameters. */
const recordTuples = (n: number, first: number) =>
  list(n, (i) => `($${first + 2 * i}, $${first + 2 * i + 1}, $1, 1, $2, $2)`);

/**
 * How the raw side's ORDER BY must name the index order, ` NULLS FIRST` or
 * nothing: as the unique index of index table `table` sorts. A query whose
 * NULLS order differs from its index's cannot read the index in order, and
 * sorts every matching row instead of stopping after the first 100.
 */
export async function indexNulls(sql: Sql, table: string): Promise<string> {
  const [row] = await sql<{ first: boolean | null }[]>`SELECT bool_or((i.indoption[0] & 2) <> 0) AS first
    FROM pg_index i WHERE i.indrelid = ${q(table)}::regclass AND i.indisunique`;
  return row?.first ? ' NULLS FIRST' : '';
}

/**
 * The store over `db` (records and the co-located index) and `others` (the
 * four databases of the other index), on tables `names`; `nulls` is what
 * {@link indexNulls} found for the index tables.
 */
export function postgresStore(
  db: Sql,
  others: readonly Sql[],
  names: TableNames,
  codec: string,
  nulls: string,
): RawStore {
  const run = prepared(db);
  const runOn = others.map(prepared);
  const records = (rs: readonly RawInsert[]) => [
    codec,
    Date.now(),
    ...rs.flatMap((r) => [r.id, JSON.stringify(r.value)]),
  ];
  /** Records and their index rows in one statement: the index rows reuse the records' id parameters. */
  const insertWithIndex = (table: string, index: string, rs: readonly RawInsert[]) => {
    const n = rs.length;
    return run(
      `insert:${table}:${n}`,
      () =>
        `WITH r AS (INSERT INTO ${q(table)} (${RECORD_COLUMNS}) VALUES ${recordTuples(n, 3)}) ` +
        `INSERT INTO ${q(index)} (time, __id, __version) VALUES ${list(n, (i) => `($${3 + 2 * n + i}, $${3 + 2 * i}, 1)`)}`,
      [...records(rs), ...rs.map((r) => r.value.time)],
    );
  };
  const byId = (table: string, ids: readonly string[]) =>
    run(
      `read:${table}:${ids.length}`,
      () =>
        `SELECT id, body, version, created_at, updated_at FROM ${q(table)} WHERE ${idCondition(ids.length, (i) => `$${i + 1}`)}`,
      [...ids],
    ).then(toRows);
  return {
    async insert(rs) {
      await insertWithIndex(names.post, names.time, rs);
    },
    async update(id, version, value, oldTime) {
      const [row] = await run(
        'update',
        () =>
          `WITH u AS (UPDATE ${q(names.post)} SET body = $1, version = version + 1, updated_at = $2 ` +
          'WHERE id = $3 AND version = $4 RETURNING id, version), ' +
          `d AS (DELETE FROM ${q(names.time)} WHERE time = $5 AND __id = $3 AND EXISTS (SELECT 1 FROM u)), ` +
          `i AS (INSERT INTO ${q(names.time)} (time, __id, __version) SELECT $6, id, version FROM u) ` +
          'SELECT count(*)::int AS n FROM u',
        [JSON.stringify(value), Date.now(), id, version, oldTime, value.time],
      );
      return row?.[0] === 1;
    },
    read: (ids) => byId(names.post, ids),
    async range(from, limit) {
      const rows = await run(
        `range:${limit}`,
        () =>
          `SELECT p.id, p.body, p.version, p.created_at, p.updated_at FROM ${q(names.time)} t JOIN ${q(names.post)} p ON p.id = t.__id ` +
          `WHERE t.time >= $1 ORDER BY t.time${nulls}, t.__id${nulls} LIMIT ${limit}`,
        [from],
      );
      return toRows(rows);
    },
    otherShards: others.length,
    async rangeOther(shard, from, limit) {
      const rows = await runOn[shard]!(
        `other:${limit}`,
        () =>
          `SELECT time, __id FROM ${q(names.other)} WHERE time >= $1 ORDER BY time${nulls}, __id${nulls} LIMIT ${limit}`,
        [from],
      );
      return rows.map((r): IndexHit => ({ time: r[0] as number, id: r[1] as string }));
    },
    read2: (ids) => byId(names.post2, ids),
    async insert2(rs) {
      await run(
        `insert2:${rs.length}`,
        () => `INSERT INTO ${q(names.post2)} (${RECORD_COLUMNS}) VALUES ${recordTuples(rs.length, 3)}`,
        records(rs),
      );
      await Promise.all(
        others.map((sql, s) => {
          const mine = rs.filter((r) => shardOf(r.id, others.length) === s);
          if (mine.length === 0) return undefined;
          return sql.unsafe(
            `INSERT INTO ${q(names.other)} (time, __id, __version) VALUES ${list(mine.length, (i) => `($${2 * i + 1}, $${2 * i + 2}, 1)`)}`,
            mine.flatMap((r) => [r.value.time, r.id]),
          );
        }),
      );
    },
    async insertRecords(table, rs) {
      await run(
        `scan:${table}:${rs.length}`,
        () => `INSERT INTO ${q(table)} (${RECORD_COLUMNS}) VALUES ${recordTuples(rs.length, 3)}`,
        records(rs),
      );
    },
    async close() {
      await Promise.all([db, ...others].map((sql) => sql.end()));
    },
  };
}

/** Copies the DDL of waffle's table `from` (columns, keys, indexes) to a new table `to`, on the same database. */
export async function cloneTable(sql: Sql, from: string, to: string): Promise<void> {
  await sql.unsafe(`CREATE TABLE ${q(to)} (LIKE ${q(from)} INCLUDING ALL)`);
}

/** Keyset-paged scan of `table` (S1): pages of `page` rows in id order. */
export async function* scanTable(sql: Sql, table: string, page: number): AsyncGenerator<RawRow[]> {
  let after = '';
  for (;;) {
    const rows = toRows(
      await sql
        .unsafe(
          `SELECT id, body, version, created_at, updated_at FROM ${q(table)} WHERE id > $1 ORDER BY id LIMIT ${page}`,
          [after],
          {
            prepare: true,
          },
        )
        .values()
        .then(movedOut),
    );
    if (rows.length > 0) yield rows;
    if (rows.length < page) return;
    after = rows[rows.length - 1]!.id;
  }
}
