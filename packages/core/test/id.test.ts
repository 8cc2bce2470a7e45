import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../src/index.js';
import { checkId } from '../src/names.js';

const FORMAT = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The 48-bit millisecond timestamp at the head of a v7 UUID. */
const timeOf = (id: string) => Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16);

describe('uuidv7', () => {
  it('has the RFC 9562 version 7 layout', () => {
    for (let i = 0; i < 1000; i++) {
      const id = uuidv7();
      expect(id).toMatch(FORMAT);
      expect(checkId(id)).toBe(id);
    }
  });

  it('10,000 ids made in a tight loop are unique and strictly increasing as strings', () => {
    const ids: string[] = [];
    for (let i = 0; i < 10_000; i++) ids.push(uuidv7());
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 1; i < ids.length; i++) {
      if (!(ids[i - 1]! < ids[i]!))
        expect.fail(`ids[${i - 1}] = ${ids[i - 1]} is not below ids[${i}] = ${ids[i]}`);
    }
    for (const id of ids) expect(id).toMatch(FORMAT);
  });

  it('carries the creation time in milliseconds', () => {
    const before = Date.now();
    const id = uuidv7();
    const after = Date.now();
    // The counter may have carried into a later millisecond after a burst, never an earlier one.
    expect(timeOf(id)).toBeGreaterThanOrEqual(before);
    expect(timeOf(id)).toBeLessThanOrEqual(after + 10);
  });

  it('keeps increasing when the clock steps back', () => {
    const now = Date.now();
    const ids = [uuidv7(now + 5000), uuidv7(now + 1000), uuidv7(now), uuidv7(now + 5000)];
    for (let i = 1; i < ids.length; i++) expect(ids[i - 1]! < ids[i]!).toBe(true);
    expect(timeOf(ids[0]!)).toBe(now + 5000);
    for (const id of ids) expect(id).toMatch(FORMAT);
  });
});

describe('uuidv7 random bits', () => {
  it('every id has its own random tail, across refills of the random pool', () => {
    // 1,000 ids draw 10,000 random bytes: the 4 KiB pool is refilled twice on the way.
    const tails = new Set<string>();
    for (let i = 0; i < 1000; i++) tails.add(uuidv7().slice(-12));
    expect(tails.size).toBe(1000);
    expect(tails.has('000000000000')).toBe(false);
  });
});
