import { describe, expect, it } from 'vitest';
import { Entity, ValidationError } from '../src/index.js';
import { jsonSerializer, scriptedShard } from './helpers.js';

describe('a body larger than the shard accepts', () => {
  it('is refused with a ValidationError before anything is written', async () => {
    const records = new Map();
    const shard = scriptedShard([], records);
    const writes: string[] = [];
    Object.assign(shard, {
      limits: { maxParameters: 1000, maxBodyBytes: 100 },
      commit: async (work: { writes: unknown[] }) => {
        writes.push('commit');
        return work.writes.map(() => true);
      },
      putIndexRows: async () => {
        writes.push('index');
      },
    });
    const entity = new Entity<{ text: string }>('docs', { shards: [shard], serializer: jsonSerializer });
    await entity.create();
    const small = await entity.save(entity.new({ text: 'x'.repeat(80) }));
    expect(small.version).toBe(1);
    expect(writes).toEqual(['commit']);
    const big = entity.new({ text: 'é'.repeat(60) }); // 60 characters, 120 bytes of UTF-8
    const error = await entity.save(big).catch((e) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toBe(
      `Record "${big.id}" of docs is 131 bytes once encoded, more than the 100 bytes shard scripted accepts`,
    );
    expect(writes).toEqual(['commit']);
    expect(big.version).toBe(0);
  });
});

describe('an entity maxBodyBytes', () => {
  it('refuses larger records before anything is written, and must be a positive integer', async () => {
    const shard = scriptedShard([], new Map());
    const writes: string[] = [];
    Object.assign(shard, {
      commit: async (work: { writes: unknown[] }) => {
        writes.push('commit');
        return work.writes.map(() => true);
      },
    });
    const entity = new Entity<string>('capped', {
      shards: [shard],
      serializer: jsonSerializer,
      maxBodyBytes: 10,
    });
    await entity.create();
    await entity.save(entity.new('12345678')); // 10 bytes with the quotes
    const big = entity.new('123456789');
    const error = await entity.save(big).catch((e) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toBe(
      `Record "${big.id}" of capped is 11 bytes once encoded, more than the 10 bytes this entity allows (maxBodyBytes)`,
    );
    expect(writes).toEqual(['commit']);
    expect(() => new Entity('bad', { shards: [shard], serializer: jsonSerializer, maxBodyBytes: 0 })).toThrow(
      'maxBodyBytes must be a positive integer, got 0 (number)',
    );
  });
});
