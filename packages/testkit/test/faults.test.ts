import { type Shard, ShardUnavailableError } from '@waffle/core';
import { describe, expect, it } from 'vitest';
import { Faults } from '../src/faults.js';

function memoryShard(log: string[]): Shard {
  const op = (name: string) => async () => {
    log.push(name);
    return [];
  };
  return {
    name: 'memory',
    dialect: 'none',
    limits: { maxParameters: 10, maxIdentifierLength: 10 },
    getRecords: op('getRecords'),
    insertRecord: op('insertRecord'),
    insertRecords: op('insertRecords'),
    updateRecord: op('updateRecord'),
    deleteRecord: op('deleteRecord'),
    scanRecords: op('scanRecords'),
    clearNote: op('clearNote'),
    scanNotes: op('scanNotes'),
    insertHistory: op('insertHistory'),
    getHistory: op('getHistory'),
    putIndexRows: op('putIndexRows'),
    deleteIndexRows: op('deleteIndexRows'),
    queryIndex: op('queryIndex'),
    createTables: async () => {},
    readMeta: async () => new Map(),
    writeMeta: async (_k: string, v: string) => v,
    transaction: async (work: (tx: Shard) => Promise<unknown>) => work(memoryShard(log)),
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
    await b!.insertRecord(table, {} as never);
    expect(log).toEqual(['getRecords', 'getRecords', 'insertRecord']);
    expect(faults.failures).toBe(1);
  });

  it('counts and fails only the operations named in `only`', async () => {
    const log: string[] = [];
    const faults = new Faults();
    const shard = faults.wrap(memoryShard(log));
    const table = { kind: 'entity' as const, name: 't' };
    const index = { kind: 'index' as const, name: 'i', columns: [] };
    faults.arm({ failAt: 2, only: ['deleteIndexRows', 'clearNote'] });
    await shard.deleteIndexRows(index, []);
    await shard.getRecords(table, []);
    await shard.putIndexRows(index, []);
    const error = await shard.clearNote(table, 'a', 1).catch((e) => e);
    expect(error).toBeInstanceOf(ShardUnavailableError);
    expect(error.message).toBe('Injected fault at call 2 (clearNote on memory)');
    await shard.scanNotes(table, undefined, 1);
    expect(log).toEqual(['deleteIndexRows', 'getRecords', 'putIndexRows', 'scanNotes']);
    expect(faults).toMatchObject({ calls: 2, failures: 1 });
  });

  it('keeps failing when persistent, also inside transactions, until disarmed', async () => {
    const log: string[] = [];
    const faults = new Faults();
    const shard = faults.wrap(memoryShard(log));
    const table = { kind: 'entity' as const, name: 't' };
    faults.arm({ failAt: 2, persistent: true });
    await shard.transaction(async (tx) => {
      await expect(tx.getRecords(table, [])).rejects.toThrow('call 2');
      await expect(tx.getRecords(table, [])).rejects.toThrow('call 3');
    });
    faults.disarm();
    await shard.getRecords(table, []);
    expect(log).toEqual(['getRecords']);
  });
});
