/**
 * A process backfilling an index is SIGKILLed half-way: the index stays
 * `building` with its checkpoint, a new backfill goes on from there (it reads
 * only what was left), and afterwards the index answers exactly, with no row
 * doubled, missing or stale.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Entity } from '@waffle/core';
import { json } from '@waffle/serializer-json';
import { blog, type Dialect, dialectEnabled, post, uniqueName } from '@waffle/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { shardFor, shardUrls, startChild } from './crash/shards.js';

const dir = mkdtempSync(join(tmpdir(), 'waffle-backfill-kill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// Plain JavaScript on the built packages (turbo builds them before tests).
const backfiller = fileURLToPath(new URL('./crash/backfiller.mjs', import.meta.url));
const RECORDS = 300;

for (const dialect of ['libsql', 'postgres', 'mysql'] as Dialect[]) {
  describe.skipIf(!dialectEnabled(dialect))(`a backfill killed on ${dialect}`, () => {
    it('goes on where it stopped when run again, nothing doubled or missed', {
      timeout: 60_000,
    }, async () => {
      const { shards, tagShards } = shardUrls(dialect, dir, uniqueName('bf'));
      const options = { name: dialect, serializer: json(), openShards: async () => [] };
      const opened = [...shards.map(shardFor), ...tagShards.map(shardFor)];
      const names = { post: uniqueName('bf'), byGroup: uniqueName('bf_group'), byTag: uniqueName('bf_tag') };
      try {
        // The entity as it was: records and their group index only.
        const { byGroup } = blog(options, opened.slice(0, 2), opened.slice(2), names);
        const old = new Entity(names.post, {
          shards: opened.slice(0, 2),
          indices: [byGroup],
          serializer: json(),
        });
        await old.create();
        await old.saveMany(
          Array.from({ length: RECORDS }, (_, i) =>
            old.new(post({ group: i % 3, tags: [`t${i % 4}`, 'all'] })),
          ),
        );
        const { posts, byTag, byGroup: group } = blog(options, opened.slice(0, 2), opened.slice(2), names);
        await posts.create();
        const child = await startChild(backfiller, { shards, tagShards, names });
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
        const status = await blog(options, opened.slice(0, 2), opened.slice(2), names).posts.status();
        expect(status.indices[1]).toMatchObject({ index: names.byTag, state: 'building' });
        expect(Object.keys(status.indices[1]!.progress!.after).length).toBeGreaterThan(0);

        const [report] = await posts.backfill(byTag, { batchSize: 50 });
        expect(report!.ready).toBe(true);
        expect(report!.records).toBeGreaterThan(0);
        expect(report!.records).toBeLessThan(RECORDS);
        const stored = await posts.select(group.c.group.gte(0));
        expect(stored).toHaveLength(RECORDS);
        for (let t = 0; t < 4; t++) {
          expect((await posts.select(byTag.c.tag.eq(`t${t}`))).map((r) => r.id).sort()).toEqual(
            stored
              .filter((r) => r.value.tags.includes(`t${t}`))
              .map((r) => r.id)
              .sort(),
          );
        }
        expect(await posts.count(byTag.c.tag.eq('all'))).toBe(RECORDS);
        expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
      } finally {
        await Promise.all(opened.map((s) => s.close()));
      }
    });
  });
}
