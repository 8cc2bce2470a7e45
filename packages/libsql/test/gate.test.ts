import { describe, expect, it } from 'vitest';
import { Gate } from '../src/libsql-gate.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('Gate', () => {
  it('runs shared work together, exclusive work alone, first come first served', async () => {
    const gate = new Gate();
    const log: string[] = [];
    const job = (name: string, exclusive: boolean) =>
      (exclusive ? gate.exclusive.bind(gate) : gate.shared.bind(gate))(async () => {
        log.push(`${name}+`);
        await tick();
        log.push(`${name}-`);
        return name;
      });
    const results = await Promise.all([
      job('s1', false),
      job('s2', false),
      job('x1', true),
      job('s3', false),
      job('x2', true),
    ]);
    expect(results).toEqual(['s1', 's2', 'x1', 's3', 'x2']);
    expect(log).toEqual(['s1+', 's2+', 's1-', 's2-', 'x1+', 'x1-', 's3+', 's3-', 'x2+', 'x2-']);
  });

  it('releases the gate when work fails', async () => {
    const gate = new Gate();
    await expect(gate.exclusive(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(gate.shared(async () => 'after')).resolves.toBe('after');
    await expect(gate.exclusive(async () => 'again')).resolves.toBe('again');
  });
});
