/**
 * Drizzle table objects for waffle's table specs (built once per spec and
 * cached) and the DDL that creates them.
 */
import {
  type ColumnKind,
  type EntityTableSpec,
  type HistoryTableSpec,
  INDEX_ID_COLUMN,
  INDEX_VERSION_COLUMN,
  type IndexTableSpec,
  META_TABLE,
  type TableSpec,
} from '@waffle/core';
import {
  entityColumns,
  historyColumns,
  indexBuilders,
  indexColumns,
  type NullableBuilder,
  TableCache,
} from '@waffle/sql';
import { type SQL, sql } from 'drizzle-orm';
import {
  blob,
  integer,
  primaryKey,
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
  /** The index work a write left to finish, or null. */
  readonly note: SQLiteColumn;
  /** 1 while `note` is set, else null: the first column of the {@link keyName pending} index. */
  readonly pending: SQLiteColumn;
}

/** A history table: every stored version of an entity's records, keyed by (`id`, `version`). */
export interface HistoryTable {
  readonly spec: HistoryTableSpec;
  readonly table: SQLiteTable;
  readonly id: SQLiteColumn;
  readonly body: SQLiteColumn;
  readonly bin: SQLiteColumn;
  readonly codec: SQLiteColumn;
  readonly version: SQLiteColumn;
  readonly createdAt: SQLiteColumn;
  readonly updatedAt: SQLiteColumn;
  /** 1 for a tombstone, else 0. */
  readonly deleted: SQLiteColumn;
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
      note: text('note'),
      pending: integer('pending', { mode: 'number' }),
    }),
  );
}

function historyTable(spec: HistoryTableSpec): HistoryTable {
  return historyColumns<SQLiteTable, SQLiteColumn>(
    spec,
    sqliteTable(
      spec.name,
      {
        id: text('id').notNull(),
        body: text('body'),
        bin: blob('bin', { mode: 'buffer' }),
        codec: text('codec').notNull(),
        version: integer('version', { mode: 'number' }).notNull(),
        createdAt: integer('created_at', { mode: 'number' }).notNull(),
        updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
        deleted: integer('deleted', { mode: 'number' }).notNull(),
      },
      (t) => [primaryKey({ columns: [t.id, t.version] })],
    ),
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
export type LibsqlTables = TableCache<EntityTable, IndexTable, HistoryTable>;

/** A new, empty {@link LibsqlTables}. */
export function libsqlTables(): LibsqlTables {
  return new TableCache({ entity: entityTable, index: indexTable, history: historyTable });
}

/**
 * The name of an index (`pending`) of `table`: `__<kind>_<table>`. Names
 * starting with `__` are reserved by waffle, so it never meets a user's
 * table; SQLite has no identifier length limit.
 */
export function keyName(kind: 'pending', table: string): string {
  return `__${kind}_${table}`;
}

const ident = (name: string) => sql.identifier(name);

/**
 * The columns an entity table gained after its first version, with their
 * definitions: {@link entityUpgradeSql} adds those an existing table lacks.
 */
export const ENTITY_ADDED_COLUMNS: readonly (readonly [name: string, definition: string])[] = [
  ['note', 'TEXT NULL'],
  ['pending', 'INTEGER NULL'],
];

/** The columns every version of a record has, in an entity table as in a history table. */
const VERSION_COLUMNS = sql`${ident('body')} TEXT NULL, ${ident('bin')} BLOB NULL, ${ident('codec')} TEXT NOT NULL, ${ident('version')} INTEGER NOT NULL, ${ident('created_at')} INTEGER NOT NULL, ${ident('updated_at')} INTEGER NOT NULL`;

/**
 * `CREATE TABLE IF NOT EXISTS` for one table spec. An entity table also needs
 * {@link entityUpgradeSql} (for a table of an earlier version) and
 * {@link pendingIndexSql}.
 */
export function createTableSql(spec: TableSpec): SQL {
  if (spec.kind === 'entity') {
    const added = ENTITY_ADDED_COLUMNS.map(
      ([name, definition]) => sql`, ${ident(name)} ${sql.raw(definition)}`,
    );
    return sql`CREATE TABLE IF NOT EXISTS ${ident(spec.name)} (${ident('id')} TEXT PRIMARY KEY NOT NULL, ${VERSION_COLUMNS}${sql.join(added)})`;
  }
  if (spec.kind === 'history') {
    return sql`CREATE TABLE IF NOT EXISTS ${ident(spec.name)} (${ident('id')} TEXT NOT NULL, ${VERSION_COLUMNS}, ${ident('deleted')} INTEGER NOT NULL, PRIMARY KEY (${ident('id')}, ${ident('version')}))`;
  }
  const columns = spec.columns.map(
    (c) => sql`${ident(c.name)} ${sql.raw(SQL_TYPE[c.kind])} ${sql.raw(c.nullable ? 'NULL' : 'NOT NULL')}`,
  );
  const key = sql.join([...spec.columns.map((c) => ident(c.name)), ident(INDEX_ID_COLUMN)], sql`, `);
  return sql`CREATE TABLE IF NOT EXISTS ${ident(spec.name)} (${sql.join(columns, sql`, `)}${columns.length > 0 ? sql`, ` : sql``}${ident(INDEX_ID_COLUMN)} TEXT NOT NULL, ${ident(INDEX_VERSION_COLUMN)} INTEGER NOT NULL, PRIMARY KEY (${key}))`;
}

/** The names of an existing table's columns (none when it does not exist). */
export function tableColumnsSql(table: string): SQL {
  return sql`SELECT ${ident('name')} FROM pragma_table_info(${table})`;
}

/** `ALTER TABLE … ADD COLUMN` for each of {@link ENTITY_ADDED_COLUMNS} not in `present`, by column name. */
export function entityUpgradeSql(spec: EntityTableSpec, present: ReadonlySet<string>): [string, SQL][] {
  return ENTITY_ADDED_COLUMNS.filter(([name]) => !present.has(name)).map(([name, definition]) => [
    name,
    sql`ALTER TABLE ${ident(spec.name)} ADD COLUMN ${ident(name)} ${sql.raw(definition)}`,
  ]);
}

/** The index through which `scanNotes` finds the records with a note: (`pending`, `id`). */
export function pendingIndexSql(spec: EntityTableSpec): SQL {
  return sql`CREATE INDEX IF NOT EXISTS ${ident(keyName('pending', spec.name))} ON ${ident(spec.name)} (${ident('pending')}, ${ident('id')})`;
}

/** `CREATE TABLE IF NOT EXISTS __waffle_meta`. */
export function createMetaTableSql(): SQL {
  return sql`CREATE TABLE IF NOT EXISTS ${ident(META_TABLE)} (${ident('key')} TEXT PRIMARY KEY NOT NULL, ${ident('value')} TEXT NOT NULL)`;
}
