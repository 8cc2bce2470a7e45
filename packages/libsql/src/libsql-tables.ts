/**
 * Drizzle table objects for waffle's table specs (built once per spec and
 * cached) and the DDL that creates them.
 */
import {
  type ColumnKind,
  type EntityTableSpec,
  INDEX_ID_COLUMN,
  INDEX_VERSION_COLUMN,
  type IndexTableSpec,
  META_TABLE,
  type TableSpec,
} from '@waffle/core';
import { entityColumns, indexBuilders, indexColumns, type NullableBuilder, TableCache } from '@waffle/sql';
import { type SQL, sql } from 'drizzle-orm';
import {
  blob,
  integer,
  real,
  type SQLiteColumn,
  type SQLiteColumnBuilderBase,
  type SQLiteTable,
  sqliteTable,
  text,
} from 'drizzle-orm/sqlite-core';

/** SQLite storage type of each column kind. */
const SQL_TYPE: Record<ColumnKind, string> = {
  integer: 'INTEGER',
  bigint: 'INTEGER',
  real: 'REAL',
  text: 'TEXT',
  boolean: 'INTEGER',
  timestamp: 'INTEGER',
  bytes: 'BLOB',
};

/** An entity table and its columns. */
export interface EntityTable {
  readonly table: SQLiteTable;
  readonly id: SQLiteColumn;
  readonly body: SQLiteColumn;
  readonly bin: SQLiteColumn;
  readonly codec: SQLiteColumn;
  readonly version: SQLiteColumn;
  readonly createdAt: SQLiteColumn;
  readonly updatedAt: SQLiteColumn;
}

/** One column of an index table with its waffle kind. */
export interface IndexColumn {
  readonly name: string;
  readonly kind: ColumnKind;
  readonly nullable: boolean;
  readonly column: SQLiteColumn;
}

/** An index table: its value columns in spec order, then `__id` and `__version`. */
export interface IndexTable {
  readonly spec: IndexTableSpec;
  readonly table: SQLiteTable;
  readonly columns: readonly IndexColumn[];
  readonly id: SQLiteColumn;
  readonly version: SQLiteColumn;
  /** True when some key column is nullable, so the primary key cannot keep keys unique. */
  readonly hasNullable: boolean;
}

/** The metadata table `__waffle_meta (key, value)`. */
export const metaTable = sqliteTable(META_TABLE, {
  key: text('key').primaryKey().notNull(),
  value: text('value').notNull(),
});

function indexColumnBuilder(name: string, kind: ColumnKind): NullableBuilder<SQLiteColumnBuilderBase> {
  switch (kind) {
    case 'real':
      return real(name);
    case 'text':
      return text(name);
    case 'bytes':
      return blob(name, { mode: 'buffer' });
    default:
      // integer, bigint, boolean, timestamp: values are converted to integers before binding.
      return integer(name, { mode: 'number' });
  }
}

function entityTable(spec: EntityTableSpec): EntityTable {
  return entityColumns<SQLiteTable, SQLiteColumn>(
    sqliteTable(spec.name, {
      id: text('id').primaryKey().notNull(),
      body: text('body'),
      bin: blob('bin', { mode: 'buffer' }),
      codec: text('codec').notNull(),
      version: integer('version', { mode: 'number' }).notNull(),
      createdAt: integer('created_at', { mode: 'number' }).notNull(),
      updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
    }),
  );
}

function indexTable(spec: IndexTableSpec): IndexTable {
  const builders = indexBuilders<SQLiteColumnBuilderBase>(
    spec,
    (c) => indexColumnBuilder(c.name, c.kind),
    text(INDEX_ID_COLUMN).notNull(),
    integer(INDEX_VERSION_COLUMN, { mode: 'number' }).notNull(),
  );
  return {
    ...indexColumns<SQLiteTable, SQLiteColumn>(spec, sqliteTable(spec.name, builders)),
    hasNullable: spec.columns.some((c) => c.nullable),
  };
}

/** The drizzle tables of one shard, built once per spec. */
export type LibsqlTables = TableCache<EntityTable, IndexTable>;

/** A new, empty {@link LibsqlTables}. */
export function libsqlTables(): LibsqlTables {
  return new TableCache({ entity: entityTable, index: indexTable });
}

const ident = (name: string) => sql.identifier(name);

/** `CREATE TABLE IF NOT EXISTS` for one table spec. */
export function createTableSql(spec: TableSpec): SQL {
  if (spec.kind === 'entity') {
    return sql`CREATE TABLE IF NOT EXISTS ${ident(spec.name)} (${ident('id')} TEXT PRIMARY KEY NOT NULL, ${ident('body')} TEXT NULL, ${ident('bin')} BLOB NULL, ${ident('codec')} TEXT NOT NULL, ${ident('version')} INTEGER NOT NULL, ${ident('created_at')} INTEGER NOT NULL, ${ident('updated_at')} INTEGER NOT NULL)`;
  }
  const columns = spec.columns.map(
    (c) => sql`${ident(c.name)} ${sql.raw(SQL_TYPE[c.kind])} ${sql.raw(c.nullable ? 'NULL' : 'NOT NULL')}`,
  );
  const key = sql.join([...spec.columns.map((c) => ident(c.name)), ident(INDEX_ID_COLUMN)], sql`, `);
  return sql`CREATE TABLE IF NOT EXISTS ${ident(spec.name)} (${sql.join(columns, sql`, `)}${columns.length > 0 ? sql`, ` : sql``}${ident(INDEX_ID_COLUMN)} TEXT NOT NULL, ${ident(INDEX_VERSION_COLUMN)} INTEGER NOT NULL, PRIMARY KEY (${key}))`;
}

/** `CREATE TABLE IF NOT EXISTS __waffle_meta`. */
export function createMetaTableSql(): SQL {
  return sql`CREATE TABLE IF NOT EXISTS ${ident(META_TABLE)} (${ident('key')} TEXT PRIMARY KEY NOT NULL, ${ident('value')} TEXT NOT NULL)`;
}
