import { QueryError } from '@waffle/core';
import { describe, expect, it } from 'vitest';
import { contractShard, entitySpec, insert, rejection } from './contract-fixtures.js';
import type { ConformanceOptions } from './options.js';
import { recordRow } from './shard-helpers.js';

/** 2 MiB. */
const SIZE = 2 * 1024 * 1024;

/** The longest text any part of a failed statement's error may take. */
const SMALL = 10_000;

/** Parameters as text, whatever their types (bigints included). */
function shown(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
}

/** A failed statement that wrote 2 MB: its QueryError keeps the bodies' length only. */
export function contractErrorSizeSuite(options: ConformanceOptions): void {
  const open = contractShard(options);

  describe('errors of large statements', () => {
    it('a failed 2 MB insert is a QueryError whose params, message, stack and JSON stay small', async () => {
      const shard = await open();
      const missing = entitySpec('missing');
      const text = 'x'.repeat(SIZE);
      const bytes = new Uint8Array(SIZE).fill(7);
      const cases = [
        {
          what: 'a text body',
          rows: [recordRow('big-1', { body: text })],
          body: /<text: 2097152 characters>/,
        },
        {
          what: 'a bytes body',
          rows: [recordRow('big-2', { codec: 'bin', body: bytes })],
          body: /<bytes: 2097152 bytes>|<text: 4194306 characters>/,
        },
        {
          what: 'two records in one statement',
          rows: [recordRow('big-3', { body: text }), recordRow('big-4', { body: text })],
          body: /<text: 2097152 characters>/,
        },
      ];
      for (const { what, rows, body } of cases) {
        const error = await rejection(shard.commit({ table: missing, writes: rows.map(insert) }), what);
        expect(QueryError.is(error), `${what}: ${String(error).slice(0, 500)}`).toBe(true);
        const q = error as QueryError;
        expect(q.shard, what).toBe(shard.name);
        expect(q.sql, what).toContain(missing.name);
        const params = shown(q.params);
        for (const row of rows) expect(params, `${what}: the id is kept`).toContain(row.id);
        // The body by its length: as given, or as the driver binds it (PostgreSQL's bytea as hex text).
        expect(params, `${what}: the body by its length`).toMatch(body);
        expect(params.length, `${what}: params`).toBeLessThan(SMALL);
        expect(shown(q).length, `${what}: JSON.stringify(error)`).toBeLessThan(SMALL);
        expect(q.message.length, `${what}: message`).toBeLessThan(SMALL);
        expect(String(q.stack).length, `${what}: stack`).toBeLessThan(SMALL);
      }
    });
  });
}
