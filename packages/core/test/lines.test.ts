import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ImportError, readLines, ValidationError } from '../src/index.js';

async function all(lines: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const line of lines) out.push(line);
  return out;
}

async function* chunks<C>(items: readonly C[]): AsyncGenerator<C> {
  for (const item of items) yield item;
}

const utf8 = (text: string) => new TextEncoder().encode(text);

/** `text` cut at the given offsets (sorted, within it). */
function cut<C extends string | Uint8Array>(text: C, at: readonly number[]): C[] {
  const points = [...new Set(at)].sort((a, b) => a - b);
  const out: C[] = [];
  let from = 0;
  for (const p of [...points, text.length]) {
    out.push(text.slice(from, p) as C);
    from = p;
  }
  return out;
}

describe('readLines', () => {
  it('splits text into lines without their \\n or \\r\\n, a last line without newline included', async () => {
    expect(await all(readLines(chunks(['a\nb', 'c\r\n\nd\r', '\ne'])))).toEqual(['a', 'bc', '', 'd', 'e']);
    expect(await all(readLines(['x\n', 'y\n']))).toEqual(['x', 'y']);
    expect(await all(readLines([]))).toEqual([]);
    expect(await all(readLines(['\n']))).toEqual(['']);
  });

  it('gives the same lines however text or UTF-8 bytes are cut into chunks, multi-byte characters included', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => s.replace(/[\r\n]/g, '')),
          {
            maxLength: 8,
          },
        ),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.boolean(),
        async (lines, crlf, offsets, asBytes) => {
          const text = lines.map((line) => `${line}${crlf ? '\r\n' : '\n'}`).join('');
          const bytes = utf8(text);
          const source = asBytes
            ? cut(
                bytes,
                offsets.map((n) => n % (bytes.length + 1)),
              )
            : cut(
                text,
                offsets.map((n) => n % (text.length + 1)),
              );
          expect(await all(readLines(chunks<string | Uint8Array>(source)))).toEqual(lines);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('drops a UTF-8 byte order mark at the start only', async () => {
    expect(await all(readLines([new Uint8Array([0xef, 0xbb, 0xbf]), utf8('a\n\uFEFFb')]))).toEqual([
      'a',
      '\uFEFFb',
    ]);
    expect(await all(readLines(['\uFEFFa']))).toEqual(['a']);
  });

  it('copies the bytes it keeps: a stream may reuse its buffer for the next chunk', async () => {
    const buffer = utf8('ab');
    async function* reused() {
      yield buffer;
      buffer.set(utf8('cd'));
      yield utf8('\n');
    }
    expect(await all(readLines(reused()))).toEqual(['ab']);
  });

  it('refuses bytes that are not UTF-8 with an ImportError naming their line', async () => {
    const lines: string[] = [];
    let error: unknown;
    try {
      for await (const line of readLines([
        utf8('ok\nfine\n'),
        new Uint8Array([0x41, 0xff, 0x0a]),
        utf8('after\n'),
      ]))
        lines.push(line);
    } catch (e) {
      error = e;
    }
    expect(lines).toEqual(['ok', 'fine']);
    expect(error).toBeInstanceOf(ImportError);
    expect((error as ImportError).line).toBe(3);
    expect((error as Error).message).toBe('line 3: not valid UTF-8 text');
    expect((error as Error).cause).toBeInstanceOf(TypeError);
  });

  it('refuses what is not a stream of text or bytes with a ValidationError', async () => {
    await expect(all(readLines(42 as never))).rejects.toThrow(
      new ValidationError(
        'readLines(): expected an iterable or async iterable of strings or bytes, got 42 (number)',
      ),
    );
    await expect(all(readLines([1] as never))).rejects.toThrow(
      new ValidationError(
        'readLines(): expected chunks of text (strings) or bytes (Uint8Array), got 1 (number)',
      ),
    );
    const error = await all(readLines([1] as never)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
  });
});
