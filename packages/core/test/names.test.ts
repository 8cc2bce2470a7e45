import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Entity, Index, integer, ShardByColumn, uuidv7, ValidationError } from '../src/index.js';
import {
  checkId,
  checkName,
  MAX_ENTITY_NAME,
  MAX_ID_BYTES,
  MAX_NAME,
  describe as shown,
} from '../src/names.js';
import { expectError, fakeShards, jsonSerializer, wellFormed } from './helpers.js';

const shards = fakeShards(2);

const makeEntity = (name: string) => new Entity(name, { shards, serializer: jsonSerializer });
const makeIndex = (name: string) =>
  new Index(name, { columns: { n: integer() }, shard: shards, mapper: () => [] });
const makeColumn = (name: string) =>
  new Index('ix', { columns: { [name]: integer() }, shard: shards, mapper: () => [] });

const BAD_CHARACTERS = [
  'a;drop',
  'a"b',
  'a b',
  'a-b',
  '1abc',
  'é',
  'naïve',
  '日本',
  'a.b',
  "a'b",
  'a`b',
  'a\nb',
  'a\u0000',
];

describe('checkName', () => {
  it('accepts identifiers made of ASCII letters, digits and _', () => {
    for (const name of ['a', 'A', '_', '_a', 'a1', 'blog_time', 'CamelCase', 'x'.repeat(MAX_NAME)]) {
      expect(checkName('index', name)).toBe(name);
    }
  });

  it('accepts SQL reserved words (they are quoted)', () => {
    for (const name of ['select', 'order', 'table', 'from', 'where', 'group', 'user', 'SELECT']) {
      expect(checkName('column', name)).toBe(name);
    }
  });

  it('rejects the empty name and non-strings', () => {
    expectError(
      () => checkName('index', ''),
      ValidationError,
      'VALIDATION',
      'Invalid index name ""',
      'non-empty string',
    );
    expectError(
      () => checkName('index', 42),
      ValidationError,
      'VALIDATION',
      'Invalid index name 42',
      'non-empty string',
    );
    expectError(() => checkName('index', undefined), ValidationError, 'VALIDATION', 'non-empty string');
  });

  it('rejects SQL metacharacters, a leading digit and non-ASCII letters', () => {
    for (const name of BAD_CHARACTERS) {
      expectError(
        () => checkName('column', name),
        ValidationError,
        'VALIDATION',
        `Invalid column name ${JSON.stringify(name)}`,
        'use ASCII letters, digits and _, not starting with a digit',
      );
    }
  });

  it('rejects names starting with __ (reserved for waffle)', () => {
    for (const name of ['__', '__id', '__waffle_meta', '___x']) {
      expectError(
        () => checkName('index', name),
        ValidationError,
        'VALIDATION',
        `"${name}"`,
        'reserved for waffle',
      );
    }
    expect(checkName('index', '_x_')).toBe('_x_');
  });

  it('rejects names longer than the maximum', () => {
    expectError(
      () => checkName('index', 'x'.repeat(MAX_NAME + 1)),
      ValidationError,
      'VALIDATION',
      `${MAX_NAME + 1} characters, at most ${MAX_NAME} allowed`,
    );
    expect(checkName('entity', 'x'.repeat(10), 10)).toBe('x'.repeat(10));
    expectError(
      () => checkName('entity', 'x'.repeat(11), 10),
      ValidationError,
      'VALIDATION',
      'at most 10 allowed',
    );
  });
});

