/**
 * The tables of one side in a run: every name starts with the run's prefix
 * and a side letter, so that the raw side's tables are waffle's with `_w_`
 * replaced by `_r_` (their DDL is copied that way) and cleaning up finds them
 * all by prefix.
 */

/** The tables of one side. */
export interface TableNames {
  /** Records of W0: records only, no index. */
  readonly plain: string;
  /** Records of W1-W3, R1, R2, Q1. */
  readonly post: string;
  /** The co-located index of `post` (on the records' own database). */
  readonly time: string;
  /** Records of Q2. */
  readonly post2: string;
  /** The index of `post2` on the four other databases. */
  readonly other: string;
  /** The scanned tables of S1, by size. */
  readonly scan: readonly [small: string, large: string];
}

/** The names of side `side` (`w` waffle, `r` raw) in the run of `prefix`. */
export function tableNames(prefix: string, side: 'w' | 'r'): TableNames {
  const p = `${prefix}_${side}_`;
  return {
    plain: `${p}plain`,
    post: `${p}post`,
    time: `${p}time`,
    post2: `${p}post2`,
    other: `${p}other`,
    scan: [`${p}scan1`, `${p}scan2`],
  };
}

/** `text` (a name, or DDL) with waffle's table names of the run `prefix` changed to the raw side's. */
export function toRawNames(prefix: string, text: string): string {
  return text.replaceAll(`${prefix}_w_`, `${prefix}_r_`);
}

/** The tables on the records' database, as pairs of waffle's name and the raw side's. */
export function recordTablePairs(waffle: TableNames, raw: TableNames): [from: string, to: string][] {
  return [
    [waffle.plain, raw.plain],
    [waffle.post, raw.post],
    [waffle.time, raw.time],
    [waffle.post2, raw.post2],
    ...waffle.scan.map((table, i): [string, string] => [table, raw.scan[i]!]),
  ];
}
