const utf8 = new TextEncoder();

/**
 * MurmurHash3, x86 32-bit variant (Austin Appleby's public-domain reference),
 * over the UTF-8 bytes of a string or over raw bytes. Its output is fixed by
 * that reference, so bucket assignment never changes between processes,
 * platforms or releases.
 */
export function murmur3(input: string | Uint8Array, seed = 0): number {
  if (typeof input === 'string' && isAscii(input)) return murmur3Ascii(input, seed);
  const data = typeof input === 'string' ? utf8.encode(input) : input;
  let h = seed >>> 0;
  const blocks = data.length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    h = mixBlock(h, data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
  }
  const tail = data.length & 3;
  if (tail > 0) {
    let k = 0;
    if (tail === 3) k ^= data[blocks + 2]! << 16;
    if (tail >= 2) k ^= data[blocks + 1]! << 8;
    k ^= data[blocks]!;
    h ^= scramble(k);
  }
  return finish(h, data.length);
}

/** True when every UTF-16 unit of `text` is ASCII: its UTF-8 bytes are its char codes. */
function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * {@link murmur3} of an ASCII string, read from its char codes (its UTF-8
 * bytes) without encoding it first: a record id is hashed on every write.
 */
function murmur3Ascii(text: string, seed: number): number {
  let h = seed >>> 0;
  const length = text.length;
  const blocks = length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    h = mixBlock(
      h,
      text.charCodeAt(i) |
        (text.charCodeAt(i + 1) << 8) |
        (text.charCodeAt(i + 2) << 16) |
        (text.charCodeAt(i + 3) << 24),
    );
  }
  const tail = length & 3;
  if (tail > 0) {
    let k = 0;
    if (tail === 3) k ^= text.charCodeAt(blocks + 2) << 16;
    if (tail >= 2) k ^= text.charCodeAt(blocks + 1) << 8;
    k ^= text.charCodeAt(blocks);
    h ^= scramble(k);
  }
  return finish(h, length);
}

/** A 4-byte block (or the tail) scrambled before it is mixed into the hash. */
function scramble(k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, 0x1b873593);
}

/** The hash after mixing in one 4-byte block. */
function mixBlock(h: number, k: number): number {
  h ^= scramble(k);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** The final avalanche, over the input's length in bytes. */
function finish(h: number, length: number): number {
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
