/** Checks of option values shared by the entity's methods; each throws a {@link ValidationError} naming the option. */
import { ValidationError } from './errors.js';
import { describe } from './names.js';

/** How a write keeps the indices: see `EntityOptions.mode`. */
export type WriteMode = 'sync' | 'async';

/** Checks an integer option of at least `min` (0 or 1). */
export function checkCount(value: unknown, min: 0 | 1, where: string, name: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < min) {
    throw new ValidationError(
      `${where}: ${name} must be a ${min === 1 ? 'positive' : 'non-negative'} integer, got ${describe(value)}`,
    );
  }
  return value as number;
}

/** Checks a write mode (undefined passes). */
export function checkMode(mode: unknown, where: string): WriteMode | undefined {
  if (mode === undefined || mode === 'sync' || mode === 'async') return mode;
  throw new ValidationError(`${where}: mode must be "sync" or "async", got ${describe(mode)}`);
}

/** Checks that a method's options are an object. */
export function checkOptions(options: unknown, where: string): void {
  if (typeof options !== 'object' || options === null) {
    throw new ValidationError(`${where}: options must be an object, got ${describe(options)}`);
  }
}
