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
const script: string = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.example;
const dir = tempDir();

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

/** Runs the example script (a plain `node …` command) from the root with `env` added. */
function start(env: Record<string, string>) {
  const [command, ...args] = script.split(' ');
  expect(command).toBe('node');
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
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  /** The URL it prints, once it has printed where its data lives too. */
  const url = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', () => {
      const match = /^waffle blog on (http:\/\/\S+)\ndata: .+\n/m.exec(stdout);
      if (match) resolve(match[1]!);
    });
    exited.then((code) =>
      reject(new Error(`exited with ${code} before printing its URL:\n${stdout}${stderr}`)),
    );
  });
  url.catch(() => {}); // awaited by the tests that expect a URL; the others await `exited`
  return { child, url, exited, output: () => ({ stdout, stderr }) };
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
