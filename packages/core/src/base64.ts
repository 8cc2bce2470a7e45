/**
 * Base64 and UTF-8 without Node's `Buffer`, so that core runs wherever
 * JavaScript does (browsers, edge runtimes, libSQL's remote client).
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const VALUES = new Map<string, number>();
for (let i = 0; i < 64; i++) {
  VALUES.set(ALPHABET[i]!, i);
  VALUES.set(URL_ALPHABET[i]!, i);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** The UTF-8 bytes of `text`. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** The text of UTF-8 `bytes`; throws on bytes that are not UTF-8. */
export function fromUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** `bytes` in base64 (`url`: the URL-safe alphabet, without padding). */
export function toBase64(bytes: Uint8Array, url = false): string {
  const alphabet = url ? URL_ALPHABET : ALPHABET;
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + alphabet[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest > 0) {
    const n = (bytes[i]! << 16) | (rest === 2 ? bytes[i + 1]! << 8 : 0);
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]!;
    out += rest === 2 ? alphabet[(n >> 6) & 63]! : '';
    if (!url) out += rest === 2 ? '=' : '==';
  }
  return out;
}

/** The bytes of base64 text in either alphabet, padded or not; `undefined` when it is not base64. */
export function fromBase64(text: string): Uint8Array | undefined {
  const bare = text.endsWith('==') ? text.slice(0, -2) : text.endsWith('=') ? text.slice(0, -1) : text;
  if (bare.length % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor((bare.length * 3) / 4));
  let bits = 0;
  let buffer = 0;
  let at = 0;
  for (const char of bare) {
    const value = VALUES.get(char);
    if (value === undefined) return undefined;
    buffer = (buffer << 6) | value;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (buffer >> bits) & 0xff;
    }
  }
  return out;
}
