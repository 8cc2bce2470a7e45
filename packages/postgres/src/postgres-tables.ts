/**
 * Drizzle table objects for waffle's table specs (built once per spec and
 * cached, with the statements built from them), the DDL that creates the
 * tables (and brings entity tables of an earlier version up to date), and the
 * names of their keys, which PostgreSQL must never truncate.
 */
import { createHash } from 'node:crypto';
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
  bigint,
  boolean,
  customType,
  doublePrecision,
  integer,
  type PgColumn,
  type PgColumnBuilderBase,
  type PgTable,
  pgTable,
  smallint,
  text,
} from 'drizzle-orm/pg-core';
import type { Template } from './postgres-exec.js';
import { arrayLiteral, PG_TYPE } from './postgres-values.js';

/** PostgreSQL keeps identifiers of at most 63 bytes (NAMEDATALEN - 1) and silently truncates longer ones. */
export const MAX_IDENTIFIER = 63;

/** Column type in DDL of each column kind: text in code point order, timestamps to the millisecond. */
const COLUMN_TYPE: Record<ColumnKind, string> = {
  integer: 'int4',
  bigint: 'int8',
  real: 'float8',
  text: 'text COLLATE "C"',
  boolean: 'boolean',
  timestamp: 'timestamptz(3)',
  bytes: 'bytea',
};

/** Columns drizzle passes values to unchanged: values are converted by `postgres-values.ts`. */
const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({ dataType: () => 'bytea' });
const timestamptz = customType<{ data: string; driverData: string }>({ dataType: () => 'timestamptz(3)' });

/**
 * The name of a key (`pk`), unique index (`key`) or notes index (`pending`) of
 * `table`: `__<kind>_<table>` when it fits in 63 bytes, else
 * `__<kind>h_<prefix>_<16 hex of SHA-256(table)>`, exactly 63 bytes. Names
 * starting with `__` are reserved by waffle, so a key name never meets a
 * table's; the two forms differ in their prefix, so a shortened name never
 * meets a plain one.
 */
export function keyName(kind: 'pk' | 'key' | 'pending', table: string): string {
  const plain = `__${kind}_${table}`;
  if (Buffer.byteLength(plain) <= MAX_IDENTIFIER) return plain;
  const hash = createHash('sha256').update(table).digest('hex').slice(0, 16);
  const prefix = `__${kind}h_`;
  return `${prefix}${table.slice(0, MAX_IDENTIFIER - prefix.length - hash.length - 1)}_${hash}`;
}

/** An entity table, its columns and the statements built for it. */
export interface EntityTable {
  readonly spec: EntityTableSpec;
  readonly table: PgTable;
  readonly id: PgColumn;
  readonly body: PgColumn;
  readonly bin: PgColumn;
  readonly codec: PgColumn;
  readonly version: PgColumn;
  readonly createdAt: PgColumn;
  readonly updatedAt: PgColumn;
  /** Core's note of unfinished index work, or null. */
  readonly note: PgColumn;
  /** 1 while `note` is set, else null: the first column of the notes index. */
  readonly pending: PgColumn;
  /** Statements by purpose, built at first use. */
  readonly statements: Map<string, Template>;
}

/** A history table: the record columns less the note, and `deleted`; keyed by (`id`, `version`). */
export interface HistoryTable {
  readonly spec: HistoryTableSpec;
  readonly table: PgTable;
  readonly id: PgColumn;
  readonly body: PgColumn;
  readonly bin: PgColumn;
  readonly codec: PgColumn;
  readonly version: PgColumn;
  readonly createdAt: PgColumn;
  readonly updatedAt: PgColumn;
  /** 1 for a tombstone, else 0. */
  readonly deleted: PgColumn;
  /** Statements by purpose, built at first use. */
  readonly statements: Map<string, Template>;
}

/** One column of an index table with its waffle kind. */
export interface IndexColumn {
  readonly name: string;
  readonly kind: ColumnKind;
  readonly nullable: boolean;
  readonly column: PgColumn;
}

/** An index table: its value columns in spec order, then `__id` and `__version`. */
export interface IndexTable {
  readonly spec: IndexTableSpec;
  readonly table: PgTable;
  readonly columns: readonly IndexColumn[];
  readonly id: PgColumn;
  readonly version: PgColumn;
  /** Statements by purpose and shape, built at first use. */
  readonly statements: Map<string, Template>;
}

/** The metadata table `__waffle_meta (key, value)`. */
export const metaTable = pgTable(META_TABLE, {
  key: text('key').primaryKey().notNull(),
  value: text('value').notNull(),
});

function indexColumnBuilder(name: string, kind: ColumnKind): NullableBuilder<PgColumnBuilderBase> {
  switch (kind) {
    case 'integer':
      return integer(name);
    case 'bigint':
      return bigint(name, { mode: 'bigint' });
    case 'real':
      return doublePrecision(name);
    case 'text':
      return text(name);
    case 'boolean':
      return boolean(name);
    case 'timestamp':
      return timestamptz(name);
    case 'bytes':
      return bytea(name);
  }
}

function entityTable(spec: EntityTableSpec): EntityTable {
  const table = pgTable(spec.name, {
    id: text('id').primaryKey().notNull(),
    body: text('body'),
    bin: bytea('bin'),
    codec: text('codec').notNull(),
    version: bigint('version', { mode: 'number' }).notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
    note: text('note'),
    pending: smallint('pending'),
  });
  return { spec, ...entityColumns<PgTable, PgColumn>(table), statements: new Map() };
}

