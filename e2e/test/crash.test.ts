/**
 * A process saving in a loop is SIGKILLed at a random moment, again and
 * again: every record then reads whole, every index query returns exactly the
 * stored records that match; after `drain()` the only index rows a record's
 * stored version does not produce are those of writes that never committed,
 * `repair` then leaves the indices exact, and libSQL files pass `integrity_check`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from '@libsql/client';
import { json } from '@waffle/serializer-json';
import { blog, type Dialect, dialectEnabled, expectRowsOf, post, uniqueName } from '@waffle/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { shardFor, shardUrls, startChild } from './crash/shards.js';

const dir = mkdtempSync(join(tmpdir(), 'waffle-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// Plain JavaScript on the built packages (turbo builds them before tests), so that each start is quick.
const writer = fileURLToPath(new URL('./crash/writer.mjs', import.meta.url));
const KILLS = 20;

/** What `read` returns once two reads 150 ms apart give the same versions. */
async function settled<R extends { id: string; version: number }>(read: () => Promise<R[]>): Promise<R[]> {
  const versions = (rows: R[]) => JSON.stringify(rows.map((r) => [r.id, r.version]));
  let last = await read();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 150));
    const now = await read();
    if (versions(now) === versions(last)) return now;
    last = now;
  }
}
const TAGS = ['a', 'b', 'c', 'd', 'e'];

for (const dialect of ['libsql', 'postgres', 'mysql'] as Dialect[]) {
  describe.skipIf(!dialectEnabled(dialect))(`crash of a writer on ${dialect}`, () => {
    it(`leaves whole records and exact index answers, ${KILLS} times`, { timeout: 180_000 }, async () => {
      const { shards, tagShards } = shardUrls(dialect, dir);
      const options = { name: dialect, serializer: json(), openShards: async () => [] };
      const opened = [...shards.map(shardFor), ...tagShards.map(shardFor)];
      const { posts, byTag, byGroup, names } = blog(options, opened.slice(0, 2), opened.slice(2), {
        post: uniqueName('crash'),
        byGroup: uniqueName('crash_group'),
        byTag: uniqueName('crash_tag'),
      });
      await posts.create();
      const ids = Array.from({ length: 12 }, (_, i) => `r${i}`);
      await posts.saveMany(ids.map((id) => posts.new(post({ title: id, tags: ['a'] }), { id })));
      try {
        for (let kill = 0; kill < KILLS; kill++) {
          const child = await startChild(writer, { shards, tagShards, names, ids });
          await new Promise((r) => setTimeout(r, Math.random() * 150));
          const exited = new Promise((r) => child.once('exit', r));
          child.kill('SIGKILL');
          await exited;
          // A statement the killed process had sent may still commit on the server (it finishes what it
          // runs when its client dies): read once the records stop changing.
          const stored = await settled(async () => (await posts.getMany(ids)).filter((r) => r !== undefined));
          for (const record of stored) expect(record.value.title).toBe(record.id); // whole values
          for (const tag of TAGS) {
            const expected = stored
              .filter((r) => r.value.tags.includes(tag))
              .map((r) => r.id)
              .sort();
            expect((await posts.select(byTag.c.tag.eq(tag))).map((r) => r.id).sort(), `tag ${tag}`).toEqual(
              expected,
            );
          }
          for (let group = 0; group < 5; group++) {
            const expected = stored
              .filter((r) => r.value.group === group)
              .map((r) => r.id)
              .sort();
            expect((await posts.select(byGroup.c.group.eq(group))).map((r) => r.id).sort()).toEqual(expected);
          }
        }
        await posts.drain();
        for (const id of ids) {
          await expectRowsOf(posts, byTag, id, false);
          await expectRowsOf(posts, byGroup, id, true); // beside the records: in their transaction
        }
        await posts.repair(undefined, { graceMs: 0 }); // no writer runs now: nothing is in flight
        expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
        if (dialect === 'libsql') {
          for (const url of [...shards, ...tagShards]) {
            const client = createClient({ url });
            const check = await client.execute('PRAGMA integrity_check');
            expect(check.rows[0]?.[0]).toBe('ok');
            client.close();
          }
        }
      } finally {
        await Promise.all(opened.map((s) => s.close()));
      }
    });
  });
}
