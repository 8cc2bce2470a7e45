/**
 * Compiles core's predicate trees and order terms to SQL once per shape.
 * A predicate's shape is everything but its values (operators, columns and
 * their kinds, list lengths); its values are bound at each call, so the same
 * query with other values reuses the rendered text (and the server's prepared
 * statement). SQL's three-valued logic is intended: core's `evaluate` follows
 * the same rules, and the conformance suite checks that both agree.
 */

import { ValidationError } from '@waffle/core';
import {
  type ColumnKind,
  type ColumnRef,
  type ColumnValue,
  type IndexOrder,
  type Predicate,
  prefixRange,
} from '@waffle/core/adapter';
import { type SQL, sql } from 'drizzle-orm';

/** How a table's columns look to the compiler. */
export interface ColumnsView {
  /** The table name, for messages. */
  readonly table: string;
  /** The SQL expression of a column name (`__id` included), and its kind; undefined when there is none. */
  column(name: string): { readonly sql: SQL; readonly kind: ColumnKind } | undefined;
}

/** A value to bind, with the kind of the column it is compared with. */
export interface KindedValue {
  readonly kind: ColumnKind;
  readonly value: ColumnValue;
}

/** What a predicate binds, and the key of its shape. */
export interface Flat {
  readonly shape: string;
  readonly values: KindedValue[];
}

/** A predicate's shape key and its values, in the order {@link compilePredicate} places them. */
export function flatten(predicate: Predicate | undefined): Flat {
  const values: KindedValue[] = [];
  const parts: string[] = [];
  const walk = (p: Predicate): void => {
    switch (p.op) {
      case 'const':
        parts.push(p.value ? 'T' : 'F');
        return;
      case 'and':
      case 'or':
        parts.push(`${p.op}(`);
        for (const item of p.items) walk(item);
        parts.push(')');
        return;
      case 'not':
        parts.push('not(');
        walk(p.item);
        parts.push(')');
        return;
      default: {
        const kind = p.column.type.kind;
        parts.push(`${p.op}:${JSON.stringify(p.column.name)}:${kind}`);
        const add = (value: ColumnValue) => values.push({ kind, value });
        switch (p.op) {
          case 'isNull':
            return;
          case 'in':
            parts.push(`#${p.values.length}`);
            p.values.forEach(add);
            return;
          case 'between':
            add(p.low);
            add(p.high);
            return;
          case 'startsWith': {
            const { low, high } = prefixRange(p.prefix);
            add(low);
            if (high === undefined) parts.push('open');
            else add(high);
            return;
          }
          default:
            add(p.value);
        }
      }
    }
  };
  if (predicate !== undefined) walk(predicate);
  return { shape: parts.join(' '), values };
}

/** Portable constants: every dialect reads `1=1` and `1=0` as booleans. */
const TRUE = sql`(1=1)`;
const FALSE = sql`(1=0)`;
const COMPARE = { eq: '=', ne: '<>', lt: '<', lte: '<=', gt: '>', gte: '>=' } as const;

function resolve(columns: ColumnsView, name: string): { sql: SQL; kind: ColumnKind } {
  const found = columns.column(name);
  if (!found) throw new ValidationError(`Index "${columns.table}" has no column "${name}"`);
  return found;
}

function columnOf(columns: ColumnsView, ref: ColumnRef): SQL {
  const found = resolve(columns, ref.name);
  if (found.kind !== ref.type.kind) {
    throw new ValidationError(
      `Index "${columns.table}" column "${ref.name}" is ${found.kind}, but the predicate uses it as ${ref.type.kind}`,
    );
  }
  return found.sql;
}

/** Joins conditions as a balanced tree, so long lists stay far below expression depth limits. */
function balanced(items: readonly SQL[], join: string): SQL {
  if (items.length === 1) return items[0]!;
  const middle = items.length >> 1;
  return sql`(${balanced(items.slice(0, middle), join)} ${sql.raw(join)} ${balanced(items.slice(middle), join)})`;
}

/**
 * Compiles a predicate to an SQL condition whose values are the placeholders
 * `next(kind)` hands out (`kind`: the column's, compared with the value), in
 * {@link flatten}'s order.
 */
export function compilePredicate(
  columns: ColumnsView,
  predicate: Predicate,
  next: (kind: ColumnKind) => SQL,
): SQL {
  switch (predicate.op) {
    case 'const':
      return predicate.value ? TRUE : FALSE;
    case 'and':
      return predicate.items.length === 0
        ? TRUE
        : balanced(
            predicate.items.map((p) => compilePredicate(columns, p, next)),
            'and',
          );
    case 'or':
      return predicate.items.length === 0
        ? FALSE
        : balanced(
            predicate.items.map((p) => compilePredicate(columns, p, next)),
            'or',
          );
    case 'not':
      return sql`(not ${compilePredicate(columns, predicate.item, next)})`;
  }
  const column = columnOf(columns, predicate.column);
  const kind = predicate.column.type.kind;
  switch (predicate.op) {
    case 'isNull':
      return sql`(${column} is null)`;
    case 'in':
      // An empty list is false, even for a null column (as in core's evaluate).
      return predicate.values.length === 0
        ? FALSE
        : sql`(${column} in (${sql.join(
            predicate.values.map(() => next(kind)),
            sql`, `,
          )}))`;
    case 'between': {
      const low = next(kind);
      return sql`(${column} between ${low} and ${next(kind)})`;
    }
    case 'startsWith': {
      // A code point range on the binary order, never LIKE: no wildcards to escape, no case folding, index-friendly.
      const low = next(kind);
      return prefixRange(predicate.prefix).high === undefined
        ? sql`(${column} >= ${low})`
        : sql`(${column} >= ${low} and ${column} < ${next(kind)})`;
    }
    default:
      return sql`(${column} ${sql.raw(COMPARE[predicate.op])} ${next(kind)})`;
  }
}

/** The shape key of order terms. */
export function orderShape(orderBy: readonly IndexOrder[]): string {
  return orderBy
    .map((term) => `${JSON.stringify(term.column)}${term.direction === 'desc' ? '-' : '+'}`)
    .join(',');
}

/**
 * Compiles order terms with nulls before every value (first ascending, last
 * descending). SQLite and MySQL order nulls so already; `explicitNulls` adds
 * `NULLS FIRST` / `NULLS LAST` for dialects that do not (PostgreSQL).
 */
export function compileOrder(
  columns: ColumnsView,
  orderBy: readonly IndexOrder[],
  explicitNulls: boolean,
): SQL {
  return sql.join(
    orderBy.map((term) => {
      const column = resolve(columns, term.column).sql;
      if (!explicitNulls) return term.direction === 'desc' ? sql`${column} desc` : sql`${column} asc`;
      return term.direction === 'desc' ? sql`${column} desc nulls last` : sql`${column} asc nulls first`;
    }),
    sql`, `,
  );
}
