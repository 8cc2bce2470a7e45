/** What a run found on one dialect: the figures of every side, notes, or the error that stopped it. */
import type { Dialect } from '@waffle/testkit';
import type { ScanFigures } from './scan/spawn.js';
import type { Operation, SideName } from './workload/operations.js';

/** One operation's median rate per side (sides that do not support it are absent). */
export interface OperationResult {
  readonly id: Operation['id'];
  readonly label: string;
  readonly unit: Operation['unit'];
  readonly figures: Partial<Record<SideName, number>>;
  /** Per side, the median time the garbage collector took, in milliseconds per second of its rounds. */
  readonly gcMsPerSecond?: Partial<Record<SideName, number>>;
}

/** S1 on one dialect. */
export interface ScanResult {
  readonly sizes: readonly [small: number, large: number];
  readonly page: number;
  readonly figures: Partial<Record<'waffle' | 'raw', ScanFigures>>;
}

/** Everything measured on one dialect. */
export interface DialectResult {
  readonly dialect: Dialect;
  server: string;
  readonly notes: string[];
  readonly operations: OperationResult[];
  scan?: ScanResult;
  /** Set when the run of this dialect failed: what was measured before stays. */
  error?: string;
}
