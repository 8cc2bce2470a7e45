import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Shard } from '@waffle/core/adapter';
import { type Dialect, dialectEnabled, Faults } from '@waffle/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { Output } from '../src/output.js';
import { type BlogNames, jsonLines, type Ran, tempDir, waffle, writeBlog } from './harness.js';

const COMMANDS = [
  'status',
  'verify-replicas',
  'repair-replicas',
  'create',
  'backfill',
  'verify',
  'repair',
  'drain',
  'reencode',
  'drop-index',
  'export',
  'import',
];

/** What `blog.mjs` exports (see harness.ts). */
interface Blog {
  posts: any;
  copy: any;
  byTime: any;
  byTag: any;
  copyTime: any;
  shards: Shard[];
  tagShards: Shard[];
}

async function loadBlog(
  dir: string,
  env: NodeJS.ProcessEnv = {},
  wrapTag?: (s: Shard) => Shard,
): Promise<Blog> {
  const module = (await import(join(dir, 'blog.mjs'))) as { blog: (e: object, w?: unknown) => Blog };
  return module.blog(env, wrapTag);
}

async function closeBlog(blog: Blog): Promise<void> {
  await Promise.all([...blog.shards, ...blog.tagShards].map((shard) => shard.close()));
}

function expectRan(ran: Ran, code: number): void {
  if (ran.code !== code) {
    throw new Error(`exit ${ran.code}, expected ${code}\nstdout: ${ran.stdout}\nstderr: ${ran.stderr}`);
  }
}

const posts = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => ({
    title: `post ${from + i}`,
    time: 1000 + from + i,
    tags: (from + i) % 2 ? ['odd'] : ['even'],
  }));

const temps: (() => void)[] = [];
afterAll(() => {
  for (const remove of temps) remove();
});

