import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import {
  batches,
  insertShape,
  MysqlDialect,
  pad,
  shapeSize,
  variableColumnBytes,
} from '../src/mysql-dialect.js';
import { packetBytes, supportsRowAlias } from '../src/mysql-driver.js';
import { redactUrl } from '../src/mysql-options.js';
import { keyHash, toStorage } from '../src/mysql-values.js';

describe('server versions', () => {
  it('uses the row alias upsert on MySQL 8.0.19 and later only', () => {
    expect(supportsRowAlias('8.0.18')).toBe(false);
    expect(supportsRowAlias('8.0.19')).toBe(true);
    expect(supportsRowAlias('8.4.3')).toBe(true);
    expect(supportsRowAlias('9.1.0-commercial')).toBe(true);
    expect(supportsRowAlias('5.7.44-log')).toBe(false);
    expect(supportsRowAlias('10.11.19-MariaDB-0+deb12u1')).toBe(false);
    expect(supportsRowAlias('11.8.2-MariaDB')).toBe(false);
    expect(supportsRowAlias('')).toBe(false);
  });
});

describe('key hash', () => {
  it('is equal exactly for keys equal under <=>', () => {
    const hex = (values: Parameters<typeof keyHash>[0]) => keyHash(values).toString('hex');
    expect(hex([toStorage('real', -0)])).toBe(hex([toStorage('real', 0)]));
    const distinct = [
      [null],
      [''],
      [0],
      [Buffer.alloc(0)],
      ['a', 'b'],
      ['ab', ''],
      [null, 'a'],
      ['a', null],
      ['0'],
    ].map((v) => hex(v as Parameters<typeof keyHash>[0]));
    expect(new Set(distinct).size).toBe(distinct.length);
    expect(keyHash(['x'])).toHaveLength(32);
  });

  it('binds bigints as decimal strings, cast to SIGNED in comparisons', () => {
    expect(toStorage('bigint', 2n ** 63n - 1n)).toBe('9223372036854775807');
    expect(toStorage('boolean', true)).toBe(1);
    expect(toStorage('timestamp', new Date(-1))).toBe(-1);
    expect(Buffer.isBuffer(toStorage('bytes', new Uint8Array([1, 2])))).toBe(true);
    const dialect = new MysqlDialect({
      server: undefined,
      inspect: () => Promise.reject(new Error('no server')),
    });
    const render = (kind: 'integer' | 'bigint') =>
      dialect.render(dialect.typed(kind, sql`${sql.placeholder('x')}`)).sql;
    expect(render('integer')).toBe('?');
    expect(render('bigint')).toBe('CAST(? AS SIGNED)');
  });
});

describe('batches', () => {
  it('pads to few shapes', () => {
    expect([1, 5, 8, 9, 16, 17, 100, 3000].map((n) => shapeSize(n, 2000))).toEqual([
      1, 5, 8, 16, 16, 32, 128, 2000,
    ]);
    expect(pad(['a', 'bbb', 'cc', 'd', 'e', 'f', 'g', 'h', 'i'], 100, (s) => s.length)).toHaveLength(16);
    expect(pad(['bb', 'a', 'cc', 'd', 'e', 'f', 'g', 'h', 'i'], 100, (s) => s.length).slice(9)).toEqual(
      Array(7).fill('a'),
    );
  });

  it('inserts records in few shapes, without padding', () => {
    expect([1, 5, 8, 9, 16, 31, 33, 100, 500, 1000, 7281, 9000].map((n) => insertShape(n, 7281))).toEqual([
      1, 5, 8, 9, 16, 31, 32, 100, 496, 992, 7281, 7281,
    ]);
    expect(insertShape(500 - 496, 7281)).toBe(4);
    expect(insertShape(63, 7281)).toBe(62);
  });

  it('bounds a statement by its SQL text or its values', () => {
    expect(packetBytes({ sql: 'x'.repeat(100), params: [] })).toBe(300);
    expect(packetBytes({ sql: '?', params: ['é'.repeat(1000), new Uint8Array(5000), 1, null] })).toBe(
      16 + 11 + 3000 + 11 + 5000 + 11 + 8 + 11 + 8,
    );
  });

  it('splits by rows and by half the byte budget', () => {
    expect(batches([1, 2, 3, 4, 5], 2, 1000, () => 1).map((b) => b.length)).toEqual([2, 2, 1]);
    expect(batches([1, 2, 3, 4, 5], 10, 100, () => 30).map((b) => b.length)).toEqual([1, 1, 1, 1, 1]);
    expect(batches([1, 2, 3, 4, 5], 10, 240, () => 30).map((b) => b.length)).toEqual([4, 1]);
    expect(batches([], 10, 100, () => 1)).toEqual([]);
  });
});

describe('names and layouts', () => {
  it('redacts URLs', () => {
    expect(redactUrl('mysql://ann:secret@h:1/db?password=x#y')).toBe('mysql://ann@h:1/db');
    expect(redactUrl('mysql://:secret@h/db')).toBe('mysql://h/db');
  });

  it('shares the key between text and bytes columns', () => {
    expect(variableColumnBytes(['integer'])).toBeUndefined();
    expect(variableColumnBytes(['text'])).toBe(2809);
    expect(variableColumnBytes(['text', 'bytes', 'integer'])).toBe(1402);
    expect(variableColumnBytes(['integer', 'bigint', 'real', 'text', 'boolean', 'timestamp', 'bytes'])).toBe(
      1390,
    );
  });
});