describe('entity, index and column names', () => {
  it('limits are 48 for entities and 63 for indices and columns', () => {
    expect(MAX_ENTITY_NAME).toBe(48);
    expect(MAX_NAME).toBe(63);
  });

  it('entity names: rejected when bad, up to 48 characters', () => {
    expect(makeEntity('e'.repeat(48)).name).toBe('e'.repeat(48));
    expectError(
      () => makeEntity('e'.repeat(49)),
      ValidationError,
      'VALIDATION',
      'Invalid entity name',
      '49 characters, at most 48',
    );
    expectError(() => makeEntity(''), ValidationError, 'VALIDATION', 'Invalid entity name ""');
    expectError(
      () => makeEntity('__blog'),
      ValidationError,
      'VALIDATION',
      'Invalid entity name "__blog"',
      'reserved',
    );
    for (const name of BAD_CHARACTERS) {
      expectError(
        () => makeEntity(name),
        ValidationError,
        'VALIDATION',
        `Invalid entity name ${JSON.stringify(name)}`,
      );
    }
    expect(makeEntity('select').name).toBe('select');
    expect(makeEntity('order').name).toBe('order');
  });

  it('index names: rejected when bad, up to 63 characters', () => {
    expect(makeIndex('i'.repeat(63)).name).toBe('i'.repeat(63));
    expectError(
      () => makeIndex('i'.repeat(64)),
      ValidationError,
      'VALIDATION',
      'Invalid index name',
      '64 characters, at most 63',
    );
    expectError(() => makeIndex(''), ValidationError, 'VALIDATION', 'Invalid index name ""');
    expectError(
      () => makeIndex('__ix'),
      ValidationError,
      'VALIDATION',
      'Invalid index name "__ix"',
      'reserved',
    );
    for (const name of BAD_CHARACTERS) {
      expectError(
        () => makeIndex(name),
        ValidationError,
        'VALIDATION',
        `Invalid index name ${JSON.stringify(name)}`,
      );
    }
    expect(makeIndex('order').name).toBe('order');
  });

  it('column names: rejected when bad, up to 63 characters', () => {
    expect(makeColumn('c'.repeat(63)).columnNames).toEqual(['c'.repeat(63)]);
    expectError(
      () => makeColumn('c'.repeat(64)),
      ValidationError,
      'VALIDATION',
      'Invalid column name',
      '64 characters, at most 63',
    );
    expectError(() => makeColumn(''), ValidationError, 'VALIDATION', 'Invalid column name ""');
    expectError(
      () => makeColumn('__id'),
      ValidationError,
      'VALIDATION',
      'Invalid column name "__id"',
      'reserved',
    );
    expectError(() => makeColumn('__version'), ValidationError, 'VALIDATION', 'reserved');
    for (const name of BAD_CHARACTERS) {
      expectError(
        () => makeColumn(name),
        ValidationError,
        'VALIDATION',
        `Invalid column name ${JSON.stringify(name)}`,
      );
    }
    expect(makeColumn('select').columnNames).toEqual(['select']);
    expect(makeColumn('order').columnNames).toEqual(['order']);
  });

  it('the column of a ShardByColumn is checked too', () => {
    expectError(
      () => new ShardByColumn('a;drop', shards),
      ValidationError,
      'VALIDATION',
      'Invalid column name "a;drop"',
    );
    expectError(() => new ShardByColumn('__id', shards), ValidationError, 'VALIDATION', 'reserved');
    expectError(() => new ShardByColumn('c'.repeat(64), shards), ValidationError, 'VALIDATION', 'at most 63');
  });
});

