/**
 * The operations compared, and what a compared side is: a name and the
 * operations it supports (a peer leaves out what it cannot do).
 */

/** The operations of the comparison (S1, the scan, is measured apart, in child processes). */
export type OperationId = 'W0' | 'W1' | 'W2' | 'W3' | 'R1' | 'R2' | 'Q1' | 'Q2';

/** One operation: its label in the tables, its unit, and how many units one call does. */
export interface Operation {
  readonly id: OperationId;
  readonly label: string;
  readonly unit: 'ops/s' | 'docs/s' | 'q/s';
  readonly units: (sizes: { batch: number; many: number }) => number;
}

/**
 * In the order they are measured: W3 last, because it moves records out of
 * the time range the reads and queries pick from (Pongo's Q1 needs exactly
 * 100 documents in its range).
 */
export const OPERATIONS: readonly Operation[] = [
  { id: 'W0', label: 'W0 save one, no index', unit: 'ops/s', units: () => 1 },
  { id: 'W1', label: 'W1 save one, co-located index', unit: 'ops/s', units: () => 1 },
  { id: 'W2', label: 'W2 saveMany 500', unit: 'docs/s', units: (s) => s.batch },
  { id: 'R1', label: 'R1 get one', unit: 'ops/s', units: () => 1 },
  { id: 'R2', label: 'R2 getMany 100', unit: 'docs/s', units: (s) => s.many },
  { id: 'Q1', label: 'Q1 range 100, co-located index', unit: 'q/s', units: () => 1 },
  { id: 'Q2', label: 'Q2 range 100, index on 4 other shards', unit: 'q/s', units: () => 1 },
  { id: 'W3', label: 'W3 update, index value changes', unit: 'ops/s', units: () => 1 },
];

/** The order of the rows in the tables: the issue's. */
export const DISPLAY_ORDER: readonly OperationId[] = ['W0', 'W1', 'W2', 'W3', 'R1', 'R2', 'Q1', 'Q2'];

/** The names of the compared sides. */
export type SideName = 'raw' | 'waffle' | 'Keyv' | 'Pongo';

/** One compared implementation. Each operation checks its own result. */
export interface Side {
  readonly name: SideName;
  readonly ops: Partial<Record<OperationId, () => Promise<void>>>;
  close(): Promise<void>;
}

/** Throws when a benchmark's result is wrong, so that a fast wrong answer is never reported. */
export function sanityCheck(ok: boolean, what: string): void {
  if (!ok) throw new Error(`benchmark sanity check failed: ${what}`);
}
