import * as zlib from 'node:zlib';
import { SerializationError, type Serializer, ValidationError, WaffleError } from '@waffle/core';

/** A compression algorithm of `node:zlib`. */
export type CompressionAlgorithm = 'gzip' | 'brotli' | 'zstd';

/** Options of {@link compressed}. */
export interface CompressedOptions {
  /** How bodies are compressed. `zstd` needs Node.js 22.15 or later. */
  readonly algorithm: CompressionAlgorithm;
  /**
   * Bodies the inner serializer makes of fewer bytes than this are stored
   * uncompressed; larger ones are compressed (and stored uncompressed anyway
   * when compression does not make them smaller). 0 compresses every body.
   */
  readonly threshold: number;
  /**
   * Compression level: gzip 0–9 (default 6), brotli 0–11 (default 6), zstd
   * 1–22 (default 3). Higher is smaller and slower; any level reads any other.
   */
  readonly level?: number;
  /** The codec tag stored with each row (default `<algorithm>+<inner codec>`, e.g. `gzip+json`). */
  readonly codec?: string;
}

/**
 * The first byte of every body, saying how the rest is stored. Part of the
 * stored format: values are never reused.
 */
export const HEADER = { stored: 0x00, gzip: 0x01, brotli: 0x02, zstd: 0x03 } as const;

/** Node's zstd functions and constants, when the running Node.js has them (22.15+, 23.8+). */
interface Zstd {
  zstdCompressSync(data: Uint8Array, options?: { params?: Record<number, number> }): Buffer;
  zstdDecompressSync(data: Uint8Array): Buffer;
}
const zstd: Zstd | undefined =
  typeof (zlib as unknown as Partial<Zstd>).zstdCompressSync === 'function'
    ? (zlib as unknown as Zstd)
    : undefined;
const ZSTD_LEVEL_PARAM = (zlib.constants as unknown as { ZSTD_c_compressionLevel?: number })
  .ZSTD_c_compressionLevel;
const ZSTD_NEEDS = 'zstd needs Node.js 22.15 or later (zlib.zstdCompressSync)';

const LEVELS: { readonly [A in CompressionAlgorithm]: { min: number; max: number; default: number } } = {
  gzip: { min: 0, max: 9, default: 6 },
  brotli: { min: 0, max: 11, default: 6 },
  zstd: { min: 1, max: 22, default: 3 },
};

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const hex = (byte: number) => `0x${byte.toString(16).padStart(2, '0')}`;

/** A plain Uint8Array view of bytes (no copy): never hand a Buffer on. */
const plain = (bytes: Uint8Array) => new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);

function isSerializer(value: unknown): value is Serializer {
  const s = value as Serializer;
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.codec === 'string' &&
    s.codec.length > 0 &&
    (s.format === 'text' || s.format === 'binary') &&
    typeof s.encode === 'function' &&
    typeof s.decode === 'function'
  );
}

/** log2 of the smallest window that holds `length` bytes, within the algorithm's bounds. */
const windowBits = (length: number, min: number, max: number) =>
  Math.min(max, Math.max(min, Math.ceil(Math.log2(length + 1))));

