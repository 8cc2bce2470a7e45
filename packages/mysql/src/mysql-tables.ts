/**
 * Drizzle table objects for waffle's table specs (built once per spec and
 * cached), the storage type of each column kind, the key layout of index
 * tables, and the DDL that creates entity, history and index tables and
 * brings entity tables of an older layout up to date.
 *
 * Text and ids are stored as VARBINARY (their UTF-8 bytes): binary strings
 * compare byte by byte, which is code point order, and never pad, so `'a'`,
 * `'a '` and `'A'` are three keys, on MySQL and MariaDB alike (utf8mb4_bin is
 * a PAD SPACE collation on both).
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
  ValidationError,
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
  bigint,
  boolean,
  customType,
  double,
  int,
  longtext,
  type MySqlColumn,
  type MySqlColumnBuilderBase,
  type MySqlTable,
  mysqlTable,
  text,
  tinyint,
  varbinary,
  varchar,
} from 'drizzle-orm/mysql-core';

/** InnoDB's longest key (DYNAMIC rows, 16 KiB pages, the default of MySQL 5.7+ and MariaDB 10.2+). */
export const KEY_BYTES = 3072;
/** Most columns in one MySQL key. */
export const MAX_KEY_PARTS = 16;
/** Longest record id in bytes (core's limit). */
export const ID_BYTES = 255;
/** The NOT NULL shadow key of index tables with nullable columns: SHA-256 of the key values. */
export const KEY_HASH_COLUMN = '__key';
/** The ordered, covering secondary key of index tables with nullable columns. */
export const ORDER_KEY = '__waffle_order';
/** The key of entity tables on (`pending`, `id`), through which notes are found. */
export const PENDING_KEY = '__waffle_pending';

/** Key bytes of the fixed-size kinds. */
const FIXED_BYTES: Partial<Record<ColumnKind, number>> = {
  integer: 4,
  bigint: 8,
  real: 8,
  boolean: 1,
  timestamp: 8,
};

/** An entity table and its columns. */
export interface EntityTable {
  readonly spec: EntityTableSpec;
  readonly table: MySqlTable;
  readonly id: MySqlColumn;
  readonly body: MySqlColumn;
  readonly bin: MySqlColumn;
  readonly codec: MySqlColumn;
  readonly version: MySqlColumn;
  readonly createdAt: MySqlColumn;
  readonly updatedAt: MySqlColumn;
  /** The index work the record's write left to finish, or NULL. */
  readonly note: MySqlColumn;
  /** 1 while `note` is set, else NULL: the first column of {@link PENDING_KEY}. */
  readonly pending: MySqlColumn;
  /** SQL texts built once per statement shape. */
  readonly statements: Map<string, string>;
}

/** A history table (every version of a record, keyed by (`id`, `version`)) and its columns. */
export interface HistoryTable {
  readonly spec: HistoryTableSpec;
  readonly table: MySqlTable;
  readonly id: MySqlColumn;
  readonly body: MySqlColumn;
  readonly bin: MySqlColumn;
  readonly codec: MySqlColumn;
  readonly version: MySqlColumn;
  readonly createdAt: MySqlColumn;
  readonly updatedAt: MySqlColumn;
  /** 1 for a tombstone, else 0. */
  readonly deleted: MySqlColumn;
  /** SQL texts built once per statement shape. */
  readonly statements: Map<string, string>;
}

/** One column of an index table with its waffle kind. */
export interface IndexColumn {
  readonly name: string;
  readonly kind: ColumnKind;
  readonly nullable: boolean;
  readonly column: MySqlColumn;
  /** For text and bytes: the longest value, in bytes, the key can hold. */
  readonly maxBytes: number | undefined;
}

/**
 * An index table: its value columns in spec order, then `__id` and `__version`.
 * Without nullable columns the primary key is (columns…, `__id`); with some,
 * the primary key is (`__id`, `__key`), `__key` being the hash of the column
 * values, and the covering key `__waffle_order` (columns…, `__id`, `__version`)
 * serves queries in index order.
 */
export interface IndexTable {
  readonly spec: IndexTableSpec;
  readonly table: MySqlTable;
  readonly columns: readonly IndexColumn[];
  readonly id: MySqlColumn;
  readonly version: MySqlColumn;
  /** True when some column is nullable, so that the key is kept unique through `__key`. */
  readonly hasNullable: boolean;
  /** SQL texts built once per statement shape. */
  readonly statements: Map<string, string>;
}

/** The metadata table `__waffle_meta (key, value)`. */
export const metaTable = mysqlTable(META_TABLE, {
  key: varbinary('key', { length: 255 }).primaryKey().notNull(),
  value: text('value').notNull(),
});

/** `LONGBLOB`, which drizzle's mysql-core does not name. */
const longblob = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'longblob' });

function indexColumnBuilder(
  name: string,
  kind: ColumnKind,
  maxBytes: number | undefined,
): NullableBuilder<MySqlColumnBuilderBase> {
  switch (kind) {
    case 'integer':
      return int(name);
    case 'bigint':
      return bigint(name, { mode: 'bigint' });
    case 'real':
      return double(name);
    case 'boolean':
      return boolean(name);
    case 'timestamp':
      return bigint(name, { mode: 'number' });
    default:
      // text and bytes
      return varbinary(name, { length: maxBytes! });
  }
}

