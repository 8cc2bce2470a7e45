/**
 * Creates tables and reads and writes the metadata table in which each shard
 * remembers its identity. DDL runs in one transaction holding an advisory
 * lock, because `CREATE TABLE IF NOT EXISTS` run at the same moment by two
 * sessions can still fail in PostgreSQL (a unique violation on `pg_type`).
 */
import { META_TABLE, QueryError, type TableSpec } from '@waffle/core';
import { chunks } from '@waffle/sql';
import { eq, type SQL, sql } from 'drizzle-orm';
import {
  builder,
  closedError,
  driverError,
  Executor,
  type ShardState,
  type Statement,
  statementOf,
  Template,
} from './postgres-exec.js';
import type { PostgresClient } from './postgres-options.js';
import {
  createMetaTableSql,
  createTableSql,
  keyName,
  metaTable,
  missingRelationsSql,
} from './postgres-tables.js';
import { arrayLiteral } from './postgres-values.js';

/** The advisory lock (two int4 keys: 'wafl' as a big-endian int4, and 1) that serializes waffle's DDL on one database. */
const DDL_LOCK = sql`SELECT pg_advisory_xact_lock(2002871916, 1)`;

/** SQLSTATEs of a lost race between two creators: unique violation, duplicate table, object or schema. */
const RACE = new Set(['23505', '42P07', '42710', '42P06']);

function stateOf(error: unknown): string | undefined {
  const cause = (error as { cause?: unknown }).cause;
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Runs a query in the DDL transaction and returns its rows as arrays. */
type Query = (query: SQL) => Promise<ArrayLike<unknown>[]>;

/**
 * DDL statements, or a plan that decides them by querying the catalog in the
 * DDL transaction, under the lock.
 */
type Ddl = readonly SQL[] | ((query: Query) => Promise<readonly SQL[]>);

/**
 * Runs DDL statements in one transaction under the DDL advisory lock, with
 * notices ("already exists, skipping") silenced; retried once if it still
 * lost a race (with a creator that does not take the lock).
 */
async function runDdl(client: PostgresClient, state: ShardState, ddl: Ddl): Promise<void> {
  const setup = [sql`SET LOCAL client_min_messages TO warning`, DDL_LOCK].map(statementOf);
  for (let attempt = 1; ; attempt++) {
    if (state.closed) throw closedError(state, setup[1]!);
    let current: Statement = { sql: 'BEGIN', params: [] };
    try {
      await client.begin(async (tx) => {
        const run = async (statement: Statement) => {
          current = statement;
          return tx.unsafe(statement.sql, statement.params as any[]).values();
        };
        for (const statement of setup) await run(statement);
        const statements = typeof ddl === 'function' ? await ddl((query) => run(statementOf(query))) : ddl;
        for (const statement of statements) await run(statementOf(statement));
        current = { sql: 'COMMIT', params: [] };
      });
      return;
    } catch (error) {
      const wrapped = driverError(state, current, error);
      if (attempt >= 2 || !RACE.has(stateOf(wrapped) ?? '')) throw wrapped;
    }
  }
}

/**
 * Creates every table of `specs` that does not exist yet, and the metadata
 * table; adds to an entity table of an earlier version the columns and index
 * it lacks. An entity table whose notes index exists is complete and left
 * alone (its DDL would lock it against readers for nothing).
 */
export async function createTables(
  client: PostgresClient,
  state: ShardState,
  specs: readonly TableSpec[],
): Promise<void> {
  const notes = (spec: TableSpec) => keyName('pending', spec.name);
  const entities = specs.filter((spec) => spec.kind === 'entity');
  await runDdl(client, state, async (query) => {
    const missing = new Set<string>();
    if (entities.length > 0) {
      for (const row of await query(missingRelationsSql(entities.map(notes)))) missing.add(String(row[0]));
    }
    const wanted = specs.filter((spec) => spec.kind !== 'entity' || missing.has(notes(spec)));
    return [...wanted.flatMap(createTableSql), createMetaTableSql()];
  });
}

/** True for the error of a statement on a table that does not exist (SQLSTATE 42P01). */
function missingTable(error: unknown): boolean {
  return stateOf(error) === '42P01';
}

/** Reads metadata entries; an empty map when the metadata table does not exist yet. */
export async function readMeta(
  exec: Executor,
  keys: readonly string[],
  batch: number,
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  if (keys.length === 0) return found;
  const unique = [...new Set(keys)];
  const query = builder
    .select({ key: metaTable.key, value: metaTable.value })
    .from(metaTable)
    .where(sql`${metaTable.key} = ANY(${sql.placeholder('keys')}::text[])`);
  const statement = new Template(statementOf(query));
  for (const chunk of chunks(unique, batch)) {
    let rows: ArrayLike<unknown>[];
    try {
      rows = await exec.rows(statement.bind({ keys: arrayLiteral(chunk) }));
    } catch (error) {
      if (missingTable(error)) return found;
      throw error;
    }
    for (const row of rows) found.set(String(row[0]), String(row[1]));
  }
  return found;
}

/** Stores `value` under `key` unless the key exists; returns the value stored now. */
export async function writeMeta(
  client: PostgresClient,
  state: ShardState,
  key: string,
  value: string,
): Promise<string> {
  const exec = new Executor(client, state);
  const insert = statementOf(builder.insert(metaTable).values({ key, value }).onConflictDoNothing());
  try {
    await exec.run(insert);
  } catch (error) {
    if (!missingTable(error)) throw error;
    await runDdl(client, state, [createMetaTableSql()]);
    await exec.run(insert);
  }
  // A new statement, so a new snapshot: it sees the row of a writer that won the race.
  const select = statementOf(
    builder.select({ value: metaTable.value }).from(metaTable).where(eq(metaTable.key, key)),
  );
  const rows = await exec.rows(select);
  if (rows.length === 0) {
    throw new QueryError(`${META_TABLE}: key "${key}" is missing right after it was written`, {
      ...select,
      shard: state.name,
    });
  }
  return String(rows[0]![0]);
}
