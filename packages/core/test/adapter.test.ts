import { describe, expect, it } from 'vitest';
import { columnRef } from '../src/adapter.js';
import { ValidationError } from '../src/index.js';

describe('columnRef', () => {
  const spec = {
    kind: 'index' as const,
    name: 'by_time',
    columns: [{ name: 'time', kind: 'integer' as const, nullable: true }],
  };

  it('gives a column of a table spec, or its entity id, as index.c would', () => {
    const time = columnRef(spec, 'time');
    expect([time.name, time.type.kind, time.type.isNullable, time.owner.name]).toEqual([
      'time',
      'integer',
      true,
      'by_time',
    ]);
    expect(columnRef(spec, '__id').type.kind).toBe('text');
    expect(time.gte(3)).toMatchObject({ op: 'gte', value: 3 });
  });

  it('refuses a column the table lacks', () => {
    expect(() => columnRef(spec, 'nope')).toThrow(ValidationError);
    expect(() => columnRef(spec, 'nope')).toThrow('Index table "by_time" has no column "nope"');
  });
});
