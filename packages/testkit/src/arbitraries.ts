import { and, not, or } from '@waffle/core';
import type { ColumnKind, ColumnRef, ColumnValue, Predicate } from '@waffle/core/adapter';
import fc from 'fast-check';

const date = (ms: number) => new Date(ms);

/**
 * Small value domains per column kind, with each type's extremes and the
 * characters where dialects tend to differ (case, `%` and `_`, accents,
 * characters above U+FFFF), so that random predicates often match.
 */
export const valueArbitraries: { readonly [K in ColumnKind]: fc.Arbitrary<ColumnValue> } = {
  integer: fc.oneof(fc.constantFrom(-2147483648, -1, 0, 1, 2147483647), fc.integer({ min: -3, max: 3 })),
  bigint: fc.constantFrom(-(2n ** 63n), -1n, 0n, 1n, 2n ** 53n + 1n, 2n ** 63n - 1n),
  real: fc.constantFrom(-1.7976931348623157e308, -1.5, -0.1, 0, 1e-300, 0.1, 2.25, 1.7976931348623157e308),
  text: fc.constantFrom(
    '',
    'a',
    'A',
    'ab',
    'aB',
    'a%',
    'a_',
    '_',
    '%',
    'a ',
    'é',
    'e\u0301',
    '\uffff',
    '𝒳',
    '𝒳a',
    'a\uffff',
    'z',
  ),
  boolean: fc.boolean(),
  timestamp: fc
    .constantFrom(
      Date.parse('0001-01-01T00:00:00.000Z'),
      -1,
      0,
      1,
      1e12,
      Date.UTC(9999, 11, 31, 23, 59, 59, 999),
    )
    .map(date),
  bytes: fc
    .constantFrom([], [0], [0, 0], [1], [0x7f], [0x80], [255], [0, 255], [255, 0])
    .map((b) => new Uint8Array(b)),
};

/** Prefixes for `startsWith`, including LIKE wildcards that must be taken literally. */
export const prefixArbitrary = fc.constantFrom('', 'a', 'A', 'a%', '%', '_', 'a_', 'é', '𝒳', '\uffff');

/** A leaf predicate on one column. */
function leaf(ref: ColumnRef, values: fc.Arbitrary<ColumnValue>): fc.Arbitrary<Predicate> {
  const r = ref as ColumnRef<any>;
  const options: fc.Arbitrary<Predicate>[] = [
    fc
      .tuple(fc.constantFrom('eq', 'ne', 'lt', 'lte', 'gt', 'gte' as const), values)
      .map(([op, v]) => r[op](v)),
    fc.array(values, { maxLength: 4 }).map((vs) => r.in(vs)),
    fc.tuple(values, values).map(([a, b]) => r.between(a, b)),
    fc.constant(r.isNull()),
  ];
  if (ref.type.kind === 'text') options.push(prefixArbitrary.map((p) => r.startsWith(p)));
  return fc.oneof(...options);
}

/** Random predicate trees (and, or, not; depth ≤ 3) over the given columns. */
export function predicateArbitrary(
  columns: readonly { ref: ColumnRef; values?: fc.Arbitrary<ColumnValue> }[],
): fc.Arbitrary<Predicate> {
  const leaves = fc.oneof(...columns.map((c) => leaf(c.ref, c.values ?? valueArbitraries[c.ref.type.kind])));
  const { node } = fc.letrec<{ node: Predicate }>((tie) => ({
    node: fc.oneof(
      { maxDepth: 3, depthIdentifier: 'predicate' },
      leaves,
      fc.array(tie('node'), { maxLength: 3 }).map((items) => and(...items)),
      fc.array(tie('node'), { maxLength: 3 }).map((items) => or(...items)),
      tie('node').map((item) => not(item)),
    ),
  }));
  return node;
}

/** A random orderBy over the given columns: distinct columns, random directions. */
export function orderArbitrary(columns: readonly ColumnRef[]) {
  return fc
    .shuffledSubarray([...columns], { minLength: 0, maxLength: columns.length })
    .chain((refs) =>
      fc
        .array(fc.boolean(), { minLength: refs.length, maxLength: refs.length })
        .map((desc) => refs.map((ref, i) => (desc[i] ? ref.desc() : ref.asc()))),
    );
}
