/**
 * Compiles core's predicate trees and order terms to drizzle SQL, for any
 * dialect: the adapter says which SQL column stands for a column name and how
 * a value is bound. SQL's three-valued logic is intended: core's `evaluate`
 * follows the same rules, and the conformance suite checks that both agree.
 */
import {
  type ColumnKind,
  type ColumnRef,
  type ColumnValue,
  INDEX_ID_COLUMN,
  type IndexOrder,
  type Predicate,
  prefixRange,
  ValidationError,
} from '@waffle/core';
import {
  and,
  asc,
  between,
  desc,
  eq,
  gt,
  gte,
  inArray,
  isNull,
  lt,
  lte,
  ne,
  not,
  or,
  type SQL,
  type SQLWrapper,
  sql,
} from 'drizzle-orm';

/** How an adapter's index table looks to the compiler. */
export interface SqlColumns {
  /** The table name, for messages. */
  readonly table: string;
  /** The SQL column of a column name (`__id` included), and its kind; undefined when there is none. */
  column(name: string): { readonly column: SQLWrapper; readonly kind: ColumnKind } | undefined;
  /** A column value in the form the driver binds (e.g. booleans as 0/1). */
  bind(kind: ColumnKind, value: ColumnValue): unknown;
}

/** An index table as {@link indexSqlColumns} reads it: its name, its columns and its entity id column. */
export interface IndexTableColumns<C extends SQLWrapper> {
  readonly spec: { readonly name: string };
  readonly columns: readonly { readonly name: string; readonly kind: ColumnKind; readonly column: C }[];
  readonly id: C;
}

/**
 * The compiler's view of index tables (columns by name, `__id` as text),
 * built once per table: values bound by `bind`, columns handed over as they
 * are or as `wrap` makes them.
 */
export function indexSqlColumns<C extends SQLWrapper>(
  bind: SqlColumns['bind'],
  wrap: (column: C) => SQLWrapper = (column) => column,
): (t: IndexTableColumns<C>) => SqlColumns {
  const cache = new WeakMap<IndexTableColumns<C>, SqlColumns>();
  return (t) => {
    let columns = cache.get(t);
    if (!columns) {
      const byName = new Map(
        t.columns.map((c) => [c.name, { column: wrap(c.column), kind: c.kind }] as const),
      );
      const id = { column: wrap(t.id), kind: 'text' as const };
      columns = {
        table: t.spec.name,
        column: (name) => (name === INDEX_ID_COLUMN ? id : byName.get(name)),
        bind,
      };
      cache.set(t, columns);
    }
    return columns;
  };
}

/** Portable constants: every dialect reads `1=1` and `1=0` as booleans. */
const TRUE = sql`(1=1)`;
const FALSE = sql`(1=0)`;
const COMPARE = { eq, ne, lt, lte, gt, gte } as const;

function resolve(columns: SqlColumns, name: string): { column: SQLWrapper; kind: ColumnKind } {
  const found = columns.column(name);
  if (!found) throw new ValidationError(`Index "${columns.table}" has no column "${name}"`);
  return found;
}

function columnOf(columns: SqlColumns, ref: ColumnRef): { column: SQLWrapper; kind: ColumnKind } {
  const found = resolve(columns, ref.name);
  if (found.kind !== ref.type.kind) {
    throw new ValidationError(
      `Index "${columns.table}" column "${ref.name}" is ${found.kind}, but the predicate uses it as ${ref.type.kind}`,
    );
  }
  return found;
}

/** Joins conditions as a balanced tree, so long lists stay far below expression depth limits. */
function balanced(items: readonly SQL[], join: (a: SQL, b: SQL) => SQL | undefined): SQL {
  if (items.length === 1) return items[0]!;
  const middle = items.length >> 1;
  return join(balanced(items.slice(0, middle), join), balanced(items.slice(middle), join))!;
}

/** Compiles a predicate to an SQL condition. */
export function compilePredicate(columns: SqlColumns, predicate: Predicate): SQL {
  switch (predicate.op) {
    case 'const':
      return predicate.value ? TRUE : FALSE;
    case 'and':
      return predicate.items.length === 0
        ? TRUE
        : balanced(
            predicate.items.map((p) => compilePredicate(columns, p)),
            and,
          );
    case 'or':
      return predicate.items.length === 0
        ? FALSE
        : balanced(
            predicate.items.map((p) => compilePredicate(columns, p)),
            or,
          );
    case 'not':
      return sql`(${not(compilePredicate(columns, predicate.item))})`;
    default:
      return sql`(${compileLeaf(columns, predicate)})`;
  }
}

type Leaf = Exclude<Predicate, { op: 'and' | 'or' | 'not' | 'const' }>;

function compileLeaf(columns: SqlColumns, predicate: Leaf): SQL {
  const { column, kind } = columnOf(columns, predicate.column);
  const bind = (value: ColumnValue) => columns.bind(kind, value);
  switch (predicate.op) {
    case 'isNull':
      return isNull(column);
    case 'in':
      // An empty list is false, even for a null column (as in core's evaluate).
      return predicate.values.length === 0 ? FALSE : inArray(column, predicate.values.map(bind));
    case 'between':
      return between(column, bind(predicate.low), bind(predicate.high));
    case 'startsWith': {
      // A code point range on the binary order, never LIKE: no wildcards to escape, no case folding, index-friendly.
      const { low, high } = prefixRange(predicate.prefix);
      return high === undefined
        ? gte(column, bind(low))
        : and(gte(column, bind(low)), lt(column, bind(high)))!;
    }
    default:
      return COMPARE[predicate.op](column, bind(predicate.value));
  }
}

/**
 * Compiles order terms with nulls before every value (first ascending, last
 * descending). SQLite and MySQL order nulls so already; `explicitNulls` adds
 * `NULLS FIRST` / `NULLS LAST` for dialects that do not (PostgreSQL).
 */
export function compileOrder(
  columns: SqlColumns,
  orderBy: readonly IndexOrder[],
  explicitNulls = false,
): SQL[] {
  return orderBy.map((term) => {
    const { column } = resolve(columns, term.column);
    if (!explicitNulls) return term.direction === 'desc' ? desc(column) : asc(column);
    return term.direction === 'desc' ? sql`${column} DESC NULLS LAST` : sql`${column} ASC NULLS FIRST`;
  });
}
