/**
 * A writer over replicas SIGKILLed 10 times (issue 12): a child process
 * (crash/replicated-writer.mjs) writes records and their index, each with
 * `replicas: 2` over 3 shards, and prints each write once it is
 * acknowledged; it is killed at a random moment, again and again, wherever
 * it is (between a commit and its copies, in the middle of a copy, …). Then
 * `drain()` delivers the copies the notes hold: the replicas are equal
 * (`verifyReplicas()` finds nothing, and nothing for `repairReplicas()` to
 * mend), every acknowledged write is there at its version or a later one,
 * and index answers equal brute force.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RecordRow, Shard } from '@waffle/core/adapter';
import { type Dialect, dialectEnabled, servers, shardDatabaseUrls, uniqueName } from '@waffle/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { shardFor } from './crash/shards.js';
import { replicatedEntity, type Value } from './support/replicated.js';

const dir = mkdtempSync(join(tmpdir(), 'waffle-rkill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// Plain JavaScript on the built packages (turbo builds them before tests), so that each start is quick.
const writer = fileURLToPath(new URL('./crash/replicated-writer.mjs', import.meta.url));
const KILLS = 10;

/** An acknowledged write, as the child printed it. */
type Ack = { id: string; version: number; value?: Value; deleted?: true };

/** The child, and every line it printed so far. */
interface Writer {
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly exited: Promise<number | null>;
}

/** Starts the writer; resolves once it printed `ready`. */
function startWriter(args: object): Promise<Writer> {
  const child = spawn(process.execPath, [writer, JSON.stringify(args)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  let partial = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop()!; // a line cut by the kill was never acknowledged
      lines.push(...parts);
      if (parts.includes('ready')) resolve({ child, lines, exited });
    });
    exited.then((code) => reject(new Error(`the writer exited before it was ready (${code})`)));
  });
}

/** The URLs of 3 record shards and 3 index shards. */
function urls(dialect: Dialect): { shards: string[]; indexShards: string[] } {
  if (dialect === 'libsql') {
    const file = (name: string) => `file:${join(dir, `${name}.db`)}`;
    return { shards: ['r0', 'r1', 'r2'].map(file), indexShards: ['i0', 'i1', 'i2'].map(file) };
  }
  const all = shardDatabaseUrls(dialect === 'postgres' ? servers.postgres : servers.mysql);
  return { shards: all.slice(0, 3), indexShards: all.slice(3, 6) };
}

for (const dialect of ['libsql', 'postgres'] as Dialect[]) {
  describe.skipIf(!dialectEnabled(dialect))(`a writer over replicas killed on ${dialect}`, () => {
    it(`SIGKILLed ${KILLS} times: replicas equal after drain(), every acknowledged write there`, {
      timeout: 120_000,
    }, async () => {
      const { shards, indexShards } = urls(dialect);
      const opened: Shard[] = [...shards, ...indexShards].map(shardFor);
      const name = uniqueName('rkill');
      const { docs, byN } = replicatedEntity(name, opened.slice(0, 3), opened.slice(3));
      try {
        await docs.create();
        const ids = Array.from({ length: 16 }, (_, i) => `r${i}`);
        const last = new Map<string, Ack>();
        let acknowledged = 0;
        for (let kill = 0; kill < KILLS; kill++) {
          const { child, lines, exited } = await startWriter({ shards, indexShards, name, ids });
          // Killed while it writes: after its first few writes, at a random moment.
          while (lines.length < 4 && child.exitCode === null)
            await new Promise((resolve) => setTimeout(resolve, 5));
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 100));
          expect(child.exitCode, 'the writer stopped by itself').toBeNull();
          child.kill('SIGKILL');
          await exited;
          for (const line of lines) {
            if (!line.startsWith('{')) continue;
            const ack = JSON.parse(line) as Ack;
            acknowledged++;
            expect(ack.version, `versions of ${ack.id} grow`).toBeGreaterThan(last.get(ack.id)?.version ?? 0);
            last.set(ack.id, ack);
          }
        }
        expect(acknowledged).toBeGreaterThanOrEqual(KILLS * 3);
        const drained = await docs.drain();
        const afterDrain = await docs.verifyReplicas();
        const repaired = await docs.repairReplicas();
        console.log(
          `writer over replicas killed ${KILLS} times on ${dialect}: ${JSON.stringify({ acknowledged, idsAcknowledged: last.size, drained, afterDrain: { missing: afterDrain.missing, stale: afterDrain.stale }, repaired: { missing: repaired.missing, stale: repaired.stale } })}`,
        );
        // The copies a killed writer did not make wait in durable notes: drain() alone delivers them.
        expect(afterDrain).toMatchObject({ missing: 0, stale: 0 });
        expect(repaired).toMatchObject({ missing: 0, stale: 0 });
        const verified = await docs.verifyReplicas();
        expect(verified).toMatchObject({ missing: 0, stale: 0 });

        // Every acknowledged write there, at its version or a later one (a write the kill cut before
        // it was printed may have committed): every replica of each record holds the same row.
        const table = { kind: 'entity' as const, name };
        const rows = new Map<string, RecordRow[]>();
        for (const shard of opened.slice(0, 3)) {
          for (const row of await shard.getRecords(table, ids))
            rows.set(row.id, [...(rows.get(row.id) ?? []), row]);
        }
        // Every record written (an insert the kill cut before it was printed too) compared.
        expect(verified.records).toBe(rows.size);
        expect(rows.size).toBeGreaterThanOrEqual(last.size);
        const stored = await docs.getMany(ids);
        for (const [i, id] of ids.entries()) {
          const ack = last.get(id);
          const copies = rows.get(id) ?? [];
          if (!ack) continue;
          expect(copies.length, `replicas of ${id}`).toBe(2);
          expect(copies[0]!.version).toBe(copies[1]!.version);
          expect(copies[0]!.version, `${id}: acknowledged at ${ack.version}`).toBeGreaterThanOrEqual(
            ack.version,
          );
          if (copies[0]!.version !== ack.version) continue;
          if (ack.deleted) expect(stored[i], `${id} deleted at ${ack.version}`).toBeUndefined();
          else expect(stored[i]?.value, `${id} at ${ack.version}`).toEqual(ack.value);
        }
        const live = stored.filter((d) => d !== undefined);
        for (let n = 0; n < 6; n++) {
          const brute = live
            .filter((d) => d.value.n === n)
            .map((d) => d.id)
            .sort();
          expect((await docs.select(byN.c.n.eq(n))).map((d) => d.id).sort(), `n = ${n}`).toEqual(brute);
        }
        await docs.repair(undefined, { graceMs: 0 }); // rows of writes the kills cut before their commit
        expect(await docs.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
      } finally {
        await Promise.all(opened.map((s) => s.close()));
      }
    });
  });
}
