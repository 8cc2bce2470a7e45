/**
 * The packages as they would be published: `pnpm pack` core, sql, the libSQL
 * adapter, the JSON serializer and the CLI, `npm install` the tarballs into an
 * empty project outside the workspace, and use them there with plain node,
 * with tsc, and through the `waffle` command.
 */
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const packages = ['core', 'sql', 'libsql', 'serializer-json', 'cli'];
const manifest = (dir: string) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
const pnpm: string = manifest(root).packageManager; // pnpm@x.y.z, the workspace's own

// npm and pnpm, when they run this test, hand their settings down as npm_*
// variables (npm_config_local_prefix among them, which would make npm install
// into the workspace): the commands below get none of them but the user's
// registry, cache, certificate and proxy settings.
const kept = /^npm_config_(registry|cache|cafile|userconfig|proxy|https_proxy|noproxy|strict_ssl)$/i;
const env = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !/^p?npm_/i.test(key) || kept.test(key)),
);

/** A package must be built before it is packed: its main file and bins. */
function assertBuilt(name: string): void {
  const dir = join(root, 'packages', name);
  const pkg = manifest(dir);
  for (const file of [pkg.main, ...Object.values<string>(pkg.bin ?? {})]) {
    if (!existsSync(join(dir, file))) {
      throw new Error(
        `packages/${name}/${file.replace(/^\.\//, '')} is missing: build ${pkg.name} before this test ` +
          `(pnpm build at the root, or npx tsc -p tsconfig.build.json in packages/${name})`,
      );
    }
  }
}

let dir = '';
let app = '';
const waffle = () => join(app, 'node_modules', '.bin', 'waffle');

beforeAll(async () => {
  for (const name of packages) assertBuilt(name);
  dir = mkdtempSync(join(tmpdir(), 'waffle-packed-'));
  const packs = join(dir, 'packs');
  app = join(dir, 'app');
  mkdirSync(packs);
  mkdirSync(app);
  const filters = packages.flatMap((name) => ['--filter', manifest(join(root, 'packages', name)).name]);
  await run('npx', ['-y', pnpm, ...filters, 'pack', '--pack-destination', packs], { cwd: root, env });
  const tarballs = readdirSync(packs).map((file) => join(packs, file));
  expect(tarballs).toHaveLength(packages.length);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  // The application's entity, used by its program and by its waffle.config.ts.
  writeFileSync(
    join(app, 'posts.js'),
    `import { Entity, Index, integer, text } from '@waffle/core';
import { libsqlShard } from '@waffle/libsql';
import { json } from '@waffle/serializer-json';

export const shards = [libsqlShard({ url: 'file:posts-0.db' }), libsqlShard({ url: 'file:posts-1.db' })];
export const byAuthor = new Index('post_author', {
  columns: { author: text(), created: integer() },
  shard: shards,
  mapper: (post) => [{ author: post.value.author, created: post.value.created }],
});
export const posts = new Entity('post', { shards, indices: [byAuthor], serializer: json() });
`,
  );
  // Every tarball in one install: the adapter's dependency on @waffle/sql and
  // the peer dependencies on @waffle/core are met by the tarballs given beside
  // them (npm looks up on the registry what it is not given, and @waffle/sql
  // is not there before it is published).
  await run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...tarballs],
    {
      cwd: app,
      env,
      timeout: 240_000,
    },
  );
}, 300_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the packed packages installed with npm outside the workspace', () => {
  it('come from the tarballs, with real versions in place of workspace: ranges', () => {
    const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8'));
    for (const name of packages) {
      const installed = join(app, 'node_modules', manifest(join(root, 'packages', name)).name);
      const pkg = manifest(installed);
      expect(lock.packages[`node_modules/${pkg.name}`].resolved).toMatch(/^file:.*\.tgz$/);
      expect(readFileSync(join(installed, 'package.json'), 'utf8')).not.toContain('workspace:');
      for (const file of Object.values<{ source: string }>(pkg.exports).map((e) => e.source)) {
        expect(existsSync(join(installed, file)), `${pkg.name} ships ${file}`).toBe(true);
      }
    }
  });

  it('store, read and query records in a plain node program', async () => {
    writeFileSync(
      join(app, 'main.js'),
      `import { byAuthor, posts, shards } from './posts.js';

await posts.create();
const post = posts.new({ title: 'My First Blog Post', author: 'ann', created: 1 });
await posts.save(post);
const got = await posts.get(post.id);
const found = await posts.select(byAuthor.c.author.eq('ann'));
console.log(JSON.stringify({ title: got?.value.title, version: got?.version, found: found.map((p) => p.value.title) }));
for (const shard of shards) await shard.close();
`,
    );
    const { stdout } = await run(process.execPath, ['main.js'], { cwd: app, env });
    expect(JSON.parse(stdout)).toEqual({
      title: 'My First Blog Post',
      version: 1,
      found: ['My First Blog Post'],
    });
    expect(existsSync(join(app, 'posts-0.db'))).toBe(true);
  });

  it('type-check a TypeScript program with moduleResolution nodenext', async () => {
    writeFileSync(
      join(app, 'check.ts'),
      `import { type Doc, Entity, Index, text } from '@waffle/core';
import type { Shard } from '@waffle/core/adapter';
import { libsqlShard } from '@waffle/libsql';
import { json } from '@waffle/serializer-json';

type User = { name: string };
const shards: Shard[] = [libsqlShard({ url: ':memory:' })];
const byName = new Index('user_name', {
  columns: { name: text() },
  shard: shards,
  mapper: (user: Doc<User>) => [{ name: user.value.name }],
});
const users = new Entity<User>('users', { shards, indices: [byName], serializer: json() });
export const name: string | undefined = (await users.get('1'))?.value.name;
// @ts-expect-error: the value's type comes through the installed declarations
export const wrong: number | undefined = (await users.get('1'))?.value.name;
`,
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          strict: true,
          noEmit: true,
        },
        files: ['check.ts'],
      }),
    );
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const result = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app, env }).catch(
      (error: { stdout: string }) => error,
    );
    expect(result.stdout).toBe('');
  });

  it('run `waffle --help`', async () => {
    const { stdout } = await run(waffle(), ['--help'], { cwd: app, env });
    for (const command of ['status', 'backfill', 'verify', 'repair', 'drain', 'export', 'import']) {
      expect(stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm')); // a line of the command list
    }
  });

  it('run `waffle` on a TypeScript config that imports the installed packages', async () => {
    writeFileSync(
      join(app, 'waffle.config.ts'),
      `import { defineConfig } from '@waffle/cli';
import { posts } from './posts.js';

export default defineConfig({ entities: [posts] });
`,
    );
    await run(waffle(), ['create'], { cwd: app, env });
    const status = await run(waffle(), ['status', 'post'], { cwd: app, env });
    expect(status.stdout).toContain('post_author');
    const verify = await run(waffle(), ['verify', 'post'], { cwd: app, env }); // exit 1 on differences
    expect(verify.stdout).toContain('post_author');
  });
});
