import type { EntityTableSpec, IndexTableSpec, RecordRow } from '@waffle/core';
import { describe, expect, it } from 'vitest';
import {
  decodeIndexRow,
  decodeRecord,
  type Enter,
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
    const text: RecordRow = { id: 'a', version: 2, codec: 'json', body: '{}', createdAt: 1, updatedAt: 3 };
    const binary: RecordRow = { ...text, codec: 'msgpack', body: new Uint8Array([1, 2]) };
    expect(recordValues(text)).toMatchObject({ body: '{}', bin: null });
    expect(recordValues(binary)).toMatchObject({ body: null, bin: new Uint8Array([1, 2]) });
    const row = (r: RecordRow) => {
      const v = recordValues(r);
      return [v.id, v.body, v.bin, v.codec, String(v.version), v.createdAt, BigInt(v.updatedAt)];
    };
    expect(decodeRecord(row(text), read)).toEqual(text);
    expect(decodeRecord(row(binary), read)).toEqual(binary);
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
    });
    const statements: Statements<string, string, string> = {
      getRecords: log([]),
      insertRecord: log(true),
      updateRecord: log(true),
      deleteRecord: log(true),
      scanRecords: log([]),
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
    await ops.deleteRecord(entity, 'a', 1);
    await ops.scanRecords(entity, undefined, 5);
    await ops.putIndexRows(index, [row]);
    await ops.deleteIndexRows(index, [row]);
    await ops.queryIndex(index, { where: undefined, orderBy: [], limit: 3 });
    expect(calls.filter((c) => c !== 'enter')).toEqual([
      'x E:posts 1 10',
      'x E:posts ',
      'x E:posts a 1',
      'x E:posts  5',
      'x I:by_n 1 10',
      'x I:by_n 1 10',
      'x I:by_n ',
    ]);
    expect(calls.filter((c) => c === 'enter')).toHaveLength(7);
    expect(built).toEqual(['posts', 'by_n']);
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
