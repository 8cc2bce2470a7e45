import {
  type ColumnKind,
  type ColumnType,
  type ColumnValue,
  type ColumnValues,
  compareValues,
} from './columns.js';
import { ValidationError } from './errors.js';
import { describe } from './names.js';

/** Who owns a column: the index name, so that a predicate can be checked to use one index only. */
export interface ColumnOwner {
  readonly name: string;
}

/**
 * One column of one index, as `index.c.<column>`. Its methods build predicates and
 * order terms; values are checked against the column type when the predicate is built.
 */
export class ColumnRef<K extends ColumnKind = ColumnKind> {
  /** @internal */
  constructor(
    readonly owner: ColumnOwner,
    readonly name: string,
    readonly type: ColumnType<K>,
  ) {}

  private value(value: unknown, what: string): ColumnValues[K] {
    const where = `${this.owner.name}.${this.name}.${what}()`;
    if (value === null || value === undefined) {
      throw new ValidationError(`${where}: got ${describe(value)}; use isNull() to match missing values`);
    }
    return this.type.normalize(value, where) as ColumnValues[K];
  }

  private cmp(op: CompareOp, value: unknown): Predicate {
    return { op, column: this, value: this.value(value, op) };
  }

  /** Equal to `value`. */
  eq(value: ColumnValues[K]): Predicate {
    return this.cmp('eq', value);
  }
  /** Not equal to `value` (a null column matches neither `eq` nor `ne`, as in SQL). */
  ne(value: ColumnValues[K]): Predicate {
    return this.cmp('ne', value);
  }
  /** Less than `value`. */
  lt(value: ColumnValues[K]): Predicate {
    return this.cmp('lt', value);
  }
  /** Less than or equal to `value`. */
  lte(value: ColumnValues[K]): Predicate {
    return this.cmp('lte', value);
  }
  /** Greater than `value`. */
  gt(value: ColumnValues[K]): Predicate {
    return this.cmp('gt', value);
  }
  /** Greater than or equal to `value`. */
  gte(value: ColumnValues[K]): Predicate {
    return this.cmp('gte', value);
  }
  /** Equal to one of `values` (an empty list matches nothing). */
  in(values: readonly ColumnValues[K][]): Predicate {
    if (!Array.isArray(values)) {
      throw new ValidationError(
        `${this.owner.name}.${this.name}.in(): expected an array, got ${describe(values)}`,
      );
    }
    return { op: 'in', column: this, values: values.map((v) => this.value(v, 'in')) };
  }
  /** Between `low` and `high`, both ends included. */
  between(low: ColumnValues[K], high: ColumnValues[K]): Predicate {
    return {
      op: 'between',
      column: this,
      low: this.value(low, 'between'),
      high: this.value(high, 'between'),
    };
  }
  /** The column is null. */
  isNull(): Predicate {
    return { op: 'isNull', column: this };
  }
  /** Text starting with `prefix`; `%` and `_` are ordinary characters. */
  startsWith(prefix: K extends 'text' ? string : never): Predicate {
    if (this.type.kind !== 'text') {
      throw new ValidationError(
        `${this.owner.name}.${this.name}.startsWith(): only text columns have prefixes, this one is ${this.type.kind}`,
      );
    }
    return { op: 'startsWith', column: this, prefix: this.value(prefix, 'startsWith') as string };
  }
  /** Ascending order on this column (nulls first). */
  asc(): OrderTerm {
    return { column: this, direction: 'asc' };
  }
  /** Descending order on this column (nulls last). */
  desc(): OrderTerm {
    return { column: this, direction: 'desc' };
  }
}

/** A comparison operator. */
export type CompareOp = 'eq' | 'ne' | 'lt' | 'lte' | 'gt' | 'gte';

/**
 * A predicate tree over the columns of one index. Built with `index.c.<column>`
 * methods and {@link and}, {@link or}, {@link not}; compiled to SQL by adapters
 * and evaluated in JavaScript by {@link evaluate}, with SQL's three-valued logic.
 */
export type Predicate =
  | { readonly op: CompareOp; readonly column: ColumnRef; readonly value: ColumnValue }
  | { readonly op: 'in'; readonly column: ColumnRef; readonly values: readonly ColumnValue[] }
  | {
      readonly op: 'between';
      readonly column: ColumnRef;
      readonly low: ColumnValue;
      readonly high: ColumnValue;
    }
  | { readonly op: 'isNull'; readonly column: ColumnRef }
  | { readonly op: 'startsWith'; readonly column: ColumnRef; readonly prefix: string }
  | { readonly op: 'and' | 'or'; readonly items: readonly Predicate[] }
  | { readonly op: 'not'; readonly item: Predicate }
  | { readonly op: 'const'; readonly value: boolean };

