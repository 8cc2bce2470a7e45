import type { EntityTableSpec, HistoryRow, IndexTableSpec, RecordRow } from '@waffle/core';
import { describe, expect, it } from 'vitest';
import {
  decodeHistory,
  decodeIndexRow,
  decodeRecord,
  type Enter,
  historyValues,
  readColumn,
  recordValues,
  SqlOperations,
  type Statements,
  TableCache,
  toNumber,
  type ValueReader,
} from '../src/index.js';

const read: ValueReader = {
  number: toNumber,
  bigint: (raw) => BigInt(String(raw)),
  text: String,
  boolean: (raw) => raw === 1,
  bytes: (raw) => new Uint8Array(raw as Uint8Array),
};

describe('records', () => {
  it('keeps a text body in `body` and a binary one in `bin`, both ways', () => {
    const text: RecordRow = {
      id: 'a',
      version: 2,
      codec: 'json',
      body: '{}',
      createdAt: 1,
      updatedAt: 3,
      note: '{"r":[]}',
    };
    const binary: RecordRow = { ...text, codec: 'msgpack', body: new Uint8Array([1, 2]), note: null };
    expect(recordValues(text)).toMatchObject({ body: '{}', bin: null, note: '{"r":[]}', pending: 1 });
    expect(recordValues(binary)).toMatchObject({ body: null, bin: new Uint8Array([1, 2]), pending: null });
    expect(recordValues({ ...text, note: undefined })).toMatchObject({ note: null, pending: null });
    const row = (r: RecordRow) => {
      const v = recordValues(r);
      return [v.id, v.body, v.bin, v.codec, String(v.version), v.createdAt, BigInt(v.updatedAt), v.note];
    };
    expect(decodeRecord(row(text), read)).toEqual(text);
    expect(decodeRecord(row(binary), read)).toEqual(binary);
  });

  it('maps history versions and tombstones both ways, without a note', () => {
    const version: HistoryRow = {
      id: 'a',
      version: 4,
      codec: 'msgpack',
      body: new Uint8Array([9]),
      createdAt: 1,
      updatedAt: 2,
      deleted: false,
    };
    const tombstone: HistoryRow = { ...version, version: 5, codec: 'json', body: '', deleted: true };
    expect(historyValues(tombstone)).toEqual({
      id: 'a',
      body: '',
      bin: null,
      codec: 'json',
      version: 5,
      createdAt: 1,
      updatedAt: 2,
      deleted: 1,
    });
    const row = (r: HistoryRow) => {
      const v = historyValues(r);
      return [v.id, v.body, v.bin, v.codec, v.version, v.createdAt, v.updatedAt, String(v.deleted)];
    };
    expect(decodeHistory(row(version), read)).toEqual(version);
    expect(decodeHistory(row(tombstone), read)).toEqual(tombstone);
  });

  it('reads index rows: values by kind, then id and version', () => {
    const columns = [
      { kind: 'integer' as const },
      { kind: 'timestamp' as const },
      { kind: 'boolean' as const },
    ];
    expect(decodeIndexRow(['7', 5000, null, 'id1', '3'], columns, read)).toEqual({
      id: 'id1',
      values: [7, new Date(5000), null],
      version: 3,
    });
    expect(readColumn(read, 'bigint', '9007199254740993')).toBe(9007199254740993n);
    expect(readColumn(read, 'text', undefined)).toBeNull();
  });
});

describe('SqlOperations', () => {
  const entity: EntityTableSpec = { kind: 'entity', name: 'posts' };
  const index: IndexTableSpec = {
    kind: 'index',
    name: 'by_n',
    columns: [{ name: 'n', kind: 'integer', nullable: false }],
  };

  function setup(options: { skipEmptyReads?: boolean } = {}) {
    const calls: string[] = [];
    const built: string[] = [];
    const log =
      <T>(result: T) =>
      async (...args: unknown[]): Promise<T> => {
        calls.push(args.map((a) => (Array.isArray(a) ? a.length : typeof a === 'object' ? '' : a)).join(' '));
        return result;
      };
    const tables = new TableCache({
      entity: (spec) => {
        built.push(spec.name);
        return `E:${spec.name}`;
      },
      index: (spec) => {
        built.push(spec.name);
        return `I:${spec.name}`;
      },
      history: (spec) => {
        built.push(spec.name);
        return `H:${spec.name}`;
      },
    });
    const statements: Statements<string, string, string, string> = {
      getRecords: log([]),
      insertRecord: log(true),
      insertRecords: log([true]),
      updateRecord: log(true),
      deleteRecord: log(true),
      scanRecords: log([]),
      clearNote: log(true),
      scanNotes: log([]),
      insertHistory: log(true),
      getHistory: log([]),
      putIndexRows: log(undefined),
      deleteIndexRows: log(undefined),
      queryIndex: log([]),
    };
    const enter: Enter = (work) => {
      calls.push('enter');
      return work();
    };
    const ops = new SqlOperations({ exec: 'x', tables, statements, maxParameters: 10, enter, ...options });
    return { ops, calls, built };
  }

  it('resolves tables once, enters for every call and passes the parameter limit', async () => {
    const { ops, calls, built } = setup();
    const row = { id: 'a', values: [1], version: 1 };
    await ops.getRecords(entity, ['a']);
    await ops.insertRecord(entity, {
      id: 'a',
      version: 1,
      codec: 'json',
      body: '',
      createdAt: 0,
      updatedAt: 0,
    });
    expect(await ops.insertRecords(entity, [])).toEqual([]);
    await ops.insertRecords(entity, [
      { id: 'b', version: 1, codec: 'json', body: '', createdAt: 0, updatedAt: 0 },
    ]);
    await ops.deleteRecord(entity, 'a', 1);
    await ops.scanRecords(entity, undefined, 5);
    await ops.putIndexRows(index, [row]);
    await ops.deleteIndexRows(index, [row]);
    await ops.queryIndex(index, { where: undefined, orderBy: [], limit: 3 });
    await ops.clearNote(entity, 'a', 2);
    await ops.scanNotes(entity, 'a', 4);
    const history = { kind: 'history', name: 'posts__history' } as const;
    await ops.insertHistory(history, {
      id: 'a',
      version: 1,
      codec: 'json',
      body: '',
      createdAt: 0,
      updatedAt: 0,
      deleted: false,
    });
    await ops.getHistory(history, 'a', 1);
    await ops.getHistory(history, 'a');
    expect(calls.filter((c) => c !== 'enter')).toEqual([
      'x E:posts 1 10',
      'x E:posts ',
      'x E:posts 1 10',
      'x E:posts a 1',
      'x E:posts  5',
      'x I:by_n 1 10',
      'x I:by_n 1 10',
      'x I:by_n ',
      'x E:posts a 2',
      'x E:posts a 4',
      'x H:posts__history ',
      'x H:posts__history a 1',
      'x H:posts__history a ',
    ]);
    expect(calls.filter((c) => c === 'enter')).toHaveLength(13);
    expect(built).toEqual(['posts', 'by_n', 'posts__history']);
  });

  it('answers empty index writes at once, and empty reads unless told to enter', async () => {
    const skipping = setup();
    await skipping.ops.putIndexRows(index, []);
    await skipping.ops.deleteIndexRows(index, []);
    expect(await skipping.ops.getRecords(entity, [])).toEqual([]);
    expect(skipping.calls).toEqual([]);
    const entering = setup({ skipEmptyReads: false });
    await entering.ops.getRecords(entity, []);
    expect(entering.calls).toEqual(['enter', 'x E:posts 0 10']);
  });
});
