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
import { getTableColumns, type SQL, sql } from 'drizzle-orm';
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

/** A column builder that can still be made NOT NULL. */
type Builder = SQLiteColumnBuilderBase & { notNull(): SQLiteColumnBuilderBase };

function indexColumnBuilder(name: string, kind: ColumnKind): Builder {
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

/** Builds and caches the drizzle tables of one shard. */
export class TableCache {
  readonly #entities = new Map<string, EntityTable>();
  readonly #indices = new Map<string, IndexTable>();

  /** The drizzle table of an entity. */
  entity(spec: EntityTableSpec): EntityTable {
    let entry = this.#entities.get(spec.name);
    if (entry === undefined) {
      const table = sqliteTable(spec.name, {
        id: text('id').primaryKey().notNull(),
        body: text('body'),
        bin: blob('bin', { mode: 'buffer' }),
        codec: text('codec').notNull(),
        version: integer('version', { mode: 'number' }).notNull(),
        createdAt: integer('created_at', { mode: 'number' }).notNull(),
        updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
      });
      const c = getTableColumns(table);
      entry = {
        table,
        id: c.id,
        body: c.body,
        bin: c.bin,
        codec: c.codec,
        version: c.version,
        createdAt: c.createdAt,
        updatedAt: c.updatedAt,
      };
      this.#entities.set(spec.name, entry);
    }
    return entry;
  }

  /** The drizzle table of an index. */
  index(spec: IndexTableSpec): IndexTable {
    const key = `${spec.name}(${spec.columns.map((c) => `${c.name} ${c.kind}${c.nullable ? '?' : ''}`).join(',')})`;
    let entry = this.#indices.get(key);
    if (entry === undefined) {
      const builders: Record<string, SQLiteColumnBuilderBase> = {};
      for (const c of spec.columns) {
        const b = indexColumnBuilder(c.name, c.kind);
        builders[c.name] = c.nullable ? b : b.notNull();
      }
      builders[INDEX_ID_COLUMN] = text(INDEX_ID_COLUMN).notNull();
      builders[INDEX_VERSION_COLUMN] = integer(INDEX_VERSION_COLUMN, { mode: 'number' }).notNull();
      const table = sqliteTable(spec.name, builders);
      const all = getTableColumns(table) as Record<string, SQLiteColumn>;
      entry = {
        spec,
        table,
        columns: spec.columns.map((c) => ({ ...c, column: all[c.name]! })),
        id: all[INDEX_ID_COLUMN]!,
        version: all[INDEX_VERSION_COLUMN]!,
        hasNullable: spec.columns.some((c) => c.nullable),
      };
      this.#indices.set(key, entry);
    }
    return entry;
  }
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