/** One term of an `orderBy`. */
export interface OrderTerm {
  readonly column: ColumnRef;
  readonly direction: 'asc' | 'desc';
}

function checkPredicates(what: string, items: readonly unknown[]): Predicate[] {
  items.forEach((p, i) => {
    if (!isPredicate(p))
      throw new ValidationError(`${what}(): argument ${i + 1} is not a predicate (${describe(p)})`);
  });
  return items as Predicate[];
}

/** All of the predicates hold (`and()` with none is true). */
export function and(...items: Predicate[]): Predicate {
  return { op: 'and', items: checkPredicates('and', items) };
}
/** At least one of the predicates holds (`or()` with none is false). */
export function or(...items: Predicate[]): Predicate {
  return { op: 'or', items: checkPredicates('or', items) };
}
/** The predicate does not hold (and is not unknown because of a null). */
export function not(item: Predicate): Predicate {
  return { op: 'not', item: checkPredicates('not', [item])[0]! };
}

const OPS = new Set([
  'eq',
  'ne',
  'lt',
  'lte',
  'gt',
  'gte',
  'in',
  'between',
  'isNull',
  'startsWith',
  'and',
  'or',
  'not',
  'const',
]);

/** True when `value` looks like a {@link Predicate}. */
export function isPredicate(value: unknown): value is Predicate {
  return typeof value === 'object' && value !== null && OPS.has((value as { op?: unknown }).op as string);
}

/** Calls `visit` on every column reference of a predicate. */
export function forEachColumn(predicate: Predicate, visit: (column: ColumnRef) => void): void {
  switch (predicate.op) {
    case 'and':
    case 'or':
      for (const item of predicate.items) forEachColumn(item, visit);
      return;
    case 'not':
      forEachColumn(predicate.item, visit);
      return;
    case 'const':
      return;
    default:
      visit(predicate.column);
  }
}

/** Reads the value of a column from an index row. */
export type RowReader = (column: ColumnRef) => ColumnValue;

/**
 * Evaluates a predicate against one index row with SQL semantics: `true`,
 * `false`, or `null` for unknown (a comparison with a null column). A row
 * matches only when the result is `true`.
 */
export function evaluate(predicate: Predicate, read: RowReader): boolean | null {
  switch (predicate.op) {
    case 'const':
      return predicate.value;
    case 'and': {
      let result: boolean | null = true;
      for (const item of predicate.items) {
        const r = evaluate(item, read);
        if (r === false) return false;
        if (r === null) result = null;
      }
      return result;
    }
    case 'or': {
      let result: boolean | null = false;
      for (const item of predicate.items) {
        const r = evaluate(item, read);
        if (r === true) return true;
        if (r === null) result = null;
      }
      return result;
    }
    case 'not': {
      const r = evaluate(predicate.item, read);
      return r === null ? null : !r;
    }
    case 'isNull':
      return read(predicate.column) === null;
    case 'in':
      // An empty list is an empty disjunction: false even for a null column, as in
      // SQL (`NULL IN ()` is 0 in SQLite, `NULL = ANY('{}')` false in PostgreSQL).
      if (predicate.values.length === 0) return false;
      break;
    default:
      break;
  }
  const value = read(predicate.column);
  if (value === null) return null;
  const kind = predicate.column.type.kind;
  switch (predicate.op) {
    case 'in':
      return predicate.values.some((v) => compareValues(kind, value, v) === 0);
    case 'between':
      return (
        compareValues(kind, predicate.low, value) <= 0 && compareValues(kind, value, predicate.high) <= 0
      );
    case 'startsWith':
      return (value as string).startsWith(predicate.prefix);
    default: {
      const c = compareValues(kind, value, predicate.value);
      switch (predicate.op) {
        case 'eq':
          return c === 0;
        case 'ne':
          return c !== 0;
        case 'lt':
          return c < 0;
        case 'lte':
          return c <= 0;
        case 'gt':
          return c > 0;
        case 'gte':
          return c >= 0;
      }
    }
  }
}

/**
 * The half-open range `[low, high)` of strings that start with `prefix`, in code
 * point order; `high` is undefined when no string bounds it. Adapters compile
 * `startsWith` to this range, which an ordinary B-tree index serves and which
 * needs no LIKE escaping.
 */
export function prefixRange(prefix: string): { low: string; high: string | undefined } {
  const points = Array.from(prefix, (ch) => ch.codePointAt(0)!);
  while (points.length > 0) {
    const last = points.pop()!;
    if (last < 0x10ffff) {
      points.push(last === 0xd7ff ? 0xe000 : last + 1);
      return { low: prefix, high: String.fromCodePoint(...points) };
    }
  }
  return { low: prefix, high: undefined };
}
