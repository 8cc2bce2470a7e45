import { describe, expect, it } from 'vitest';
import {
  ConflictError,
  ImportError,
  IndexNotReadyError,
  NotFoundError,
  OutcomeUnknownError,
  QueryError,
  QuorumError,
  SerializationError,
  ShardMapError,
  ShardUnavailableError,
  ValidationError,
  WaffleError,
} from '../src/index.js';

const cause = new Error('driver said no');

const samples = {
  WaffleError: new WaffleError('base'),
  ValidationError: new ValidationError('bad'),
  ConflictError: new ConflictError('r1', 2, 3),
  NotFoundError: new NotFoundError('gone'),
  SerializationError: new SerializationError('codec'),
  ShardMapError: new ShardMapError('map'),
  QueryError: new QueryError('failed', { sql: 'select 1', params: [1], shard: 'sqlite:memory', cause }),
  ShardUnavailableError: new ShardUnavailableError('down'),
  OutcomeUnknownError: new OutcomeUnknownError('pg:db', 'Connection closed', { cause }),
  ImportError: new ImportError(7, 'not valid JSON', { cause }),
  QuorumError: new QuorumError('r1', 1, 2),
  IndexNotReadyError: new IndexNotReadyError('index "by_tag" is building', 'by_tag'),
};
const CODES = {
  WaffleError: 'WAFFLE_ERROR',
  ValidationError: 'VALIDATION',
  ConflictError: 'CONFLICT',
  NotFoundError: 'NOT_FOUND',
  SerializationError: 'SERIALIZATION',
  ShardMapError: 'SHARD_MAP',
  QueryError: 'QUERY',
  ShardUnavailableError: 'SHARD_UNAVAILABLE',
  OutcomeUnknownError: 'OUTCOME_UNKNOWN',
  ImportError: 'IMPORT',
  QuorumError: 'QUORUM',
  IndexNotReadyError: 'INDEX_NOT_READY',
} as const;
const CLASSES = {
  WaffleError,
  ValidationError,
  ConflictError,
  NotFoundError,
  SerializationError,
  ShardMapError,
  QueryError,
  ShardUnavailableError,
  OutcomeUnknownError,
  ImportError,
  QuorumError,
  IndexNotReadyError,
};
type Name = keyof typeof CLASSES;
const NAMES = Object.keys(CLASSES) as Name[];

describe('error hierarchy', () => {
  it.each(NAMES)('%s: code, name, instanceof Error and WaffleError', (name) => {
    const error = samples[name];
    expect(error.code).toBe(CODES[name]);
    expect(error.name).toBe(name);
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(WaffleError);
    expect(error).toBeInstanceOf(CLASSES[name]);
    expect(error.stack).toContain(name);
  });

  it('WaffleError.is is true for every waffle error, false for anything else', () => {
    for (const name of NAMES) expect(WaffleError.is(samples[name])).toBe(true);
    for (const other of [
      new Error('x'),
      new TypeError('x'),
      null,
      undefined,
      'WaffleError',
      { code: 'VALIDATION' },
      42,
    ]) {
      expect(WaffleError.is(other)).toBe(false);
    }
  });

  it('each subclass’s is() recognises exactly its own kind', () => {
    for (const checker of NAMES.filter((n) => n !== 'WaffleError')) {
      for (const name of NAMES) expect(CLASSES[checker].is(samples[name])).toBe(name === checker);
      expect(CLASSES[checker].is(new Error('x'))).toBe(false);
      expect(CLASSES[checker].is(null)).toBe(false);
    }
    expect(ConflictError.is(samples.ConflictError)).toBe(true);
    expect(ConflictError.is(samples.ValidationError)).toBe(false);
    expect(ValidationError.is(samples.ConflictError)).toBe(false);
  });

  it('is() works across installed copies of @waffle/core (tag + code, not instanceof)', () => {
    const foreign = Object.assign(new Error('from another copy'), {
      code: 'CONFLICT',
      [Symbol.for('@waffle/core/error')]: true,
    });
    expect(foreign instanceof WaffleError).toBe(false);
    expect(WaffleError.is(foreign)).toBe(true);
    expect(ConflictError.is(foreign)).toBe(true);
    expect(ValidationError.is(foreign)).toBe(false);
    // A look-alike without the tag is not a waffle error.
    expect(ConflictError.is(Object.assign(new Error('x'), { code: 'CONFLICT' }))).toBe(false);
  });

  it('keeps cause', () => {
    expect(new WaffleError('x', { cause }).cause).toBe(cause);
    expect(new SerializationError('x', { cause }).cause).toBe(cause);
    expect(new ShardUnavailableError('x', { cause: 'timeout' }).cause).toBe('timeout');
    expect(samples.QueryError.cause).toBe(cause);
    expect(new ValidationError('x').cause).toBeUndefined();
    expect(new ValidationError('msg').message).toBe('msg');
  });
});

