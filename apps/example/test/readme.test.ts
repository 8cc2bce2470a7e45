/**
 * Every ```ts block of the READMEs is run as written: docs that work when pasted.
 * A block is written to a file inside this package (so `@waffle/*` imports
 * resolve as they would in an application) and imported.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format } from 'node:util';
import { type Dialect, dialectEnabled } from '@waffle/testkit';
import { afterAll, describe, expect, it, vi } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const scratch = fileURLToPath(new URL('./.readme/', import.meta.url));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const readmes = [
  join(root, 'README.md'),
  ...readdirSync(join(root, 'packages')).map((p) => join(root, 'packages', p, 'README.md')),
].filter((file) => {
  try {
    return readFileSync(file, 'utf8').length > 0;
  } catch {
    return false;
  }
});

/**
 * A `console.log(...)` line with a trailing `// output` comment must print that
 * output (`…` matches anything). Such calls are rewritten to record what they print.
 */
function instrument(code: string): { source: string; expected: Map<number, string> } {
  const expected = new Map<number, string>();
  const lines = code.split('\n').map((line, n) => {
    const match = /^(.*)console\.log\((.*)\);\s*\/\/ (.*)$/.exec(line);
    if (!match) return line;
    expected.set(n, match[3]!.trim());
    return `${match[1]}(globalThis as any).__readmeLog(${n}, ${match[2]});`;
  });
  return { source: lines.join('\n'), expected };
}

function matches(actual: string, expected: string): boolean {
  const pattern = expected
    .split('…')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[\\s\\S]*');
  return new RegExp(`^${pattern}$`).test(actual);
}

function blocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

/** The README of an adapter for a server needs that server: skipped with its dialect. */
function needs(name: string): Dialect | undefined {
  return (['postgres', 'mysql'] as const).find((dialect) => name === `packages/${dialect}/README.md`);
}

describe('README examples', () => {
  for (const file of readmes) {
    const name = relative(root, file);
    const dialect = needs(name);
    blocks(readFileSync(file, 'utf8')).forEach((code, n) => {
      it.skipIf(dialect !== undefined && !dialectEnabled(dialect))(
        `${name} block ${n + 1} runs`,
        async () => {
          const path = join(scratch, `${name.replaceAll('/', '_')}_${n}.ts`);
          mkdirSync(dirname(path), { recursive: true });
          const { source, expected } = instrument(code);
          writeFileSync(path, `${source}\nexport {};\n`);
          const printed = new Map<number, string[]>();
          (globalThis as any).__readmeLog = (line: number, ...args: unknown[]) => {
            printed.set(line, [...(printed.get(line) ?? []), format(...args)]);
          };
          const log = vi.spyOn(console, 'log').mockImplementation(() => {});
          try {
            await import(path);
          } finally {
            log.mockRestore();
          }
          expect(log.mock.calls.length + printed.size).toBeGreaterThan(0);
          for (const [line, output] of expected) {
            const got = printed.get(line);
            expect(got, `line ${line + 1} printed nothing`).toBeDefined();
            for (const text of got!)
              expect(matches(text, output), `line ${line + 1}: ${text} vs // ${output}`).toBe(true);
          }
        },
      );
    });
  }
  it('found README examples to run', () => {
    expect(readmes.flatMap((f) => blocks(readFileSync(f, 'utf8'))).length).toBeGreaterThanOrEqual(2);
  });
});
