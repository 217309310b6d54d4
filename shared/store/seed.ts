import { createHash } from 'node:crypto';

/**
 * A stable UUID (version 5 layout) for a seed record, from its kind and natural key, so
 * that each subgraph's seed can refer to another's records (`seedId('user', 'ada')`)
 * without importing it.
 */
export function seedId(kind: string, key: string): string {
  const hash = createHash('sha1').update(`tessera:${kind}:${key}`).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Seed timestamps, one a day back from a fixed date, so orderings are stable. */
export function seedDate(daysBefore: number): Date {
  return new Date(Date.UTC(2026, 0, 31, 12) - daysBefore * 86_400_000);
}