describe('checkId', () => {
  it('accepts unicode, emoji, email-like and uuid ids', () => {
    const ids = [
      'a',
      'ann@example.com',
      'user:42',
      'héllo wörld',
      '日本語',
      '😀',
      '👩‍👩‍👧',
      'a b',
      'a/b?c=d&e',
      uuidv7(),
      '%_',
    ];
    for (const id of ids) expect(checkId(id)).toBe(id);
  });

  it('rejects the empty id and non-strings', () => {
    expectError(() => checkId(''), ValidationError, 'VALIDATION', 'Invalid record id', 'non-empty string');
    expectError(
      () => checkId(42),
      ValidationError,
      'VALIDATION',
      'Invalid record id 42 (number)',
      'non-empty string',
    );
    expectError(() => checkId(null), ValidationError, 'VALIDATION', 'Invalid record id null');
    expectError(() => checkId(undefined), ValidationError, 'VALIDATION', 'Invalid record id undefined');
  });

  it('rejects control characters', () => {
    for (const id of ['\u0000', 'a\u0000b', 'a\nb', 'a\tb', 'a\rb', '\u001f', 'x\u007f']) {
      expectError(
        () => checkId(id),
        ValidationError,
        'VALIDATION',
        'Invalid record id',
        'control characters and lone surrogates',
      );
    }
  });

  it('rejects lone surrogates, accepts pairs', () => {
    for (const id of [
      '\ud800',
      'a\udbff',
      '\udc00',
      'a\udfffb',
      '\udc00\ud800',
      '\ud83d\ud83d',
      '😀\ud800',
    ]) {
      expectError(() => checkId(id), ValidationError, 'VALIDATION', 'Invalid record id', 'lone surrogates');
    }
    expect(checkId('\ud83d\ude00')).toBe('😀');
  });

  it('accepts exactly the ids without control characters and lone surrogates (any string of up to 60 characters)', () => {
    // Characters near every boundary the checks draw: controls, DEL, surrogates (paired or lone), and plain ones.
    const unit = fc.constantFrom(
      'a',
      'Z',
      '-',
      ' ',
      '~',
      '\u0000',
      '\u001f',
      '\u007f',
      '\u0080',
      'é',
      '\ud7ff',
      '\ud800',
      '\udbff',
      '\udc00',
      '\udfff',
      '\ue000',
      '\uffff',
      '😀',
    );
    fc.assert(
      fc.property(fc.array(unit, { minLength: 1, maxLength: 60 }), (units) => {
        const id = units.join('');
        const control = Array.from(id).some((ch) => ch.charCodeAt(0) < 0x20 || ch === '\u007f');
        const valid = !control && wellFormed(id);
        if (valid) expect(checkId(id)).toBe(id);
        else expect(() => checkId(id)).toThrow(ValidationError);
      }),
    );
  });

  it('allows at most 255 UTF-8 bytes', () => {
    expect(MAX_ID_BYTES).toBe(255);
    expect(checkId('x'.repeat(255))).toHaveLength(255);
    expectError(
      () => checkId('x'.repeat(256)),
      ValidationError,
      'VALIDATION',
      'longer than 255 bytes of UTF-8',
    );
    // 2-byte characters: 127 × 2 + 1 = 255 bytes is fine, 128 × 2 = 256 is not.
    expect(checkId(`${'é'.repeat(127)}x`)).toBeTruthy();
    expectError(() => checkId('é'.repeat(128)), ValidationError, 'VALIDATION', 'longer than 255 bytes');
    // 4-byte characters: 64 emoji are only 128 UTF-16 units but 256 bytes.
    expect(checkId('😀'.repeat(63))).toBeTruthy();
    expectError(() => checkId('😀'.repeat(64)), ValidationError, 'VALIDATION', 'longer than 255 bytes');
  });

  it('Entity.new() checks a given id', () => {
    const entity = makeEntity('things');
    expect(entity.new({}, { id: 'ann@example.com' }).id).toBe('ann@example.com');
    expectError(() => entity.new({}, { id: '' }), ValidationError, 'VALIDATION', 'Invalid record id');
    expectError(() => entity.new({}, { id: 'a\u0000' }), ValidationError, 'VALIDATION', 'control characters');
    expectError(
      () => entity.new({}, { id: 'y'.repeat(256) }),
      ValidationError,
      'VALIDATION',
      'longer than 255',
    );
  });
});

describe('how values are shown in messages', () => {
  it('names each kind of value, cutting long strings at 40 characters', () => {
    expect(shown(null)).toBe('null');
    expect(shown(undefined)).toBe('undefined');
    expect(shown(12n)).toBe('12n (bigint)');
    expect(shown('short')).toBe('"short" (string)');
    expect(shown('x'.repeat(40))).toBe(`"${'x'.repeat(40)}" (string)`);
    expect(shown('y'.repeat(41))).toBe(`"${'y'.repeat(40)}…" (string)`);
    expect(shown(new Date(0))).toBe('Date(1970-01-01T00:00:00.000Z)');
    expect(shown(new Date(Number.NaN))).toBe('Date(invalid)');
    expect(shown(new Uint8Array(3))).toBe('Uint8Array(3)');
    expect(shown(Buffer.from('ab'))).toBe('Uint8Array(2)');
    expect(shown([1])).toBe('an array');
    expect(shown({ a: 1 })).toBe('an object');
    expect(shown(1.5)).toBe('1.5 (number)');
    expect(shown(true)).toBe('true (boolean)');
  });

  it('a user sees them in the errors of bad ids', () => {
    expectError(
      () => checkId(undefined),
      ValidationError,
      'VALIDATION',
      'Invalid record id undefined: an id must be a non-empty string',
    );
    expectError(
      () => checkId(new Uint8Array(4)),
      ValidationError,
      'VALIDATION',
      'Invalid record id Uint8Array(4): an id must be a non-empty string',
    );
  });
});
