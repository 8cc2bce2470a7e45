/** What a scan's child process is asked to do, and what it answers. */
import type { Dialect } from '@waffle/testkit';

/** One scan: a side's table on a dialect's target, read in pages. */
export interface ScanJob {
  readonly dialect: Dialect;
  readonly side: 'waffle' | 'raw';
  /** A URL with its database, or a libSQL file. */
  readonly target: string;
  readonly table: string;
  readonly page: number;
  /** The records the table holds: the child checks it read them all. */
  readonly count: number;
}

/** The child's answer, one line of JSON on its standard output. */
export interface ScanAnswer {
  /** Records read per second. */
  readonly rate: number;
  /** The child's peak resident set size, in bytes. */
  readonly peakRss: number;
}
