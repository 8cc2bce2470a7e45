/**
 * `pnpm example` as a user runs it: the root package.json's script, in a child
 * process, from the TypeScript sources.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const scripts = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts;
const script: string = scripts.example;
const waffleScript: string = scripts.waffle;
const dir = tempDir();

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

/** Runs node with `args` from the root, `env` added, collecting what it prints. */
function spawnNode(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  return { child, output: () => ({ stdout, stderr }) };
}

/** Runs the example script (a plain `node …` command) from the root with `env` added. */
function start(env: Record<string, string>) {
  const [command, ...args] = script.split(' ');
  expect(command).toBe('node');
  const { child, output } = spawnNode(args, env);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  /** The URL it prints, once it has printed where its data lives too. */
  const url = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', () => {
      const match = /^waffle blog on (http:\/\/\S+)\ndata: .+\n/m.exec(output().stdout);
      if (match) resolve(match[1]!);
    });
    exited.then((code) => {
      const { stdout, stderr } = output();
      reject(new Error(`exited with ${code} before printing its URL:\n${stdout}${stderr}`));
    });
  });
  url.catch(() => {}); // awaited by the tests that expect a URL; the others await `exited`
  return { child, url, exited, output };
}

/** Runs the root `waffle` script (`WAFFLE_CONFIG=… node …`) from the root with `args` and `env` added. */
function waffle(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [assignment, command, ...rest] = waffleScript.split(' ');
  const [variable, value] = assignment!.split('=');
  expect([variable, command]).toEqual(['WAFFLE_CONFIG', 'node']);
  const { child, output } = spawnNode([...rest, ...args], { ...env, [variable!]: value! });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, ...output() })));
}

describe('pnpm example', () => {
  it('starts the service on the port given, prints its URL and its data folder, and stops on SIGTERM', async () => {
    const data = join(dir, 'data');
    const run = start({ PORT: '0', WAFFLE_EXAMPLE_DATA: data });
    const url = await run.url;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(run.output().stdout).toContain(`data: embedded libSQL files in ${data}`);

    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<h2 class="title">My First Blog Post</h2>');
    const ann: any = await (await fetch(`${url}/api/authors/ann/posts`)).json();
    expect(ann.posts.map((p: any) => p.value.title)).toEqual(['My First Blog Post', 'Hello from 2009']);
    expect(existsSync(join(data, 'posts-0.db'))).toBe(true);

    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(run.output().stderr).toBe('');
  });

  it('keeps its posts across restarts and seeds them once', async () => {
    const data = join(dir, 'data');
    const run = start({ PORT: '0', WAFFLE_EXAMPLE_DATA: data });
    const url = await run.url;
    const { posts }: any = await (await fetch(`${url}/api/posts`)).json();
    expect(posts.map((p: any) => p.value.title)).toEqual(['My First Blog Post', 'Fog', 'Hello from 2009']);
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
  });

  it("runs the root README's quick start: the waffle command on the running service's data", async () => {
    const data = join(dir, 'quick');
    const run = start({ PORT: '0', WAFFLE_EXAMPLE_DATA: data });
    const url = await run.url;
    const created = await fetch(`${url}/api/posts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Through the quick start', author: 'zed' }),
    });
    expect(created.status).toBe(201);
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## Install'));
    const prefix = 'npx -y pnpm@12.4.2 waffle ';
    const commands = quickStart
      .split('\n')
      .filter((line) => line.startsWith(prefix))
      .map((line) => line.slice(prefix.length).split(' '));
    expect(commands.map((c) => c[0])).toEqual(['status', 'verify', 'export', 'import']);
    const file = join(dir, 'blog.ndjson'); // the README's /tmp/blog.ndjson, in this test's folder
    const outputs: string[] = [];
    for (const args of commands) {
      const ran = await waffle(
        args.map((a) => (a === '/tmp/blog.ndjson' ? file : a)),
        { WAFFLE_EXAMPLE_DATA: data },
      );
      expect(ran.code, ran.stderr).toBe(0);
      outputs.push(ran.stdout);
    }
    expect(outputs[0]).toMatch(/^entity blog\n {2}records {2}4 \(/);
    expect(outputs[0]).toMatch(/^ {2}index blog_author {2}ready {2}v1 {2}rows 4 \(/m);
    expect(outputs[1]).toContain('blog_time: 4 records, 4 rows: 0 missing, 0 orphaned, 0 stale (exact)');
    expect(outputs[2]).toBe(`exported 4 records of blog to ${file}\n`);
    expect(readFileSync(file, 'utf8')).toContain('"title":"Through the quick start"');
    expect(outputs[3]).toBe('imported 0 records into blog (4 lines; 4 skipped, 0 replaced)\n');
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });

  it('refuses a bad PORT with a message', async () => {
    const run = start({ PORT: 'eighty', WAFFLE_EXAMPLE_DATA: join(dir, 'unused') });
    expect(await run.exited).toBe(2);
    expect(run.output().stderr).toContain(
      'PORT must be a port number from 0 to 65535 (0: any free port), got "eighty"',
    );
  });

  it('says so when its port is taken', async () => {
    const first = start({ PORT: '0', WAFFLE_EXAMPLE_DATA: join(dir, 'taken-1') });
    const port = new URL(await first.url).port;
    const second = start({ PORT: port, WAFFLE_EXAMPLE_DATA: join(dir, 'taken-2') });
    expect(await second.exited).toBe(1);
    expect(second.output().stderr).toContain(`Port ${port} on 127.0.0.1 is in use`);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
  });
});
