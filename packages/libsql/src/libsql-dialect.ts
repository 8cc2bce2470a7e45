/**
 * SQLite's dialect of waffle's operations: SQLite column types and DDL, the
 * parameter limit, and the gated batch that commits a record with its index
 * rows in one call (a SQLite write transaction sees no other writer). The
 * statements themselves are `@waffle/sql`'s.
 */

import { ShardMapError, ValidationError } from '@waffle/core';
import {
  type ColumnKind,
  type ColumnValue,
  INDEX_ID_COLUMN,
  INDEX_VERSION_COLUMN,
  META_TABLE,
  type TableSpec,
} from '@waffle/core/adapter';
import {
  type CommitMode,
  type EntityTable,
  type IndexTable,
  type Render,
  type Runner,
  SqlDialect,
  T,
  V,
  type ValueReader,
} from '@waffle/sql';
import { type SQL, sql } from 'drizzle-orm';
import { SQLiteAsyncDialect } from 'drizzle-orm/sqlite-core';
import { toStorage, valueReader } from './libsql-values.js';

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

const ident = (name: string) => sql.identifier(name);

/** The columns every version of a record has, in an entity table as in a history table. */
const VERSION_COLUMNS = sql`${ident('body')} TEXT NULL, ${ident('bin')} BLOB NULL, ${ident('codec')} TEXT NOT NULL, ${ident('version')} INTEGER NOT NULL, ${ident('created_at')} INTEGER NOT NULL, ${ident('updated_at')} INTEGER NOT NULL`;

/**
 * The name of the index (`pending`) of `table`: `__<kind>_<table>`. Names
 * starting with `__` are reserved by waffle, so it never meets a user's
 * table; SQLite has no identifier length limit.
 */
export function keyName(kind: 'pending', table: string): string {
  return `__${kind}_${table}`;
}

const drizzleDialect = new SQLiteAsyncDialect();

/**
 * A name that means the row id of an index table even if a column is called
 * `rowid`: SQLite answers to `rowid`, `_rowid_` and `oid` unless a column
 * takes the name. A table whose columns take all three is refused.
 */
function rowidName(columns: readonly { readonly name: string }[], table: string): SQL {
  const names = new Set(columns.map((c) => c.name.toLowerCase()));
  const free = ['rowid', '_rowid_', 'oid'].find((n) => !names.has(n));
  if (free === undefined) {
    throw new ValidationError(
      `Index "${table}": columns rowid, _rowid_ and oid together hide SQLite's row id`,
    );
  }
  return sql.raw(free);
}

/** SQLite (and libSQL). */
export class SqliteDialect extends SqlDialect {
  readonly name = 'sqlite';
  /** SQLite's default limit of bound parameters since 3.32 (libSQL keeps it). */
  readonly maxParameters = 32766;
  readonly commitMode: CommitMode = 'batch';
  override readonly foldsBody = true;
  /** A batch of new records runs as plain inserts first; a stored key fails it with SQLITE_CONSTRAINT_PRIMARYKEY. */
  protected override readonly insertsFirst = true;
  readonly render: Render = (query) => drizzleDialect.sqlToQuery(query);
  readonly read: ValueReader = valueReader;

  bind(kind: ColumnKind, value: ColumnValue): unknown {
    return toStorage(kind, value);
  }

  /** A constraint failure (the client's `LibsqlError`, as the driver's error's cause): maybe a stored key. */
  protected override uniqueViolation(error: unknown): boolean {
    const cause = (error as { cause?: unknown } | null)?.cause as
      | { code?: unknown; extendedCode?: unknown }
      | undefined;
    return [cause?.code, cause?.extendedCode].some(
      (code) => typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT'),
    );
  }

  /** 64-bit integers are read as text, so that no precision is lost whatever the client's `intMode`. */
  override selectColumn(kind: ColumnKind, column: SQL): SQL {
    return kind === 'bigint' ? sql`CAST(${column} AS TEXT)` : column;
  }

