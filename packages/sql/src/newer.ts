/**
 * What `'older'` writes ("apply if newer", a replica's copy of a version
 * committed elsewhere) need besides their statements: the check of a
 * commit's writes, and a driver view of a transaction for the dialect's
 * index-row operations.
 */
import { ValidationError } from '@waffle/core';
import type { RecordWrite } from '@waffle/core/adapter';
import type { Driver, Result, Runner } from './driver.js';

/**
 * Whether a commit's writes are `'older'` writes (true) or inserts and
 * compare-and-sets (false). Refuses, before any SQL, a commit that mixes
 * both, and `'older'` writes that repeat an id.
 */
export function appliesIfNewer(writes: readonly RecordWrite[]): boolean {
  let newer = 0;
  for (const w of writes) if (w.expected === 'older') newer++;
  if (newer === 0) return false;
  if (newer < writes.length) {
    throw new ValidationError(
      `A commit's writes are either all 'older' (apply if newer) or none: this one has ${newer} 'older' writes among ${writes.length}`,
    );
  }
  const ids = new Set<string>();
  for (const w of writes) {
    if (ids.has(w.row.id)) {
      throw new ValidationError(
        `A commit's 'older' writes have distinct ids: "${w.row.id}" is written twice`,
      );
    }
    ids.add(w.row.id);
  }
  return true;
}

/**
 * A driver whose statements run in the transaction `tx`: a batch runs its
 * statements one after the other, a transaction is `tx` itself (the outer
 * one, committed or rolled back as a whole).
 */
export function transactionDriver(name: string, tx: Runner): Driver {
  return {
    name,
    run: (statement) => tx.run(statement),
    async batch(statements) {
      const results: Result[] = [];
      for (const statement of statements) results.push(await tx.run(statement));
      return results;
    },
    transaction: (work) => work(tx),
    close: () => Promise.resolve(),
  };
}