describe('waffle: usage', () => {
  const cwd = (() => {
    const t = tempDir();
    temps.push(t.remove);
    return t.dir;
  })();

  it('--help lists every command; each command has its --help; exit 0', async () => {
    const help = await waffle(['--help'], cwd);
    expectRan(help, 0);
    for (const command of COMMANDS) expect(help.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    expect(help.stdout).toContain('Exit codes: 0 done, 1 differences found or work failed, 2 bad usage');
    const all = await Promise.all(COMMANDS.map((command) => waffle([command, '--help'], cwd)));
    for (const [i, ran] of all.entries()) {
      expectRan(ran, 0);
      expect(ran.stdout).toContain(`Usage: waffle ${COMMANDS[i]} [options]`);
      expect(ran.stdout).toContain('--config <path>');
      expect(ran.stdout).toContain('--json');
    }
    expect(all[COMMANDS.indexOf('import')]!.stdout).toContain(
      '(choices: "skip", "replace", "fail", default: "fail")',
    );
  });

  it('bad usage exits 2 with a message saying what is wrong', async () => {
    const cases: [string[], string][] = [
      [['frob'], "error: unknown command 'frob'"],
      [['verify'], "error: missing required argument 'entity'"],
      [['status', '--frob'], "error: unknown option '--frob'"],
      [
        ['import', 'x', '--on-conflict', 'merge'],
        "option '--on-conflict <mode>' argument 'merge' is invalid",
      ],
      [
        ['export', 'x', '--batch-size', '0'],
        "option '--batch-size <n>' argument '0' is invalid. expected a positive integer.",
      ],
    ];
    const ran = await Promise.all(cases.map(([args]) => waffle(args, cwd)));
    for (const [i, r] of ran.entries()) {
      expectRan(r, 2);
      expect(r.stderr).toContain(cases[i]![1]);
    }
  });

  it('a missing or broken config exits 2 naming the file and the fault', async () => {
    const none = await waffle(['status'], cwd);
    expectRan(none, 2);
    expect(none.stderr).toBe(
      `error: no config in ${cwd}: create waffle.config.ts (or waffle.config.mts, waffle.config.js, waffle.config.mjs) whose default export is defineConfig({ entities: [...] }), or pass --config <path> (or set WAFFLE_CONFIG)\n`,
    );
    const fromEnv = await waffle(['status'], cwd, { WAFFLE_CONFIG: 'elsewhere.mjs' });
    expectRan(fromEnv, 2);
    expect(fromEnv.stderr).toBe(`error: config file not found: ${join(cwd, 'elsewhere.mjs')}\n`);
    const missing = await waffle(['status', '--config', 'nowhere.mjs'], cwd);
    expectRan(missing, 2);
    expect(missing.stderr).toBe(`error: config file not found: ${join(cwd, 'nowhere.mjs')}\n`);
    const configs: [string, string, string][] = [
      [
        'number.mjs',
        'export default 42;',
        'the default export must be defineConfig({ entities: [...] }), got number',
      ],
      [
        'nodefault.mjs',
        'export const x = 1;',
        'the default export must be defineConfig({ entities: [...] }), got no default export',
      ],
      ['throws.mjs', "throw new Error('no database URL');", 'could not load the config'],
      ['notentity.mjs', 'export default { entities: [{}] };', 'entities[0] is not an Entity'],
      [
        'twice.mjs',
        "const e = { name: 'a', status() {} }; export default { entities: [e, e] };",
        'the entity "a" is listed twice',
      ],
      [
        'retired.mjs',
        "export default { entities: [{ name: 'a', status() {} }], retired: { b: [] } };",
        'retired names the entity "b", which is not in entities',
      ],
    ];
    for (const [file, text] of configs) writeFileSync(join(cwd, file), text);
    const ran = await Promise.all(configs.map(([file]) => waffle(['status', '--config', file], cwd)));
    for (const [i, r] of ran.entries()) {
      expectRan(r, 2);
      expect(r.stderr).toContain(`error: ${join(cwd, configs[i]![0])}`.replace(/^error: /, ''));
      expect(r.stderr).toContain(configs[i]![2]);
    }
    expect(ran[2]!.stderr).toContain('no database URL');
    // --json: the error as a JSON object on stdout as well.
    const json = await waffle(['status', '--config', 'number.mjs', '--json'], cwd);
    expectRan(json, 2);
    expect(jsonLines(json.stdout)).toEqual([
      {
        error: {
          code: 'USAGE',
          message: `${join(cwd, 'number.mjs')}: the default export must be defineConfig({ entities: [...] }), got number`,
        },
      },
    ]);
  });

  it('prints a progress bar on a terminal only', () => {
    const written: string[] = [];
    const tty = Object.assign(new PassThrough(), { isTTY: true, columns: 80, cursorTo() {}, clearLine() {} });
    tty.on('data', (chunk: Buffer) => written.push(chunk.toString()));
    const io = { stdin: new PassThrough(), stdout: new PassThrough(), cwd };
    const shown = new Output({ ...io, stderr: tty }, false, true).progress('verify blog', 'records');
    expect(shown.shown).toBe(true);
    shown.update(5, 10);
    shown.stop();
    expect(written.join('')).toContain('verify blog');
    expect(written.join('')).toContain('5/10 records');
    const pipe = Object.assign(new PassThrough(), { isTTY: false });
    expect(new Output({ ...io, stderr: pipe }, false, true).progress('x', 'records').shown).toBe(false);
    expect(new Output({ ...io, stderr: tty }, true, true).progress('x', 'records').shown).toBe(false); // --json
    expect(new Output({ ...io, stderr: tty }, false, false).progress('x', 'records').shown).toBe(false); // --no-progress
  });
});

/** The whole command set on one dialect: status, create, backfill, verify, repair, drain, reencode, drop-index, export, import. */
function operate(dialect: Dialect): void {
  describe.runIf(dialectEnabled(dialect))(`waffle on ${dialect}`, () => {
    let dir: string;
    let names: BlogNames;
    const setup = () => {
      const t = tempDir();
      temps.push(t.remove);
      dir = t.dir;
      names = writeBlog(dir, dialect);
    };

    it('create, status, verify, repair, backfill, drop-index and reencode, with --json shapes and exit codes', async () => {
      setup();
      expectRan(await waffle(['create'], dir, { CLI_TAG: 'off' }), 0);
      const seed = await loadBlog(dir, { CLI_TAG: 'off' });
      await seed.posts.saveMany(posts(30).map((p) => seed.posts.new(p)));
      await seed.posts.delete((await seed.posts.saveMany(posts(1, 30).map((p) => seed.posts.new(p))))[0].id);
      await closeBlog(seed);

      // The tag index is new: create makes its tables, and it is building, with nothing in it yet.
      expectRan(await waffle(['create', names.posts], dir), 0);
      const status = await waffle(['status', names.posts, '--json'], dir);
      expectRan(status, 0);
      const [s] = jsonLines(status.stdout);
      expect(s.entity).toBe(names.posts);
      expect(s.records.reduce((n: number, r: { records: number }) => n + r.records, 0)).toBe(30);
      expect(s.notes.map((n: { notes: number }) => n.notes)).toEqual([0, 0]);
      expect(s.indices.map((ix: any) => [ix.index, ix.state, ix.version])).toEqual([
        [names.time, 'ready', 1],
        [names.tag, 'building', 1],
      ]);
      expect(s.indices[0].rows.reduce((n: number, r: { rows: number }) => n + r.rows, 0)).toBe(30);
      expect(s.indices[1].rows).toEqual([{ shard: expect.any(String), rows: 0 }]);
      const human = await waffle(['status'], dir);
      expectRan(human, 0);
      expect(human.stdout).toMatch(new RegExp(`^entity ${names.posts}\\n  records  30 \\(`, 'm'));
      expect(human.stdout).toContain(`  index ${names.tag}  building  v1  rows 0 (`);
      expect(human.stdout).toContain(`entity ${names.copy}\n  records  0 (`);

      // verify of a building index finds its missing rows (exit 1); backfill fills it.
      const missing = await waffle(['verify', names.posts, names.tag, '--json'], dir);
      expectRan(missing, 1);
      expect(jsonLines(missing.stdout)).toEqual([
        expect.objectContaining({
          entity: names.posts,
          index: names.tag,
          records: 30,
          missing: 30,
          stale: 0,
        }),
      ]);
      const filled = await waffle(['backfill', names.posts, '--json'], dir);
      expectRan(filled, 0);
      expect(jsonLines(filled.stdout)).toEqual([
        {
          entity: names.posts,
          index: names.tag,
          records: 31, // the deletion's tombstone is read too
          rows: 30,
          withdrawn: 0,
          removed: 0,
          ready: true,
        },
      ]);
      const nothing = await waffle(['backfill', names.posts], dir);
      expectRan(nothing, 0);
      expect(nothing.stdout).toBe(`nothing to backfill: every index of ${names.posts} is ready\n`);
      const exact = await waffle(['verify', names.posts], dir);
      expectRan(exact, 0);
      expect(exact.stdout).toBe(
        `${names.time}: 30 records, 30 rows: 0 missing, 0 orphaned, 0 stale (exact)\n` +
          `${names.tag}: 30 records, 30 rows: 0 missing, 0 orphaned, 0 stale (exact)\n`,
      );

      // A changed mapper: verify finds the differences (exit 1), repair fixes them (exit 0).
      const changed = await waffle(['verify', names.posts, names.time], dir, { CLI_SHIFT: '5' });
      expectRan(changed, 1);
      expect(changed.stdout).toMatch(
        new RegExp(
          `^${names.time}: 30 records, 30 rows: 30 missing, 0 orphaned, 30 stale \\(60 differences\\)\\n  missing e\\.g\\. `,
        ),
      );
      const repaired = await waffle(['repair', names.posts, names.time, '--json'], dir, { CLI_SHIFT: '5' });
      expectRan(repaired, 0);
      expect(jsonLines(repaired.stdout)[0]).toMatchObject({ index: names.time, missing: 30, stale: 30 });
      expectRan(await waffle(['verify', names.posts], dir, { CLI_SHIFT: '5' }), 0);

      // Unknown names exit 2 and say what there is.
      const unknownEntity = await waffle(['verify', 'nope'], dir);
      expectRan(unknownEntity, 2);
      expect(unknownEntity.stderr).toBe(
        `error: unknown entity "nope": ${join(dir, 'waffle.config.mjs')} has ${names.posts}, ${names.copy}\n`,
      );
      const unknownIndex = await waffle(['repair', names.posts, 'nope'], dir);
      expectRan(unknownIndex, 2);
      expect(unknownIndex.stderr).toBe(
        `error: unknown index "nope" of entity "${names.posts}": it has ${names.time}, ${names.tag}\n`,
      );

      // drop-index: refused while the index is the entity's; dropped once retired.
      const inUse = await waffle(['drop-index', names.posts, names.tag], dir);
      expectRan(inUse, 2);
      expect(inUse.stderr).toContain(`error: index "${names.tag}" is still one of ${names.posts}'s indices`);
      const notRetired = await waffle(['drop-index', names.posts, 'nope'], dir, { CLI_TAG: 'retired' });
      expectRan(notRetired, 2);
      expect(notRetired.stderr).toContain(`error: unknown index "nope" of entity "${names.posts}"`);
      const dropped = await waffle(['drop-index', names.posts, names.tag, '--json'], dir, {
        CLI_TAG: 'retired',
      });
      expectRan(dropped, 0);
      expect(jsonLines(dropped.stdout)).toEqual([{ entity: names.posts, index: names.tag, dropped: true }]);
      const after = jsonLines(
        (await waffle(['status', names.posts, '--json'], dir, { CLI_TAG: 'retired' })).stdout,
      );
      expect(after[0].indices.map((ix: any) => ix.index)).toEqual([names.time]);

      // reencode after a serializer change: every record rewritten once.
      const reencoded = await waffle(['reencode', names.posts, '--json'], dir, {
        CLI_TAG: 'off',
        CLI_CODEC: 'superjson',
        CLI_SHIFT: '5',
      });
      expectRan(reencoded, 0);
      expect(jsonLines(reencoded.stdout)).toEqual([
        { entity: names.posts, scanned: 31, rewritten: 30, skipped: 0 },
      ]);
      const again = await waffle(['reencode', names.posts], dir, {
        CLI_TAG: 'off',
        CLI_CODEC: 'superjson',
        CLI_SHIFT: '5',
      });
      expectRan(again, 0);
      expect(again.stdout).toBe(
        `${names.posts}: 31 records read, 0 rewritten with superjson, 0 skipped (changed meanwhile)\n`,
      );
    });

    it('drain finishes the index work a write left in its note', async () => {
      setup();
      expectRan(await waffle(['create'], dir), 0);
      // An async write whose index database fails: the record commits, its index work stays in the note.
      const faults = new Faults();
      faults.arm({ failAt: 1, persistent: true, only: ['putIndexRows'] });
      const seed = await loadBlog(dir, { CLI_MODE: 'async' }, (shard) => faults.wrap(shard));
      await seed.posts.saveMany(posts(4).map((p) => seed.posts.new(p)));
      await seed.posts.drain().catch(() => {}); // fails: the index database is "down"
      await closeBlog(seed);
      const before = jsonLines((await waffle(['status', names.posts, '--json'], dir)).stdout)[0];
      expect(before.notes.reduce((n: number, x: { notes: number }) => n + x.notes, 0)).toBe(4);
      const drained = await waffle(['drain', '--json'], dir);
      expectRan(drained, 0);
      expect(jsonLines(drained.stdout)).toEqual([
        { entity: names.posts, notes: 4, finished: 4 },
        { entity: names.copy, notes: 0, finished: 0 },
      ]);
      expectRan(await waffle(['verify', names.posts], dir), 0);
    });

    it('export writes NDJSON; import fills another entity with the same records and exact indices', async () => {
      setup();
      expectRan(await waffle(['create'], dir), 0);
      const seed = await loadBlog(dir);
      const saved = await seed.posts.saveMany(posts(25).map((p) => seed.posts.new(p)));
      await seed.posts.save({ ...saved[0], value: { ...saved[0].value, title: 'edited' } });
      await closeBlog(seed);

      const exported = await waffle(['export', names.posts, '--out', 'posts.ndjson', '--json'], dir);
      expectRan(exported, 0);
      expect(jsonLines(exported.stdout)).toEqual([
        { entity: names.posts, records: 25, out: join(dir, 'posts.ndjson') },
      ]);
      const lines = readFileSync(join(dir, 'posts.ndjson'), 'utf8').trimEnd().split('\n');
      expect(lines).toHaveLength(25);
      const first = JSON.parse(lines.find((l) => l.includes(saved[0].id))!);
      expect(first).toMatchObject({ id: saved[0].id, version: 2, value: { title: 'edited' } });
      // To stdout: the records on stdout, the summary on stderr.
      const piped = await waffle(['export', names.posts], dir);
      expectRan(piped, 0);
      expect(piped.stdout.trimEnd().split('\n').sort()).toEqual([...lines].sort());
      expect(piped.stderr).toBe(`exported 25 records of ${names.posts}\n`);

      const imported = await waffle(
        ['import', names.copy, '--in', 'posts.ndjson', '--json', '--batch-size', '7'],
        dir,
      );
      expectRan(imported, 0);
      expect(jsonLines(imported.stdout)).toEqual([
        { entity: names.copy, lines: 25, imported: 25, skipped: 0, replaced: 0 },
      ]);
      const check = await loadBlog(dir);
      const copies = await check.copy.getMany(saved.map((r: { id: string }) => r.id));
      expect(copies.map((c: any) => [c.id, c.version, c.value.title])).toEqual(
        saved.map((r: any, i: number) => [r.id, i === 0 ? 2 : 1, i === 0 ? 'edited' : r.value.title]),
      );
      const indexed = await check.copy.select(check.copyTime.c.time.gte(0));
      expect(indexed.map((r: { id: string }) => r.id).sort()).toEqual(
        saved.map((r: { id: string }) => r.id).sort(),
      );
      await closeBlog(check);
      expectRan(await waffle(['verify', names.copy], dir), 0);

      // Again from stdin: every id exists now. fail (the default) exits 1 naming the line; skip skips them.
      const input = readFileSync(join(dir, 'posts.ndjson'), 'utf8');
      const conflict = await waffle(['import', names.copy], dir, {}, input);
      expectRan(conflict, 1);
      expect(conflict.stderr).toMatch(/^error: line 1: /);
      const skipped = await waffle(['import', names.copy, '--on-conflict', 'skip'], dir, {}, input);
      expectRan(skipped, 0);
      expect(skipped.stdout).toBe(
        `imported 0 records into ${names.copy} (25 lines; 25 skipped, 0 replaced)\n`,
      );
      // A line that is not valid: exit 1 with its number, the lines before it imported.
      const bad = `${JSON.stringify({ id: 'n1', version: 1, createdAt: new Date(0).toISOString(), updatedAt: new Date(0).toISOString(), value: posts(1)[0] })}\nnot json\n`;
      const broken = await waffle(['import', names.copy, '--json'], dir, {}, bad);
      expectRan(broken, 1);
      expect(broken.stderr).toMatch(/^error: line 2: /);
      expect(jsonLines(broken.stdout)).toEqual([
        {
          error: expect.objectContaining({
            code: expect.any(String),
            line: 2,
            message: expect.stringMatching(/^line 2: /),
          }),
        },
      ]);
      const reread = await loadBlog(dir);
      expect((await reread.copy.get('n1'))?.value.title).toBe('post 0');
      await closeBlog(reread);
      const absent = await waffle(['import', names.copy, '--in', 'absent.ndjson'], dir);
      expectRan(absent, 2);
      expect(absent.stderr).toBe(`error: input file not found: ${join(dir, 'absent.ndjson')}\n`);
    });
  });
}

for (const dialect of ['libsql', 'postgres', 'mysql'] as const) operate(dialect);

describe.runIf(dialectEnabled('libsql'))('waffle with a TypeScript config', () => {
  it('loads waffle.config.ts through jiti', async () => {
    const { dir, remove } = tempDir();
    temps.push(remove);
    const names = writeBlog(dir, 'libsql');
    writeFileSync(
      join(dir, 'waffle.config.ts'),
      `import type { WaffleConfig } from '@waffle/cli';
import { blog } from './blog.mjs';

const { posts, copy }: { posts: WaffleConfig['entities'][number]; copy: WaffleConfig['entities'][number] } = blog();
const config: WaffleConfig = { entities: [posts, copy] };
export default config;
`,
    );
    const created = await waffle(['create', names.posts, '--config', 'waffle.config.ts'], dir);
    expectRan(created, 0);
    expect(created.stdout).toBe(
      `created ${names.posts} on 2 shard(s), indices ${names.time}, ${names.tag}\n`,
    );
    // waffle.config.ts comes first when no --config is given.
    const status = await waffle(['status', names.posts, '--json'], dir);
    expectRan(status, 0);
    expect(jsonLines(status.stdout)[0].entity).toBe(names.posts);
    const notCreated = await waffle(['status', names.copy], dir);
    expectRan(notCreated, 1);
    expect(notCreated.stderr).toMatch(
      new RegExp(`^error: Shard .* has no table "${names.copy}" yet: run create\\(\\) first\\n$`),
    );
  });
});

describe.runIf(dialectEnabled('libsql'))('the README', () => {
  it('its config and every command it shows work when pasted', async () => {
    const { dir, remove } = tempDir();
    temps.push(remove);
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const config = /^```typescript\n([\s\S]*?)^```$/m.exec(readme)![1]!;
    writeFileSync(join(dir, 'waffle.config.ts'), config);
    const commands = /^## Commands\n\n```sh\n([\s\S]*?)^```$/m
      .exec(readme)![1]!
      .trim()
      .split('\n')
      .map((line) => line.replace(/\s+#.*$/, '').split(/\s+/));
    expect(commands.length).toBeGreaterThan(8);
    for (const [npx, bin, ...args] of commands) {
      expect([npx, bin]).toEqual(['npx', 'waffle']);
      const ran = await waffle(args, dir);
      expectRan(ran, 0);
      if (args[0] === 'status' && args.includes('--json')) {
        expect(jsonLines(ran.stdout)[0]).toMatchObject({
          entity: 'cli_readme_posts',
          indices: [{ state: 'ready' }],
        });
      }
    }
    expect(readFileSync(join(dir, 'posts.ndjson'), 'utf8')).toBe('');
  });
});

describe.runIf(dialectEnabled('libsql'))('waffle verify-replicas and repair-replicas', () => {
  it('find the copies a replica missed (exit 1), copy the newest over them, then find none', async () => {
    const { dir, remove } = tempDir();
    temps.push(remove);
    const name = `cli_reps_${Date.now().toString(36)}`;
    writeFileSync(
      join(dir, 'replicas.mjs'),
      `import { Entity, ShardByPrimaryKey } from '@waffle/core';
import { libsqlShard } from '@waffle/libsql';
import { json } from '@waffle/serializer-json';

export function replicated(wrap = (shard) => shard) {
  const shards = ['r0', 'r1', 'r2'].map((n) => wrap(libsqlShard({ url: 'file:' + new URL(n + '.db', import.meta.url).pathname })));
  const docs = new Entity('${name}', { shards: new ShardByPrimaryKey(shards, { replicas: 2 }), serializer: json() });
  return { docs, shards };
}
`,
    );
    writeFileSync(
      join(dir, 'replicas.config.mjs'),
      `import { defineConfig } from '@waffle/cli';
import { replicated } from './replicas.mjs';

export default defineConfig({ entities: [replicated().docs] });
`,
    );
    const { replicated } = (await import(join(dir, 'replicas.mjs'))) as {
      replicated: (wrap?: (s: Shard) => Shard) => { docs: any; shards: Shard[] };
    };
    const all = replicated();
    await all.docs.create();
    await all.docs.saveMany(Array.from({ length: 12 }, (_, i) => all.docs.new({ n: i })));
    await Promise.all(all.shards.map((s) => s.close()));
    // A writer that cannot reach the third database: its copies there stay in notes.
    const faults = new Faults();
    let position = 0;
    const partial = replicated((shard) => (position++ === 2 ? faults.wrap(shard) : shard));
    faults.arm({ failAt: 1, persistent: true });
    const written = await partial.docs.saveMany(
      Array.from({ length: 12 }, (_, i) => partial.docs.new({ n: 100 + i })),
    );
    expect(written).toHaveLength(12);
    await Promise.all(partial.shards.map((s) => s.close()));

    const config = ['--config', 'replicas.config.mjs'];
    const found = await waffle(['verify-replicas', name, '--json', ...config], dir);
    expectRan(found, 1);
    const [report] = jsonLines(found.stdout);
    expect(report).toMatchObject({ entity: name, records: 24, stale: 0 });
    expect(report.missing).toBeGreaterThan(0);
    const repaired = await waffle(['repair-replicas', name, ...config], dir);
    expectRan(repaired, 0);
    expect(repaired.stdout).toMatch(
      new RegExp(`^${name}: 24 records, \\d+ missing copies, 0 stale copies \\(\\d+ copies repaired\\)\\n`),
    );
    const equal = await waffle(['verify-replicas', name, ...config], dir);
    expectRan(equal, 0);
    expect(equal.stdout).toBe(`${name}: 24 records, 0 missing copies, 0 stale copies (equal)\n`);
  });
});
