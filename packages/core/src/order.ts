import { type ColumnValue, compareValues } from './columns.js';
import type { ColumnRef, Predicate } from './predicate.js';
import type { IndexOrder, IndexRow } from './types.js';

/** One resolved sort key part: which column (a position in the row, or the id) and which way. */
export interface KeyPart {
  readonly ref: ColumnRef;
  /** Position in the index row's values, or -1 for the entity id. */
  readonly position: number;
  readonly direction: 'asc' | 'desc';
}

/** The value of a key part in an index row. */
export function partValue(part: KeyPart, row: { id: string; values: readonly ColumnValue[] }): ColumnValue {
  return part.position < 0 ? row.id : row.values[part.position]!;
}

/** Compares two keys (value lists) part by part, honouring each part's direction. */
export function compareKeys(
  parts: readonly KeyPart[],
  a: readonly ColumnValue[],
  b: readonly ColumnValue[],
): number {
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const c = compareValues(part.ref.type.kind, a[i]!, b[i]!);
    if (c !== 0) return part.direction === 'asc' ? c : -c;
  }
  return 0;
}

/** The key of an index row under `parts`. */
export function rowKey(
  parts: readonly KeyPart[],
  row: { id: string; values: readonly ColumnValue[] },
): ColumnValue[] {
  return parts.map((p) => partValue(p, row));
}

/** Compares index rows under `parts`. */
export function compareRows(parts: readonly KeyPart[], a: IndexRow, b: IndexRow): number {
  for (const part of parts) {
    const c = compareValues(part.ref.type.kind, partValue(part, a), partValue(part, b));
    if (c !== 0) return part.direction === 'asc' ? c : -c;
  }
  return 0;
}

/** The order as adapters receive it. */
export function toIndexOrder(parts: readonly KeyPart[]): IndexOrder[] {
  return parts.map((p) => ({ column: p.ref.name, direction: p.direction }));
}

/**
 * The predicate "strictly after `key`" in the order of `parts` (keyset
 * pagination), with nulls before every value. `undefined` when nothing can come after.
 */
export function afterKey(parts: readonly KeyPart[], key: readonly ColumnValue[]): Predicate | undefined {
  const disjuncts: Predicate[] = [];
  const equal: Predicate[] = [];
  for (let i = 0; i < parts.length; i++) {
    const { ref, direction } = parts[i]!;
    const value = key[i]!;
    let beyond: Predicate | undefined;
    if (value === null) {
      beyond = direction === 'asc' ? { op: 'not', item: { op: 'isNull', column: ref } } : undefined;
    } else if (direction === 'asc') {
      beyond = { op: 'gt', column: ref, value };
    } else {
      beyond = {
        op: 'or',
        items: [
          { op: 'lt', column: ref, value },
          { op: 'isNull', column: ref },
        ],
      };
    }
    if (beyond) disjuncts.push(equal.length ? { op: 'and', items: [...equal, beyond] } : beyond);
    equal.push(value === null ? { op: 'isNull', column: ref } : { op: 'eq', column: ref, value });
  }
  if (disjuncts.length === 0) return undefined;
  return disjuncts.length === 1 ? disjuncts[0] : { op: 'or', items: disjuncts };
}
