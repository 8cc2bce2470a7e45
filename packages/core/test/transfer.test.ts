import { describe, expect, it } from 'vitest';
import { ConflictError, ImportError } from '../src/index.js';
import { changedUnder } from '../src/transfer.js';
import type { Pending } from '../src/write-path.js';

/** A line of an import whose write expected `expected`, as the import keeps it. */
const item = (expected: number) => ({
  line: 7,
  id: 'r1',
  pending: { expected } as Pending<unknown>,
});

describe("an import line that lost every try to other writers (onConflict: 'replace')", () => {
  it('names the line, the record, the version it last expected and what it found, with the conflict as cause', () => {
    const cases: [ConflictError, string][] = [
      [new ConflictError('r1', 3, 4), 'found version 4'],
      [new ConflictError('r1', 3, 5, true), 'found deleted at version 5'],
      // The record gone without a tombstone (never stored, or its row removed): said so, not "version undefined".
      [new ConflictError('r1', 3, undefined), 'found no stored record'],
    ];
    for (const [conflict, found] of cases) {
      const error = changedUnder(item(3), conflict);
      expect(error).toBeInstanceOf(ImportError);
      expect(error.line).toBe(7);
      expect(error.cause).toBe(conflict);
      expect(error.message).toBe(
        `line 7: record "r1" was changed by another writer before each of the 6 tries to write it (the last expected version 3, ${found})`,
      );
    }
  });
});
