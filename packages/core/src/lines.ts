/**
 * Lines of a text or byte stream, for `Entity.import`: a file or a socket
 * read chunk by chunk becomes one string per line, holding no more than one
 * line (and one chunk) at a time.
 */
import { ImportError, ValidationError } from './errors.js';
import { describe } from './names.js';

const NEWLINE = 0x0a;
const BOM = '\uFEFF';

/** The text of one line's bytes; an {@link ImportError} with its number when they are not UTF-8. */
function decodeLine(
  parts: readonly Uint8Array[],
  line: number,
  decoder: { decode(bytes: Uint8Array): string },
): string {
  let bytes: Uint8Array;
  if (parts.length === 1) bytes = parts[0]!;
  else {
    bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of parts) {
      bytes.set(part, at);
      at += part.length;
    }
  }
  try {
    return decoder.decode(bytes);
  } catch (error) {
    throw new ImportError(line, 'not valid UTF-8 text', { cause: error });
  }
}

/** True for an iterable or async iterable object (not a string: a string is one line, not lines). */
export function isIterable(value: unknown): value is AsyncIterable<unknown> | Iterable<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    (typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function' ||
      typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function')
  );
}

/**
 * Splits a stream of text or bytes (UTF-8) into lines, e.g. a file read with
 * `fs.createReadStream(path)` or `process.stdin`, for `Entity.import`. Each
 * line comes without its `\n` or `\r\n`; a last line without a newline comes
 * too, and a UTF-8 byte order mark at the start is dropped. Memory stays flat:
 * only the line being read is held. Bytes that are not UTF-8 are an
 * {@link ImportError} with the number of their line.
 *
 * @example
 * const report = await posts.import(readLines(createReadStream('posts.ndjson')));
 */
export async function* readLines(
  stream: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
): AsyncGenerator<string> {
  if (!isIterable(stream)) {
    throw new ValidationError(
      `readLines(): expected an iterable or async iterable of strings or bytes, got ${describe(stream)}`,
    );
  }
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let line = 1;
  // The start of the current line: text, then bytes not decoded yet (a chunk may end inside a character).
  let text: string[] = [];
  let bytes: Uint8Array[] = [];
  const finish = (): string => {
    if (bytes.length > 0) text.push(decodeLine(bytes, line, decoder));
    let out = text.join('');
    text = [];
    bytes = [];
    if (line === 1 && out.startsWith(BOM)) out = out.slice(1);
    line++;
    return out.endsWith('\r') ? out.slice(0, -1) : out;
  };
  for await (const chunk of stream) {
    if (typeof chunk === 'string') {
      if (bytes.length > 0) {
        text.push(decodeLine(bytes, line, decoder));
        bytes = [];
      }
      let from = 0;
      for (let at = chunk.indexOf('\n'); at >= 0; at = chunk.indexOf('\n', from)) {
        text.push(chunk.slice(from, at));
        from = at + 1;
        yield finish();
      }
      if (from < chunk.length) text.push(chunk.slice(from));
    } else if (chunk instanceof Uint8Array) {
      let from = 0;
      for (let at = chunk.indexOf(NEWLINE); at >= 0; at = chunk.indexOf(NEWLINE, from)) {
        bytes.push(chunk.subarray(from, at));
        from = at + 1;
        yield finish();
      }
      // A copy: the stream may reuse its buffer for the next chunk.
      if (from < chunk.length) bytes.push(new Uint8Array(chunk.subarray(from)));
    } else {
      throw new ValidationError(
        `readLines(): expected chunks of text (strings) or bytes (Uint8Array), got ${describe(chunk)}`,
      );
    }
  }
  if (text.length > 0 || bytes.length > 0) yield finish();
}
