import { randomBytes } from 'node:crypto';

/**
 * A time-ordered UUID (v7), the kind waffle gives new records: the raw sides
 * and peers use the same kind, so every side inserts into its primary key in
 * the same (mostly ascending) order.
 */
export function uuidv7(): string {
  const bytes = randomBytes(16);
  const now = Date.now();
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A random integer in [0, below). */
export const randomInt = (below: number): number => Math.floor(Math.random() * below);