describe('ConflictError', () => {
  it('a stale version', () => {
    const e = new ConflictError('post-1', 2, 3);
    expect(e.id).toBe('post-1');
    expect(e.expectedVersion).toBe(2);
    expect(e.currentVersion).toBe(3);
    expect(e.message).toBe(
      'Conflict on record "post-1": write based on version 2, but the stored version is 3',
    );
  });

  it('an insert of an existing id', () => {
    const e = new ConflictError('post-1', 0, 1);
    expect(e.expectedVersion).toBe(0);
    expect(e.currentVersion).toBe(1);
    expect(e.message).toBe(
      'Conflict on record "post-1": it was created by another writer (this save expected no stored record; the stored version is 1)',
    );
  });

  it('every other combination reads as what happened', () => {
    expect(new ConflictError('p', 2, 5, true).message).toBe(
      'Conflict on record "p": write based on version 2, but the record was deleted (version 5)',
    );
    expect(new ConflictError('p', 0, 3, true).message).toBe(
      'Conflict on record "p": this save expected no stored record, but the record was deleted meanwhile (version 3)',
    );
    expect(new ConflictError('p', 0, undefined).message).toBe(
      'Conflict on record "p": this save expected no stored record and lost to another write (retry it)',
    );
  });

  it('an update of a deleted record', () => {
    const e = new ConflictError('post-1', 4, undefined);
    expect(e.currentVersion).toBeUndefined();
    expect(e.message).toBe(
      'Conflict on record "post-1": write based on version 4, but the record does not exist',
    );
  });
});

describe('QueryError', () => {
  it('carries the SQL, parameters and shard, and says them', () => {
    const e = samples.QueryError;
    expect(e.sql).toBe('select 1');
    expect(e.params).toEqual([1]);
    expect(e.shard).toBe('sqlite:memory');
    expect(e.message).toBe('failed [shard sqlite:memory] (select 1)');
  });

  it('keeps short parameters and only the length of bodies, long texts and long arrays', () => {
    const body = new Uint8Array(2 * 1024 * 1024);
    const text = 'x'.repeat(2 * 1024 * 1024);
    const at = new Date(0);
    const e = new QueryError('too big', {
      sql: 'insert into t values (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      params: [
        'id-1',
        body,
        text,
        'y'.repeat(200),
        7,
        10n,
        null,
        at,
        [...Array.from({ length: 25 }, (_, i) => `id-${i}`)],
      ],
      shard: 'pg',
    });
    expect(e.params).toEqual([
      'id-1',
      '<bytes: 2097152 bytes>',
      '<text: 2097152 characters>',
      'y'.repeat(200),
      7,
      10n,
      null,
      at,
      [...Array.from({ length: 20 }, (_, i) => `id-${i}`), '<… 5 more elements>'],
    ]);
    // One array per column (a batch on PostgreSQL): each body in it by its length.
    const batch = new QueryError('x', { sql: 's', params: [[text, body, [1, 2]]], shard: 'pg' });
    expect(batch.params).toEqual([
      ['<text: 2097152 characters>', '<bytes: 2097152 bytes>', '<array: 2 elements>'],
    ]);
    const long = new QueryError('m'.repeat(5000), { sql: 's'.repeat(5000), params: [], shard: 'pg' });
    expect(long.message).toBe(
      `${'m'.repeat(2000)}… (5000 characters) [shard pg] (${'s'.repeat(2000)}… (5000 characters))`,
    );
    expect(long.sql).toHaveLength(5000);
  });
});

describe('ImportError', () => {
  it('names the line first and keeps the line number and the cause', () => {
    const error = samples.ImportError;
    expect(error.message).toBe('line 7: not valid JSON');
    expect(error.line).toBe(7);
    expect(error.cause).toBe(cause);
    expect(new ImportError(1, 'x').cause).toBeUndefined();
  });
});

describe('OutcomeUnknownError', () => {
  it('names the shard, says the write may or may not be stored and how to settle it, keeps its cause', () => {
    const error = new OutcomeUnknownError('postgres:127.0.0.1:5432/db', 'write CONNECTION_CLOSED', { cause });
    expect(error.message).toBe(
      'Shard postgres:127.0.0.1:5432/db lost the connection after a commit was sent and before its reply (write CONNECTION_CLOSED): the write may or may not be stored; save the same record again to settle it',
    );
    expect(error.shard).toBe('postgres:127.0.0.1:5432/db');
    expect(error.cause).toBe(cause);
    expect(ShardUnavailableError.is(error)).toBe(false);
    expect(OutcomeUnknownError.is(error)).toBe(true);
  });
});

describe('QuorumError', () => {
  it('says how many replicas hold the write and that drain() copies it', () => {
    const error = new QuorumError('r1', 1, 3);
    expect(error.message).toBe(
      'Record "r1" is committed on 1 of the 3 replicas its writeQuorum asks for: the write stands, and drain() will copy it to the others once they are reachable',
    );
    expect(error).toMatchObject({ id: 'r1', replicas: 1, required: 3, code: 'QUORUM' });
    expect(QuorumError.is(error)).toBe(true);
    expect(QuorumError.is(new ShardUnavailableError('down'))).toBe(false);
  });
});
