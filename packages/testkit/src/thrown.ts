import { SerializationError } from '@waffle/core';
import { expect } from 'vitest';

/** The error `work` throws; fails the test when it throws nothing. */
export function thrown(work: () => unknown, what = 'this call'): Error {
  let result: unknown;
  try {
    result = work();
  } catch (error) {
    return error as Error;
  }
  throw new Error(`expected an error for ${what}, but got ${String(result)}`);
}

/** The {@link SerializationError} `work` throws; fails the test on any other outcome. */
export function serializationError(work: () => unknown, what?: string): SerializationError {
  const error = thrown(work, what);
  expect(SerializationError.is(error), `not a SerializationError: ${String(error)}`).toBe(true);
  return error as SerializationError;
}
