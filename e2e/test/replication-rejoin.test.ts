/**
 * A replica that comes back after missing writes (issue 12): until what it
 * missed is delivered to it, it holds older versions. Writes must not be
 * decided on it: a save of the newest record must not fail as a conflict
 * with the older copy, and an update must not be computed from the older
 * copy (its version would lose to the newer one, and the acknowledged update
 * would vanish once the replicas are made equal). libSQL files, one replica
 * failing every call as unavailable while down.
 *
 * And an index replica whose put loses its connection once sent (an
 * OutcomeUnknownError, as when a PostgreSQL server stops under it): the rows
 * reached the other replica, so the write goes on and its note keeps them
 * for `drain()`, instead of failing as "may or may not be stored" for a
 * record never committed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Doc, OutcomeUnknownError } from '@waffle/core';
import { shardHealth } from '@waffle/core/adapter';
import { libsqlShard } from '@waffle/libsql';
import { dialectEnabled, Faults, uniqueName } from '@waffle/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { replicatedEntity, type Value } from './support/replicated.js';

const dir = mkdtempSync(join(tmpdir(), 'waffle-rejoin-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.runIf(dialectEnabled('libsql'))('a replica back after an outage', () => {
  it('writes right after it is back: saves succeed, updates build on the newest version, nothing acknowledged is lost', async () => {
    const faults = new Faults();
    const raw = ['r0', 'r1', 'r2'].map((name) => libsqlShard({ url: `file:${join(dir, `${name}.db`)}` }));
    const shards = [raw[0]!, faults.wrap(raw[1]!), raw[2]!];
    try {
      const { docs, byN } = replicatedEntity(uniqueName('rejoin'), shards, shards);
      await docs.create();
      // Records whose first replica is shard 1.
      const owned: Doc<Value>[] = [];
      while (owned.length < 6) {
        const record = docs.new({ n: owned.length, token: 'v1' });
        if (docs.strategy.shardOf({ id: record.id }) === 1) owned.push(record);
      }
      await docs.saveMany(owned);
      // Shard 1 down: each record written twice more, on shard 2; the copies for shard 1 wait in notes.
      faults.arm({ failAt: 1, persistent: true });
      for (const token of ['v2', 'v3']) {
        for (const record of owned) {
          record.value = { ...record.value, token };
          await docs.save(record);
        }
      }
      expect(owned.map((r) => r.version)).toEqual(owned.map(() => 3));
      expect(faults.failures).toBeGreaterThan(0);
      // Back, and known back: a call to it succeeded (as a probe does once the breaker's back-off is
      // over). It still holds version 1 of each: the copies wait in notes (drain() or a background
      // hand-off delivers them later).
      faults.disarm();
      shardHealth.reportAnswered(shards[1]!);
      expect(shardHealth.stateOf(shards[1]!)).toBe('closed');
      expect(shardHealth.isPreferred(shards[1]!)).toBe(false);
      const table = { kind: 'entity' as const, name: docs.name };
      const onOne = async () => {
        const rows = await raw[1]!.getRecords(
          table,
          owned.map((r) => r.id),
        );
        return owned.map((r) => rows.find((row) => row.id === r.id)?.version);
      };
      expect(await onOne()).toEqual(owned.map(() => 1));
      const [saved, updated, deleted, ...rest] = owned;
      saved!.value = { ...saved!.value, token: 'v4' };
      await docs.save(saved!);
      expect(saved!.version).toBe(4);
      const doc = await docs.update(updated!.id, (v) => ({ ...v, token: `${v.token}+` }));
      expect(doc).toMatchObject({ version: 4, value: { token: 'v3+' } });
      expect(await docs.delete(deleted!.id)).toBe(true);
      await docs.drain();
      expect(shardHealth.isPreferred(shards[1]!)).toBe(true); // caught up: first again for its buckets
      expect(await onOne()).toEqual([4, 4, 4, 3, 3, 3]); // the deletion's tombstone is version 4
      expect(await docs.verifyReplicas()).toMatchObject({ records: 6, missing: 0, stale: 0 });
      expect(await docs.get(saved!.id)).toMatchObject({ version: 4, value: { token: 'v4' } });
      expect(await docs.get(updated!.id)).toMatchObject({ version: 4, value: { token: 'v3+' } });
      expect(await docs.get(deleted!.id)).toBeUndefined();
      for (const record of rest)
        expect(await docs.get(record.id)).toMatchObject({ version: 3, value: { token: 'v3' } });
      expect((await docs.select(byN.c.n.eq(deleted!.value.n))).map((d) => d.id)).toEqual([]);
      expect(await docs.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
    } finally {
      faults.disarm();
      await Promise.all(raw.map((s) => s.close()));
    }
  });

  it('an index replica whose put ends with an unknown outcome (connection lost at its commit): the write succeeds, the rows wait in its note', async () => {
    const raw = ['u0', 'u1', 'u2'].map((name) => libsqlShard({ url: `file:${join(dir, `${name}.db`)}` }));
    const indexRaw = ['v0', 'v1'].map((name) => libsqlShard({ url: `file:${join(dir, `${name}.db`)}` }));
    // Index replica 1 loses the connection of its next put after sending it (the put may or may not be stored).
    let lose = 0;
    const put = indexRaw[1]!.putIndexRows.bind(indexRaw[1]!);
    const indexShards = indexRaw;
    Object.assign(indexRaw[1]!, {
      putIndexRows: async (...args: Parameters<typeof put>) => {
        if (lose === 0) return put(...args);
        lose--;
        await put(...args);
        throw new OutcomeUnknownError(
          indexRaw[1]!.name,
          'the connection was lost after the commit was sent (test)',
        );
      },
    });
    try {
      const { docs, byN } = replicatedEntity(uniqueName('unknown'), raw, indexShards);
      await docs.create();
      const record = docs.new({ n: 3, token: 'a' });
      lose = 1;
      await docs.save(record); // the other replica took the rows: the write goes on
      expect(lose).toBe(0);
      expect(record.version).toBe(1);
      expect((await docs.select(byN.c.n.eq(3))).map((d) => d.id)).toEqual([record.id]);
      expect(shardHealth.stateOf(indexShards[1]!)).toBe('open'); // a lost connection: as unavailable
      shardHealth.reportSuccess(indexShards[1]!);
      await docs.drain();
      expect(await docs.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
    } finally {
      await Promise.all([...raw, ...indexRaw].map((s) => s.close()));
    }
  });
});
