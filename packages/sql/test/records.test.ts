import type { HistoryRow, RecordRow } from '@waffle/core/adapter';
import { describe, expect, it } from 'vitest';
import {
  decodeHistory,
  decodeIndexRow,
  decodeRecord,
  historyValues,
  keyOf,
  readColumn,
  recordValues,
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
const bytes = (b: Uint8Array) => ({ bytes: [...b] });

describe('records', () => {
  it('keep a text body in `body` and a binary one in `bin`, both ways, with the note and its flag', () => {
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
    expect(recordValues(text, bytes)).toEqual(['a', '{}', null, 'json', 2, 1, 3, '{"r":[]}', 1]);
    expect(recordValues(binary, bytes)).toEqual([
      'a',
      null,
      { bytes: [1, 2] },
      'msgpack',
      2,
      1,
      3,
      null,
      null,
    ]);
    expect(recordValues({ ...text, note: undefined }, bytes).slice(7)).toEqual([null, null]);
    const stored = (r: RecordRow) => {
      const [id, body, bin, codec, version, createdAt, updatedAt, note] = recordValues(r, (b) => b);
      return [id, body, bin, codec, String(version), createdAt, BigInt(updatedAt as number), note];
    };
    expect(decodeRecord(stored(text), read)).toEqual(text);
    expect(decodeRecord(stored(binary), read)).toEqual(binary);
    expect(decodeRecord(['x', 'y', ...stored(text)], read, 2)).toEqual(text);
  });

  it('read the folded and joined layouts: one body column of either type, no id nor note when joined', () => {
    const folded = { joined: false, folded: true, note: true };
    expect(decodeRecord(['a', '{}', 'json', 2, 1, 3, null], read, 0, folded)).toEqual({
      id: 'a',
      body: '{}',
      codec: 'json',
      version: 2,
      createdAt: 1,
      updatedAt: 3,
      note: null,
    });
    expect(decodeRecord(['a', new Uint8Array([7]), 'msgpack', 2, 1, 3, 'n'], read, 0, folded).body).toEqual(
      new Uint8Array([7]),
    );
    const joined = decodeRecord(
      ['x', null, new Uint8Array([1]), 'm', 4, 1, 2],
      read,
      1,
      { joined: true, folded: false, note: false },
      'id9',
    );
    expect(joined).toEqual({
      id: 'id9',
      body: new Uint8Array([1]),
      codec: 'm',
      version: 4,
      createdAt: 1,
      updatedAt: 2,
    });
    expect('note' in joined).toBe(false);
  });

  it('map history versions and tombstones both ways, without a note', () => {
    const version: HistoryRow = {
      id: 'a',
      version: 4,
      codec: 'msgpack',
      body: new Uint8Array([9]),
      createdAt: 1,
      updatedAt: 2,
      deleted: false,
    };
    const tombstone: HistoryRow = { ...version, version: 5, codec: '', body: '', deleted: true };
    expect(historyValues(tombstone, bytes)).toEqual(['a', '', null, '', 5, 1, 2, 1]);
    const stored = (r: HistoryRow) => {
      const values = historyValues(r, (b) => b);
      values[7] = String(values[7]);
      return values;
    };
    expect(decodeHistory(stored(version), read)).toEqual(version);
    expect(decodeHistory(stored(tombstone), { ...read, number: (raw) => Number(raw) })).toEqual(tombstone);
  });

  it('read index rows: values by kind, then id and version', () => {
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

  it('key bound values so that equal keys meet (each position holds values of one kind)', () => {
    expect(keyOf([1n, new Uint8Array([1, 255]), null, 'a'])).toBe(
      keyOf([1n, new Uint8Array([1, 255]), null, 'a']),
    );
    expect(keyOf([1n])).not.toBe(keyOf([1]));
    expect(keyOf([new Date(5)])).not.toBe(keyOf([5]));
  });
});