/** MySQL type of each column kind (text and bytes get their length per table). */
function sqlType(kind: ColumnKind, maxBytes: number | undefined): string {
  switch (kind) {
    case 'integer':
      return 'INT';
    case 'bigint':
      return 'BIGINT';
    case 'real':
      return 'DOUBLE';
    case 'boolean':
      return 'TINYINT(1)';
    case 'timestamp':
      return 'BIGINT';
    default:
      return `VARBINARY(${maxBytes})`;
  }
}

/**
 * The longest text or bytes value each variable-length column of an index can
 * hold: the key's 3072 bytes, less `__id` (255), `__version` (8) and the
 * fixed-size columns, shared equally among the text and bytes columns.
 */
export function variableColumnBytes(kinds: readonly ColumnKind[]): number | undefined {
  const variable = kinds.filter((k) => FIXED_BYTES[k] === undefined).length;
  if (variable === 0) return undefined;
  const fixed = kinds.reduce((sum, k) => sum + (FIXED_BYTES[k] ?? 0), 0);
  return Math.floor((KEY_BYTES - ID_BYTES - 8 - fixed) / variable);
}

function checkIndexSpec(spec: IndexTableSpec): void {
  const nullable = spec.columns.some((c) => c.nullable);
  // The key is (columns…, __id), or (columns…, __id, __version) for the covering key of nullable tables.
  const most = MAX_KEY_PARTS - (nullable ? 2 : 1);
  if (spec.columns.length > most) {
    throw new ValidationError(
      `Index "${spec.name}" has ${spec.columns.length} columns; a MySQL key holds ${MAX_KEY_PARTS} columns, which leaves room for at most ${most} index columns${nullable ? ' when some are nullable' : ''}`,
    );
  }
  const seen = new Set<string>();
  for (const c of spec.columns) {
    const folded = c.name.toLowerCase();
    if (seen.has(folded)) {
      throw new ValidationError(
        `Index "${spec.name}": column names differ only by case ("${c.name}"), which MySQL does not distinguish`,
      );
    }
    seen.add(folded);
  }
}

function entityTable(spec: EntityTableSpec): EntityTable {
  const table = mysqlTable(spec.name, {
    id: varbinary('id', { length: ID_BYTES }).primaryKey().notNull(),
    body: longtext('body'),
    bin: longblob('bin'),
    codec: varchar('codec', { length: 255 }).notNull(),
    version: bigint('version', { mode: 'number' }).notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
    note: longtext('note'),
    pending: tinyint('pending'),
  });
  return { spec, ...entityColumns<MySqlTable, MySqlColumn>(table), statements: new Map() };
}

function historyTable(spec: HistoryTableSpec): HistoryTable {
  const table = mysqlTable(spec.name, {
    id: varbinary('id', { length: ID_BYTES }).notNull(),
    body: longtext('body'),
    bin: longblob('bin'),
    codec: varchar('codec', { length: 255 }).notNull(),
    version: bigint('version', { mode: 'number' }).notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
    deleted: tinyint('deleted').notNull(),
  });
  return { ...historyColumns<MySqlTable, MySqlColumn>(spec, table), statements: new Map() };
}

/** The drizzle table of an index; refuses a spec MySQL cannot key. */
function indexTable(spec: IndexTableSpec): IndexTable {
  checkIndexSpec(spec);
  const maxBytes = variableColumnBytes(spec.columns.map((c) => c.kind));
  const builders = indexBuilders<MySqlColumnBuilderBase>(
    spec,
    (c) => indexColumnBuilder(c.name, c.kind, maxBytes),
    varbinary(INDEX_ID_COLUMN, { length: ID_BYTES }).notNull(),
    bigint(INDEX_VERSION_COLUMN, { mode: 'number' }).notNull(),
  );
  const entry = indexColumns<MySqlTable, MySqlColumn>(spec, mysqlTable(spec.name, builders));
  return {
    ...entry,
    columns: entry.columns.map((c) => ({
      ...c,
      maxBytes: FIXED_BYTES[c.kind] === undefined ? maxBytes : undefined,
    })),
    hasNullable: spec.columns.some((c) => c.nullable),
    statements: new Map(),
  };
}

/** The drizzle tables of one shard, built once per spec. */
export type MysqlTables = TableCache<EntityTable, IndexTable, HistoryTable>;

/** A new, empty {@link MysqlTables}. */
export function mysqlTables(): MysqlTables {
  return new TableCache({ entity: entityTable, index: indexTable, history: historyTable });
}

const ident = (name: string) => sql.identifier(name);
const TABLE_OPTIONS = sql.raw('ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC');
/** The type of `body` and `note`. */
const TEXT_TYPE = sql.raw('LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin');

