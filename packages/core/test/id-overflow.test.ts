/**
 * The counter of uuidv7 running out within one millisecond. Its own file:
 * it moves the generator's clock ahead of the real one, which the other id
 * tests (the creation time an id carries) must not see.
 */
import { expect, it } from 'vitest';
import { uuidv7 } from '../src/index.js';

const timeOf = (id: string) => Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16);
const counterOf = (id: string) => Number.parseInt(id.replace(/-/g, '').slice(13, 16), 16);

it('more than 4,096 ids in one millisecond carry into the next one and keep increasing', () => {
  const now = Date.now() + 60_000;
  const ids = Array.from({ length: 5000 }, () => uuidv7(now));
  for (let i = 1; i < ids.length; i++) {
    if (!(ids[i - 1]! < ids[i]!))
      expect.fail(`ids[${i - 1}] = ${ids[i - 1]} is not below ids[${i}] = ${ids[i]}`);
  }
  expect(timeOf(ids[0]!)).toBe(now);
  // The counter starts in the lower half of its 12 bits, so 5,000 ids overflow it once.
  expect(counterOf(ids[0]!)).toBeLessThan(0x800);
  const carried = ids.findIndex((id) => timeOf(id) === now + 1);
  expect(carried).toBeGreaterThan(2048);
  expect(carried).toBeLessThanOrEqual(4096);
  expect(counterOf(ids[carried - 1]!)).toBe(0xfff);
  expect(counterOf(ids[carried]!)).toBe(0);
  expect(timeOf(ids.at(-1)!)).toBe(now + 1);
});