  /**
   * Deletes by row id what a join from the values table finds: SQLite plans
   * `exists` over the values table as a scan of the whole index table, but a
   * join led by the values table probes the index table's key once per row.
   */
  protected override deleteStatement(t: IndexTable, rows: number, width: number, entity?: EntityTable): SQL {
    const n = t.columns.length;
    const rowid = rowidName(t.columns, t.spec.name);
    const target = (column: string) => sql`${T}.${ident(column)}`;
    const gate = entity ? sql` and ${this.gateCondition(t, entity)}` : sql``;
    return sql`${this.valuesTable(t, rows, width)} delete from ${t.name} where ${rowid} in (select ${T}.${rowid} from ${V} cross join ${t.name} as ${T} on ${this.sameKey(t, target)} where ${T}.${ident(INDEX_VERSION_COLUMN)} < ${this.v(n + 1)}${gate})`;
  }

  /**
   * Every spec is checked before the first statement runs, and a table whose
   * name differs only by case from one the database holds is refused: SQLite
   * does not tell `posts` from `Posts`, so `CREATE TABLE IF NOT EXISTS` would
   * quietly take the other table for this one.
   */
  override async createTables(runner: Runner, specs: readonly TableSpec[]): Promise<void> {
    for (const spec of specs) if (spec.kind === 'index') rowidName(spec.columns, spec.name);
    const names = [...new Set(specs.map((spec) => spec.name))];
    if (names.length > 0) {
      const { rows } = await runner.run({
        sql: `select name from sqlite_master where type = 'table' and lower(name) in (${names.map(() => '?').join(', ')})`,
        params: names.map((name) => name.toLowerCase()),
      });
      for (const row of rows) {
        const held = String(row[0]);
        const clash = names.find((name) => name !== held && name.toLowerCase() === held.toLowerCase());
        if (clash !== undefined) {
          throw new ShardMapError(
            `The database holds table "${held}", which SQLite does not tell apart from "${clash}" (names differ only by case): give "${clash}" another name, or use other databases`,
          );
        }
      }
    }
    await super.createTables(runner, specs);
  }

  createTable(spec: TableSpec): SQL[] {
    if (spec.kind === 'entity') {
      return [
        sql`CREATE TABLE IF NOT EXISTS ${ident(spec.name)} (${ident('id')} TEXT PRIMARY KEY NOT NULL, ${VERSION_COLUMNS}, ${ident('note')} TEXT NULL, ${ident('pending')} INTEGER NULL)`,
        // The index through which scans of notes find the records with one: (pending, id), partial over
        // the rows with a note only, so that a write leaving none (most of them) adds no entry to it.
        sql`CREATE INDEX IF NOT EXISTS ${ident(keyName('pending', spec.name))} ON ${ident(spec.name)} (${ident('pending')}, ${ident('id')}) WHERE ${ident('pending')} IS NOT NULL`,
      ];
    }
    if (spec.kind === 'history') {
      return [
        sql`CREATE TABLE IF NOT EXISTS ${ident(spec.name)} (${ident('id')} TEXT NOT NULL, ${VERSION_COLUMNS}, ${ident('deleted')} INTEGER NOT NULL, PRIMARY KEY (${ident('id')}, ${ident('version')}))`,
      ];
    }
    rowidName(spec.columns, spec.name); // refuses a table whose columns hide the row id its deletes use
    const columns = spec.columns.map(
      (c) =>
        sql`${ident(c.name)} ${sql.raw(SQL_TYPE[c.kind])} ${sql.raw(c.nullable ? 'NULL' : 'NOT NULL')}, `,
    );
    const key = sql.join([...spec.columns.map((c) => ident(c.name)), ident(INDEX_ID_COLUMN)], sql`, `);
    return [
      sql`CREATE TABLE IF NOT EXISTS ${ident(spec.name)} (${sql.join(columns)}${ident(INDEX_ID_COLUMN)} TEXT NOT NULL, ${ident(INDEX_VERSION_COLUMN)} INTEGER NOT NULL, PRIMARY KEY (${key}))`,
    ];
  }

  createMetaTable(): SQL {
    return sql`CREATE TABLE IF NOT EXISTS ${ident(META_TABLE)} (${ident('key')} TEXT PRIMARY KEY NOT NULL, ${ident('value')} TEXT NOT NULL)`;
  }
}
