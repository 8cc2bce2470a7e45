/** Splits items into consecutive lists of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Rows per statement so that one statement binds at most `maxParameters` values. */
export function rowsPerStatement(parametersPerRow: number, maxParameters: number): number {
  return Math.max(1, Math.floor(maxParameters / Math.max(1, parametersPerRow)));
}
