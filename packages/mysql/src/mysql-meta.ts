/**
 * Creates tables (bringing entity tables of an older layout up to date), and
 * reads and writes the metadata table in which each shard remembers its identity.
 */
import type { EntityTableSpec, TableSpec } from '@waffle/core';
import { rowsPerStatement } from '@waffle/sql';
import { type SQLWrapper, sql } from 'drizzle-orm';
import {
  batches,
  ER_DUP_FIELDNAME,
  ER_DUP_KEYNAME,
  ER_NO_SUCH_TABLE,
  type Executor,
  errnoOf,
  PLACEHOLDER,
  pad,
  statementOf,
  template,
} from './mysql-exec.js';
import {
  createMetaTableSql,
  createTableSql,
  entityUpgradeSql,
  type MysqlTables,
  metaTable,
  NOTE_COLUMNS,
  PENDING_KEY,
} from './mysql-tables.js';
import { toText } from './mysql-values.js';

/** Statement texts of the metadata table, the same on every shard. */
const statements = new Map<string, string>();

/** Runs DDL, which binds no values, through the text protocol. */
async function ddl(exec: Executor, query: SQLWrapper): Promise<void> {
  const { sql: text, params } = statementOf(query);
  if (params.length > 0) throw new Error('DDL must not bind values');
  await exec.command(text);
}

/** Creates every table of `specs` that does not exist yet, and the metadata table. */
export async function createTables(
  exec: Executor,
  tables: MysqlTables,
  specs: readonly TableSpec[],
): Promise<void> {
  // Every spec is checked before the first statement runs.
  for (const spec of specs) if (spec.kind === 'index') tables.index(spec);
  for (const spec of specs) {
    await ddl(exec, createTableSql(tables, spec));
    if (spec.kind === 'entity') await upgradeEntityTable(exec, spec);
  }
  await ddl(exec, createMetaTableSql());
}

/** How often an upgrade is tried again after another client changed the table first. */
const UPGRADE_ATTEMPTS = 3;

/**
 * Adds to an entity table created before record notes its `note` and
 * `pending` columns and their key, whichever are missing (MySQL has no
 * `ADD COLUMN IF NOT EXISTS`, so the table's columns are read first). When
 * another client adds them at the same time, the table is read again.
 */
async function upgradeEntityTable(exec: Executor, spec: EntityTableSpec): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const { columns, keys } = await tableShape(exec, spec.name);
    const missing = NOTE_COLUMNS.filter((c) => !columns.has(c));
    const alter = entityUpgradeSql(spec, missing, keys.has(PENDING_KEY.toLowerCase()));
    if (alter === undefined) return;
    try {
      await ddl(exec, alter);
      return;
    } catch (error) {
      const errno = errnoOf(error);
      const raced = errno === ER_DUP_FIELDNAME || errno === ER_DUP_KEYNAME;
      if (!raced || attempt >= UPGRADE_ATTEMPTS) throw error;
    }
  }
}

/**
 * The column and key names (lower case, as MySQL compares them) of a table in
 * the current database. The server matches the table name as it matches table
 * names (exactly, unless `lower_case_table_names` is set); should it match
 * names differing by case, the rows of the exact name are kept.
 */
async function tableShape(
  exec: Executor,
  name: string,
): Promise<{ columns: Set<string>; keys: Set<string> }> {
  const names = (rows: unknown[][]) => {
    const exact = rows.filter((row) => toText(row[0]) === name);
    return new Set((exact.length > 0 ? exact : rows).map((row) => toText(row[1]).toLowerCase()));
  };
  const columns = template(
    statements,
    'columns',
    () =>
      sql`SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ${PLACEHOLDER}`,
  );
  const keys = template(
    statements,
    'keys',
    () =>
      sql`SELECT TABLE_NAME, INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ${PLACEHOLDER}`,
  );
  return {
    columns: names(await exec.rows({ sql: columns, params: [name] })),
    keys: names(await exec.rows({ sql: keys, params: [name] })),
  };
}

const keyBytes = (key: string) => key.length * 3;

/** Reads metadata entries; an empty map when the metadata table does not exist yet. */
export async function readMeta(
  exec: Executor,
  keys: readonly string[],
  maxParameters: number,
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const most = rowsPerStatement(1, maxParameters);
  for (const batch of batches([...new Set(keys)], most, exec.batchBytes, keyBytes)) {
    const params = pad(batch, most, keyBytes);
    const text = template(
      statements,
      `read:${params.length}`,
      () =>
        sql`SELECT ${metaTable.key}, ${metaTable.value} FROM ${metaTable} WHERE ${metaTable.key} IN (${sql.join(
          params.map(() => PLACEHOLDER),
          sql`, `,
        )})`,
    );
    try {
      for (const row of await exec.rows({ sql: text, params })) found.set(toText(row[0]), toText(row[1]));
    } catch (error) {
      if (errnoOf(error) === ER_NO_SUCH_TABLE) return found;
      throw error;
    }
  }
  return found;
}

/** Stores `value` under `key` unless the key exists; returns the value stored now. */
export async function writeMeta(exec: Executor, key: string, value: string): Promise<string> {
  const insert = template(
    statements,
    'insert',
    () =>
      sql`INSERT INTO ${metaTable} (${sql.identifier(metaTable.key.name)}, ${sql.identifier(metaTable.value.name)}) VALUES (${PLACEHOLDER}, ${PLACEHOLDER}) ON DUPLICATE KEY UPDATE ${sql.identifier(metaTable.key.name)} = ${metaTable.key}`,
  );
  try {
    await exec.run({ sql: insert, params: [key, value] });
  } catch (error) {
    if (errnoOf(error) !== ER_NO_SUCH_TABLE) throw error;
    await ddl(exec, createMetaTableSql());
    await exec.run({ sql: insert, params: [key, value] });
  }
  const select = template(
    statements,
    'select',
    () => sql`SELECT ${metaTable.value} FROM ${metaTable} WHERE ${metaTable.key} = ${PLACEHOLDER}`,
  );
  const [row] = await exec.rows({ sql: select, params: [key] });
  return toText(row?.[0]);
}