/** The column definitions entity and history tables share: `id` to `updated_at`. */
function recordColumnsSql(): SQL {
  return sql`${ident('id')} VARBINARY(${sql.raw(String(ID_BYTES))}) NOT NULL, ${ident('body')} ${TEXT_TYPE} NULL, ${ident('bin')} LONGBLOB NULL, ${ident('codec')} VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, ${ident('version')} BIGINT NOT NULL, ${ident('created_at')} BIGINT NOT NULL, ${ident('updated_at')} BIGINT NOT NULL`;
}

/** The columns entity tables gained with record notes, which {@link entityUpgradeSql} adds to older tables. */
export const NOTE_COLUMNS = ['note', 'pending'] as const;

/** The definition of each of {@link NOTE_COLUMNS}. */
function noteColumnSql(name: (typeof NOTE_COLUMNS)[number]): SQL {
  return name === 'note' ? sql`${ident('note')} ${TEXT_TYPE} NULL` : sql`${ident('pending')} TINYINT NULL`;
}

/** The definition of {@link PENDING_KEY}. */
function pendingKeySql(): SQL {
  return sql`KEY ${ident(PENDING_KEY)} (${ident('pending')}, ${ident('id')})`;
}

/** `CREATE TABLE IF NOT EXISTS` for an entity table. */
export function createEntityTableSql(spec: EntityTableSpec): SQL {
  return sql`CREATE TABLE IF NOT EXISTS ${ident(spec.name)} (${recordColumnsSql()}, ${sql.join(NOTE_COLUMNS.map(noteColumnSql), sql`, `)}, PRIMARY KEY (${ident('id')}), ${pendingKeySql()}) ${TABLE_OPTIONS}`;
}

/**
 * The `ALTER TABLE` that brings an entity table created before record notes
 * up to date: the missing columns of {@link NOTE_COLUMNS}, then
 * {@link PENDING_KEY} unless `hasKey`; undefined when nothing is missing.
 */
export function entityUpgradeSql(
  spec: EntityTableSpec,
  missing: readonly (typeof NOTE_COLUMNS)[number][],
  hasKey: boolean,
): SQL | undefined {
  const changes = NOTE_COLUMNS.filter((c) => missing.includes(c)).map(
    (c) => sql`ADD COLUMN ${noteColumnSql(c)}`,
  );
  if (!hasKey) changes.push(sql`ADD ${pendingKeySql()}`);
  if (changes.length === 0) return undefined;
  return sql`ALTER TABLE ${ident(spec.name)} ${sql.join(changes, sql`, `)}`;
}

/** `CREATE TABLE IF NOT EXISTS` for a history table. */
export function createHistoryTableSql(spec: HistoryTableSpec): SQL {
  return sql`CREATE TABLE IF NOT EXISTS ${ident(spec.name)} (${recordColumnsSql()}, ${ident('deleted')} TINYINT NOT NULL, PRIMARY KEY (${ident('id')}, ${ident('version')})) ${TABLE_OPTIONS}`;
}

/** `CREATE TABLE IF NOT EXISTS` for an index table (see {@link IndexTable} for its keys). */
export function createIndexTableSql(t: IndexTable): SQL {
  const columns = t.columns.map(
    (c) =>
      sql`${ident(c.name)} ${sql.raw(sqlType(c.kind, c.maxBytes))} ${sql.raw(c.nullable ? 'NULL' : 'NOT NULL')}`,
  );
  columns.push(sql`${ident(INDEX_ID_COLUMN)} VARBINARY(${sql.raw(String(ID_BYTES))}) NOT NULL`);
  columns.push(sql`${ident(INDEX_VERSION_COLUMN)} BIGINT NOT NULL`);
  const names = t.columns.map((c) => ident(c.name));
  if (t.hasNullable) {
    columns.push(sql`${ident(KEY_HASH_COLUMN)} BINARY(32) NOT NULL`);
    columns.push(sql`PRIMARY KEY (${ident(INDEX_ID_COLUMN)}, ${ident(KEY_HASH_COLUMN)})`);
    const order = [...names, ident(INDEX_ID_COLUMN), ident(INDEX_VERSION_COLUMN)];
    columns.push(sql`KEY ${ident(ORDER_KEY)} (${sql.join(order, sql`, `)})`);
  } else {
    columns.push(sql`PRIMARY KEY (${sql.join([...names, ident(INDEX_ID_COLUMN)], sql`, `)})`);
  }
  return sql`CREATE TABLE IF NOT EXISTS ${ident(t.spec.name)} (${sql.join(columns, sql`, `)}) ${TABLE_OPTIONS}`;
}

/** `CREATE TABLE IF NOT EXISTS __waffle_meta`. */
export function createMetaTableSql(): SQL {
  return sql`CREATE TABLE IF NOT EXISTS ${ident(META_TABLE)} (${ident('key')} VARBINARY(255) NOT NULL, ${ident('value')} TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, PRIMARY KEY (${ident('key')})) ${TABLE_OPTIONS}`;
}

/** The DDL for one table spec. */
export function createTableSql(tables: MysqlTables, spec: TableSpec): SQL {
  switch (spec.kind) {
    case 'entity':
      return createEntityTableSql(spec);
    case 'history':
      return createHistoryTableSql(spec);
    default:
      return createIndexTableSql(tables.index(spec));
  }
}