function compressor(algorithm: CompressionAlgorithm, level: number, text: boolean) {
  switch (algorithm) {
    case 'gzip':
      // A window no larger than the body (any gunzip reads it): a quarter faster on 1 KB bodies, same output.
      return (data: Uint8Array) => zlib.gzipSync(data, { level, windowBits: windowBits(data.length, 9, 15) });
    case 'brotli':
      return (data: Uint8Array) =>
        zlib.brotliCompressSync(data, {
          params: {
            [zlib.constants.BROTLI_PARAM_QUALITY]: level,
            [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length,
            // A window no larger than the body: brotli's default (4 MiB) makes small bodies slow to compress.
            [zlib.constants.BROTLI_PARAM_LGWIN]: windowBits(data.length, 10, 24),
            [zlib.constants.BROTLI_PARAM_MODE]: text
              ? zlib.constants.BROTLI_MODE_TEXT
              : zlib.constants.BROTLI_MODE_GENERIC,
          },
        });
    case 'zstd':
      return (data: Uint8Array) => zstd!.zstdCompressSync(data, { params: { [ZSTD_LEVEL_PARAM!]: level } });
  }
}

/** Decompresses a payload by its header byte; every algorithm is read, whichever one this wrapper writes. */
function decompress(header: number, payload: Uint8Array, codec: string): Uint8Array {
  const algorithm =
    header === HEADER.gzip
      ? 'gzip'
      : header === HEADER.brotli
        ? 'brotli'
        : header === HEADER.zstd
          ? 'zstd'
          : undefined;
  if (algorithm === undefined) {
    throw new SerializationError(`Stored body is not valid ${codec}: unknown header byte ${hex(header)}`);
  }
  if (algorithm === 'zstd' && !zstd) {
    throw new SerializationError(
      `Stored body of ${codec} is zstd-compressed: reading it ${ZSTD_NEEDS}; this is Node.js ${process.version}`,
    );
  }
  try {
    if (algorithm === 'gzip') return plain(zlib.gunzipSync(payload));
    if (algorithm === 'brotli') return plain(zlib.brotliDecompressSync(payload));
    return plain(zstd!.zstdDecompressSync(payload));
  } catch (error) {
    throw new SerializationError(
      `Stored body is not valid ${codec}: corrupt ${algorithm} data (${(error as Error).message})`,
      { cause: error },
    );
  }
}

/**
 * Compression around any serializer, with `node:zlib`: bodies of at least
 * `threshold` bytes are compressed with gzip, brotli or zstd, smaller ones are
 * stored as they are. The output is always binary: one header byte (see
 * {@link HEADER}) then the inner serializer's body, compressed or not. The
 * codec tag names both, e.g. `gzip+json`; decoding reads every body this
 * wrapper writes, whatever its threshold, level or algorithm. Its JSON form
 * (`toJSON`, `fromJSON`, used by export and import) is the inner
 * serializer's, when the inner serializer has one.
 *
 * @example
 * new Entity('blog', { shards, serializer: compressed(msgpack(), { algorithm: 'gzip', threshold: 1024 }) });
 */
export function compressed(inner: Serializer, options: CompressedOptions): Serializer {
  if (!isSerializer(inner)) {
    throw new ValidationError('compressed(): the first argument must be a serializer, e.g. json()');
  }
  const { algorithm, threshold } = options ?? ({} as CompressedOptions);
  if (!Object.hasOwn(LEVELS, algorithm)) {
    throw new ValidationError(
      `compressed(): algorithm must be 'gzip', 'brotli' or 'zstd', not ${JSON.stringify(algorithm)}`,
    );
  }
  if (algorithm === 'zstd' && (!zstd || ZSTD_LEVEL_PARAM === undefined)) {
    throw new ValidationError(`compressed(): ${ZSTD_NEEDS}; this is Node.js ${process.version}`);
  }
  if (
    !(
      typeof threshold === 'number' &&
      threshold >= 0 &&
      (Number.isInteger(threshold) || threshold === Infinity)
    )
  ) {
    throw new ValidationError(
      `compressed(): threshold must be a number of bytes (an integer ≥ 0), not ${String(threshold)}`,
    );
  }
  const range = LEVELS[algorithm];
  const level = options.level ?? range.default;
  if (!Number.isInteger(level) || level < range.min || level > range.max) {
    throw new ValidationError(
      `compressed(): ${algorithm} level must be an integer from ${range.min} to ${range.max}, not ${String(level)}`,
    );
  }
  const codec = options.codec ?? `${algorithm}+${inner.codec}`;
  const header = HEADER[algorithm];
  const compress = compressor(algorithm, level, inner.format === 'text');

  /** One header byte, then the payload, in a fresh plain Uint8Array. */
  const frame = (head: number, payload: Uint8Array) => {
    const body = new Uint8Array(payload.length + 1);
    body[0] = head;
    body.set(payload, 1);
    return body;
  };

  return {
    codec,
    format: 'binary',
    // The JSON form is the inner serializer's: compression is a matter of bodies only.
    ...(typeof inner.toJSON === 'function' ? { toJSON: (value: unknown) => inner.toJSON!(value) } : {}),
    ...(typeof inner.fromJSON === 'function' ? { fromJSON: (form: unknown) => inner.fromJSON!(form) } : {}),
    encode(value: unknown): Uint8Array {
      const body = inner.encode(value);
      const raw = typeof body === 'string' ? utf8Encoder.encode(body) : body;
      if (raw.length >= threshold) {
        let packed: Uint8Array;
        try {
          packed = compress(raw);
        } catch (error) {
          throw new SerializationError(`${algorithm} compression failed: ${(error as Error).message}`, {
            cause: error,
          });
        }
        if (packed.length < raw.length) return frame(header, packed);
      }
      return frame(HEADER.stored, raw);
    },
    decode(body: string | Uint8Array): unknown {
      if (!(body instanceof Uint8Array)) {
        throw new SerializationError(
          `Stored body is not valid ${codec}: compressed bodies are bytes, not text`,
        );
      }
      if (body.length === 0) throw new SerializationError(`Stored body is not valid ${codec}: it is empty`);
      const head = body[0]!;
      const payload = plain(body.subarray(1));
      const raw = head === HEADER.stored ? payload : decompress(head, payload, codec);
      let innerBody: string | Uint8Array = raw;
      if (inner.format === 'text') {
        try {
          innerBody = utf8Decoder.decode(raw);
        } catch (error) {
          throw new SerializationError(`Stored body is not valid ${codec}: not UTF-8 text`, { cause: error });
        }
      }
      try {
        return inner.decode(innerBody);
      } catch (error) {
        if (WaffleError.is(error)) throw error;
        throw new SerializationError(`Stored body is not valid ${codec}: ${(error as Error).message}`, {
          cause: error,
        });
      }
    },
  };
}
