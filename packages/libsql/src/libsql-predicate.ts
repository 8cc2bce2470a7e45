/**
 * Compiles core's predicate trees and order terms to drizzle SQL over an index
 * table, with SQL's three-valued logic (core's `evaluate` follows the same rules).
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
  sql,
} from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import type { IndexTable } from './libsql-tables.js';
import { toStorage } from './libsql-values.js';

const TRUE = sql`1`;
const FALSE = sql`0`;
const COMPARE = { eq, ne, lt, lte, gt, gte } as const;

/** The SQL column and kind behind a column name of an index table (`__id` included). */
export function resolveColumn(table: IndexTable, name: string): { column: SQLiteColumn; kind: ColumnKind } {
  if (name === INDEX_ID_COLUMN) return { column: table.id, kind: 'text' };
  const found = table.columns.find((c) => c.name === name);
  if (found === undefined) {
    throw new ValidationError(`Index "${table.spec.name}" has no column "${name}"`);
  }
  return found;
}

function columnOf(table: IndexTable, ref: ColumnRef): { column: SQLiteColumn; kind: ColumnKind } {
  const resolved = resolveColumn(table, ref.name);
  if (resolved.kind !== ref.type.kind) {
    throw new ValidationError(
      `Index "${table.spec.name}" column "${ref.name}" is ${resolved.kind}, but the predicate uses it as ${ref.type.kind}`,
    );
  }
  return resolved;
}

/** Joins conditions as a balanced tree, so long lists stay far below SQLite's expression depth limit. */
function balanced(items: readonly SQL[], join: (a: SQL, b: SQL) => SQL | undefined): SQL {
  if (items.length === 1) return items[0]!;
  const middle = items.length >> 1;
  return join(balanced(items.slice(0, middle), join), balanced(items.slice(middle), join))!;
}

/** Compiles a predicate to an SQL condition on `table`. */
export function compilePredicate(table: IndexTable, predicate: Predicate): SQL {
  switch (predicate.op) {
    case 'const':
      return predicate.value ? TRUE : FALSE;
    case 'and':
      return predicate.items.length === 0
        ? TRUE
        : balanced(
            predicate.items.map((p) => compilePredicate(table, p)),
            and,
          );
    case 'or':
      return predicate.items.length === 0
        ? FALSE
        : balanced(
            predicate.items.map((p) => compilePredicate(table, p)),
            or,
          );
    case 'not':
      return sql`(${not(compilePredicate(table, predicate.item))})`;
    default:
      return sql`(${compileLeaf(table, predicate)})`;
  }
}

type Leaf = Exclude<Predicate, { op: 'and' | 'or' | 'not' | 'const' }>;

function compileLeaf(table: IndexTable, predicate: Leaf): SQL {
  const { column, kind } = columnOf(table, predicate.column);
  const bind = (value: ColumnValue) => toStorage(kind, value);
  switch (predicate.op) {
    case 'isNull':
      return isNull(column);
    case 'in':
      // An empty list is false, even for a null column (as in core's evaluate and SQLite's `NULL IN ()`).
      return predicate.values.length === 0 ? FALSE : inArray(column, predicate.values.map(bind));
    case 'between':
      return between(column, bind(predicate.low), bind(predicate.high));
    case 'startsWith': {
      // A code point range, never LIKE: SQLite's LIKE ignores case and treats % and _ as wildcards.
      const { low, high } = prefixRange(predicate.prefix);
      return high === undefined ? gte(column, low) : and(gte(column, low), lt(column, high))!;
    }
    default:
      return COMPARE[predicate.op](column, bind(predicate.value));
  }
}

/** Compiles order terms; SQLite already puts nulls first ascending and last descending. */
export function compileOrder(table: IndexTable, orderBy: readonly IndexOrder[]): SQL[] {
  return orderBy.map((term) => {
    const { column } = resolveColumn(table, term.column);
    return term.direction === 'desc' ? desc(column) : asc(column);
  });
}
