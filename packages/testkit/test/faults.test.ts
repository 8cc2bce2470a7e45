import { ShardUnavailableError } from '@waffle/core';
import type { Shard } from '@waffle/core/adapter';
import { describe, expect, it } from 'vitest';
import { Faults } from '../src/faults.js';

function memoryShard(log: string[]): Shard {
  const op = (name: string) => async () => {
    log.push(name);
    return [];
  };
  return {
    name: 'memory',
    limits: { maxParameters: 10 },
    getRecords: op('getRecords'),
    scanRecords: op('scanRecords'),
    commit: op('commit'),
    clearNotes: op('clearNotes'),
    getHistory: op('getHistory'),
    putIndexRows: op('putIndexRows'),
    deleteIndexRows: op('deleteIndexRows'),
    queryIndex: op('queryIndex'),
    countIndex: op('countIndex'),
    countRows: op('countRows'),
    createTables: async () => {},
    dropTables: async () => {},
    readMeta: async () => new Map(),
    writeMeta: async (_k: string, v: string) => v,
    replaceMeta: async () => true,
    close: async () => {},
  } as unknown as Shard;
}

describe('Faults', () => {
  it('fails exactly the armed call, counting over every wrapped shard', async () => {
    const log: string[] = [];
    const faults = new Faults();
    const [a, b] = [faults.wrap(memoryShard(log)), faults.wrap(memoryShard(log))];
    const table = { kind: 'entity' as const, name: 't' };
    await a!.getRecords(table, []); // not armed: counted, never failing
    faults.arm({ failAt: 2 });
    await a!.getRecords(table, []);
    const error = await b!.putIndexRows({ kind: 'index', name: 'i', columns: [] }, []).catch((e) => e);
    expect(error).toBeInstanceOf(ShardUnavailableError);
    expect(error.message).toBe('Injected fault at call 2 (putIndexRows on memory)');
    await b!.commit({ table, writes: [] });
    expect(log).toEqual(['getRecords', 'getRecords', 'commit']);
    expect(faults.failures).toBe(1);
  });

  it('counts and fails only the operations named in `only`', async () => {
    const log: string[] = [];
    const faults = new Faults();
    const shard = faults.wrap(memoryShard(log));
    const table = { kind: 'entity' as const, name: 't' };
    const index = { kind: 'index' as const, name: 'i', columns: [] };
    faults.arm({ failAt: 2, only: ['deleteIndexRows', 'clearNotes'] });
    await shard.deleteIndexRows(index, []);
    await shard.getRecords(table, []);
    await shard.putIndexRows(index, []);
    const error = await shard.clearNotes(table, [{ id: 'a', version: 1 }]).catch((e) => e);
    expect(error).toBeInstanceOf(ShardUnavailableError);
    expect(error.message).toBe('Injected fault at call 2 (clearNotes on memory)');
    await shard.scanRecords(table, { limit: 1, notes: true });
    expect(log).toEqual(['deleteIndexRows', 'getRecords', 'putIndexRows', 'scanRecords']);
    expect(faults).toMatchObject({ calls: 2, failures: 1 });
  });

  it('keeps failing when persistent, until disarmed', async () => {
    const log: string[] = [];
    const faults = new Faults();
    const shard = faults.wrap(memoryShard(log));
    const table = { kind: 'entity' as const, name: 't' };
    faults.arm({ failAt: 2, persistent: true });
    await shard.getRecords(table, []);
    await expect(shard.getRecords(table, [])).rejects.toThrow('call 2');
    await expect(shard.commit({ table, writes: [] })).rejects.toThrow('call 3');
    faults.disarm();
    await shard.getRecords(table, []);
    expect(log).toEqual(['getRecords', 'getRecords']);
  });
});
