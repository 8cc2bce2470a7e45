import type { Doc, Index, OrderTerm } from '@waffle/core';
import { type ColumnValue, compareValues, evaluate, type Predicate } from '@waffle/core/adapter';

/**
 * The result `select(where, { orderBy, limit })` must give, computed by brute
 * force over every record: each record ranks at its first row (in query order)
 * that matches, ties broken by id in the direction of the last term.
 */
export function bruteForce<T>(
  records: readonly Doc<T>[],
  index: Index<T, any>,
  where: Predicate | undefined,
  orderBy: readonly OrderTerm[],
  limit?: number,
): string[] {
  const names = index.columnNames;
  const terms = orderBy.length
    ? orderBy.map((t) => ({
        position: names.indexOf(t.column.name),
        direction: t.direction,
        kind: t.column.type.kind,
      }))
    : names.map((n, position) => ({ position, direction: 'asc' as const, kind: index.columns[n]!.kind }));
  const unique = terms.filter((t, i) => terms.findIndex((u) => u.position === t.position) === i);
  const idDirection = unique[unique.length - 1]!.direction;
  const compare = (
    a: { values: readonly ColumnValue[]; id: string },
    b: { values: readonly ColumnValue[]; id: string },
  ) => {
    for (const t of unique) {
      const c = compareValues(t.kind, a.values[t.position]!, b.values[t.position]!);
      if (c !== 0) return t.direction === 'asc' ? c : -c;
    }
    const c = compareValues('text', a.id, b.id);
    return idDirection === 'asc' ? c : -c;
  };
  const ranked: { values: readonly ColumnValue[]; id: string }[] = [];
  for (const record of records) {
    let best: { values: readonly ColumnValue[]; id: string } | undefined;
    for (const values of index.rowsOf(record)) {
      const read = (ref: { name: string }) => values[names.indexOf(ref.name)]!;
      if (where && evaluate(where, read) !== true) continue;
      const candidate = { values, id: record.id };
      if (!best || compare(candidate, best) < 0) best = candidate;
    }
    if (best) ranked.push(best);
  }
  ranked.sort(compare);
  const ids = ranked.map((r) => r.id);
  return limit === undefined ? ids : ids.slice(0, limit);
}
