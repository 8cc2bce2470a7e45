/**
 * Every ```ts block of the READMEs is run as written: docs that work when pasted.
 * A block is written to a file inside this package (so `@waffle/*` imports
 * resolve as they would in an application) and imported.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
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

function blocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

describe('README examples', () => {
  for (const file of readmes) {
    const name = relative(root, file);
    blocks(readFileSync(file, 'utf8')).forEach((code, n) => {
      it(`${name} block ${n + 1} runs`, async () => {
        const path = join(scratch, `${name.replaceAll('/', '_')}_${n}.ts`);
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, `${code}\nexport {};\n`);
        const log = vi.spyOn(console, 'log').mockImplementation(() => {});
        try {
          await import(path);
          expect(log).toHaveBeenCalled();
        } finally {
          log.mockRestore();
        }
      });
    });
  }
  it('found README examples to run', () => {
    expect(readmes.flatMap((f) => blocks(readFileSync(f, 'utf8'))).length).toBeGreaterThanOrEqual(2);
  });
});