function historyTable(spec: HistoryTableSpec): HistoryTable {
  const table = pgTable(spec.name, {
    id: text('id').notNull(),
    body: text('body'),
    bin: bytea('bin'),
    codec: text('codec').notNull(),
    version: bigint('version', { mode: 'number' }).notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
    deleted: smallint('deleted').notNull(),
  });
  return { ...historyColumns<PgTable, PgColumn>(spec, table), statements: new Map() };
}

function indexTable(spec: IndexTableSpec): IndexTable {
  const builders = indexBuilders<PgColumnBuilderBase>(
    spec,
    (c) => indexColumnBuilder(c.name, c.kind),
    text(INDEX_ID_COLUMN).notNull(),
    bigint(INDEX_VERSION_COLUMN, { mode: 'number' }).notNull(),
  );
  return { ...indexColumns<PgTable, PgColumn>(spec, pgTable(spec.name, builders)), statements: new Map() };
}

/** The drizzle tables of one shard, built once per spec. */
export type PostgresTables = TableCache<EntityTable, IndexTable, HistoryTable>;

/** A new, empty {@link PostgresTables}. */
export function postgresTables(): PostgresTables {
  return new TableCache({ entity: entityTable, index: indexTable, history: historyTable });
}

const ident = (name: string) => sql.identifier(name);

/** The columns a record and its versions share, in DDL. */
const RECORD_DDL = sql`${ident('id')} text COLLATE "C" NOT NULL, ${ident('body')} text NULL, ${ident('bin')} bytea NULL, ${ident('codec')} text NOT NULL, ${ident('version')} int8 NOT NULL, ${ident('created_at')} int8 NOT NULL, ${ident('updated_at')} int8 NOT NULL`;

/**
 * The DDL of one table spec: `CREATE TABLE IF NOT EXISTS`, and
 *
 * - for an entity table, the columns an earlier version's table lacks (`note`,
 *   `pending`: `ADD COLUMN IF NOT EXISTS`) and the notes index on (`pending`,
 *   `id`), which `scanNotes` reads in id order; the index comes last, so a
 *   table that has it is complete (see {@link missingRelationsSql});
 * - for an index table, its unique index over (columns…, `__id`), every column
 *   `NULLS FIRST` so that one index serves ascending order forwards and
 *   descending order backwards (nulls first ascending, last descending, as
 *   waffle orders), and `NULLS NOT DISTINCT` when a column is nullable, so that
 *   keys with nulls stay unique and can be upserted with `ON CONFLICT`;
 * - for a history table, its key (`id`, `version`).
 */
export function createTableSql(spec: TableSpec): SQL[] {
  const table = ident(spec.name);
  if (spec.kind === 'entity') {
    return [
      sql`CREATE TABLE IF NOT EXISTS ${table} (${RECORD_DDL}, ${ident('note')} text NULL, ${ident('pending')} int2 NULL, CONSTRAINT ${ident(keyName('pk', spec.name))} PRIMARY KEY (${ident('id')}))`,
      sql`ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${ident('note')} text NULL, ADD COLUMN IF NOT EXISTS ${ident('pending')} int2 NULL`,
      sql`CREATE INDEX IF NOT EXISTS ${ident(keyName('pending', spec.name))} ON ${table} (${ident('pending')}, ${ident('id')})`,
    ];
  }
  if (spec.kind === 'history') {
    return [
      sql`CREATE TABLE IF NOT EXISTS ${table} (${RECORD_DDL}, ${ident('deleted')} int2 NOT NULL, CONSTRAINT ${ident(keyName('pk', spec.name))} PRIMARY KEY (${ident('id')}, ${ident('version')}))`,
    ];
  }
  const columns = spec.columns.map(
    (c) => sql`${ident(c.name)} ${sql.raw(COLUMN_TYPE[c.kind])} ${sql.raw(c.nullable ? 'NULL' : 'NOT NULL')}`,
  );
  const key = sql.join(
    [...spec.columns.map((c) => ident(c.name)), ident(INDEX_ID_COLUMN)].map((c) => sql`${c} NULLS FIRST`),
    sql`, `,
  );
  const nullsNotDistinct = spec.columns.some((c) => c.nullable) ? sql` NULLS NOT DISTINCT` : sql``;
  return [
    sql`CREATE TABLE IF NOT EXISTS ${table} (${sql.join([...columns, sql`${ident(INDEX_ID_COLUMN)} text COLLATE "C" NOT NULL`, sql`${ident(INDEX_VERSION_COLUMN)} int8 NOT NULL`], sql`, `)})`,
    sql`CREATE UNIQUE INDEX IF NOT EXISTS ${ident(keyName('key', spec.name))} ON ${table} (${key})${nullsNotDistinct}`,
  ];
}

/**
 * The names among `names` that no table or index of the current schema (where
 * `CREATE TABLE` puts a table) bears. `createTables` runs an entity table's
 * DDL only when its notes index is missing: `ALTER TABLE` locks a table
 * against readers even when it adds nothing.
 */
export function missingRelationsSql(names: readonly string[]): SQL {
  return sql`SELECT w.relname FROM unnest(${arrayLiteral(names)}::text[]) AS w(relname) WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS s ON s.oid = c.relnamespace WHERE s.nspname = current_schema() AND c.relname = w.relname)`;
}

/** `CREATE TABLE IF NOT EXISTS __waffle_meta`. */
export function createMetaTableSql(): SQL {
  return sql`CREATE TABLE IF NOT EXISTS ${ident(META_TABLE)} (${ident('key')} text COLLATE "C" NOT NULL, ${ident('value')} text NOT NULL, CONSTRAINT ${ident(keyName('pk', META_TABLE))} PRIMARY KEY (${ident('key')}))`;
}

/** The array type of a column kind, e.g. `int4[]`. */
export function arrayType(kind: ColumnKind): string {
  return `${PG_TYPE[kind]}[]`;
}
