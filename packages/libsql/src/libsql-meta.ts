/**
 * Creates tables and reads and writes the metadata table in which each shard
 * remembers its identity.
 */
import { type EntityTableSpec, META_TABLE, type TableSpec } from '@waffle/core';
import { eq, inArray, sql } from 'drizzle-orm';
import type { Executor } from './libsql-exec.js';
import {
  createMetaTableSql,
  createTableSql,
  entityUpgradeSql,
  metaTable,
  pendingIndexSql,
  tableColumnsSql,
} from './libsql-tables.js';

async function columnsOf(exec: Executor, table: string): Promise<Set<string>> {
  return new Set((await exec.rows(tableColumnsSql(table))).map((row) => String(row[0]).toLowerCase()));
}

/**
 * Adds the columns an entity table of an earlier version lacks, then the
 * index on (`pending`, `id`). A column another writer added meanwhile is no error.
 */
async function upgradeEntityTable(exec: Executor, spec: EntityTableSpec): Promise<void> {
  for (const [column, statement] of entityUpgradeSql(spec, await columnsOf(exec, spec.name))) {
    try {
      await exec.run(statement);
    } catch (error) {
      if (!(await columnsOf(exec, spec.name)).has(column)) throw error;
    }
  }
  await exec.run(pendingIndexSql(spec));
}

/**
 * Creates every table of `specs` that does not exist yet, and the metadata
 * table; brings entity tables of an earlier version up to date.
 */
export async function createTables(exec: Executor, specs: readonly TableSpec[]): Promise<void> {
  for (const spec of specs) {
    await exec.run(createTableSql(spec));
    if (spec.kind === 'entity') await upgradeEntityTable(exec, spec);
  }
  await exec.run(createMetaTableSql());
}

/** Reads metadata entries; an empty map when the metadata table does not exist yet. */
export async function readMeta(
  exec: Executor,
  keys: readonly string[],
  maxParameters: number,
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  if (keys.length === 0) return found;
  const exists = await exec.rows(
    sql`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ${META_TABLE}`,
  );
  if (exists.length === 0) return found;
  const unique = [...new Set(keys)];
  for (let i = 0; i < unique.length; i += maxParameters) {
    const chunk = unique.slice(i, i + maxParameters);
    const query = exec.db
      .select({ key: metaTable.key, value: metaTable.value })
      .from(metaTable)
      .where(inArray(metaTable.key, chunk));
    for (const row of await exec.rows(query)) found.set(String(row[0]), String(row[1]));
  }
  return found;
}

/** Stores `value` under `key` unless the key exists; returns the value stored now. */
export async function writeMeta(exec: Executor, key: string, value: string): Promise<string> {
  await exec.run(createMetaTableSql());
  await exec.run(exec.db.insert(metaTable).values({ key, value }).onConflictDoNothing());
  const rows = await exec.rows(
    exec.db.select({ value: metaTable.value }).from(metaTable).where(eq(metaTable.key, key)),
  );
  return String(rows[0]?.[0]);
}
