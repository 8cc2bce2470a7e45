const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
let lastMs = -1;
let seq = 0;

/**
 * Random bytes drawn from Web Crypto (in Node, browsers and edge runtimes
 * alike) 4 KiB at a time: one call per 409 ids instead of one per id, which
 * is most of an id's cost when many records are made at once.
 */
const POOL = new Uint8Array(4096);
let used = POOL.length;

/** The next 10 random bytes of the pool, refilled when spent. */
function random10(): number {
  if (used + 10 > POOL.length) {
    crypto.getRandomValues(POOL);
    used = 0;
  }
  const at = used;
  used += 10;
  return at;
}

/**
 * A new time-ordered UUID (version 7, RFC 9562): 48 bits of milliseconds, then
 * a 12-bit counter that keeps ids from one process increasing within a
 * millisecond, then random bits. Ids sort by creation time as strings.
 */
export function uuidv7(now = Date.now()): string {
  const bytes = new Uint8Array(16);
  bytes.set(POOL.subarray(random10(), used), 6);
  if (now > lastMs) {
    lastMs = now;
    seq = ((bytes[6]! & 0x07) << 8) | bytes[7]!; // start low in the 12-bit space to leave room to count
  } else {
    now = lastMs;
    seq++;
    if (seq > 0xfff) {
      lastMs = now = lastMs + 1;
      seq = 0;
    }
  }
  bytes[0] = Math.floor(now / 2 ** 40) & 0xff;
  bytes[1] = Math.floor(now / 2 ** 32) & 0xff;
  bytes[2] = (now >>> 24) & 0xff;
  bytes[3] = (now >>> 16) & 0xff;
  bytes[4] = (now >>> 8) & 0xff;
  bytes[5] = now & 0xff;
  bytes[6] = 0x70 | ((seq >>> 8) & 0x0f);
  bytes[7] = seq & 0xff;
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  let s = '';
  for (let i = 0; i < 16; i++) {
    s += HEX[bytes[i]!];
    if (i === 3 || i === 5 || i === 7 || i === 9) s += '-';
  }
  return s;
}
