import { describe, expect, it } from 'vitest';
import { enabledDialects, shardDatabaseUrls } from '../src/index.js';

describe('enabledDialects', () => {
  it('is every dialect unless WAFFLE_DIALECTS lists fewer', () => {
    expect(enabledDialects({})).toEqual(['libsql', 'postgres', 'mysql']);
    expect(enabledDialects({ WAFFLE_DIALECTS: 'libsql, mysql' })).toEqual(['libsql', 'mysql']);
  });

  it('refuses unknown dialects, and fewer dialects under CI', () => {
    expect(() => enabledDialects({ WAFFLE_DIALECTS: 'libsql,oracle' })).toThrow('unknown dialects: oracle');
    expect(() => enabledDialects({ WAFFLE_DIALECTS: 'libsql', CI: 'true' })).toThrow('CI runs every dialect');
    expect(enabledDialects({ WAFFLE_DIALECTS: 'libsql,postgres,mysql', CI: 'true' })).toHaveLength(3);
  });

  it('names eight shard databases per server', () => {
    expect(shardDatabaseUrls('mysql://root@127.0.0.1:3306')).toEqual(
      Array.from({ length: 8 }, (_, i) => `mysql://root@127.0.0.1:3306/waffle_s${i}`),
    );
  });
});
