import type { EntityName } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/sql';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether a client-supplied id can be a Tessera id; anything else simply matches nothing. */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && uuidPattern.test(value);
}

/**
 * DataLoader batch function over one property: one `where property in (...)` for the whole
 * batch, answered in key order with null for misses (DataLoader's contract). Keys that
 * `accept` refuses (a malformed id, say) are answered null without reaching the database.
 */
export async function loadByKeys<T extends object>(
  em: EntityManager,
  entity: EntityName<T>,
  property: keyof T & string,
  keys: readonly string[],
  accept: (key: string) => boolean = () => true,
): Promise<(T | null)[]> {
  const wanted = [...new Set(keys.filter(accept))];
  const found = wanted.length ? await em.find(entity, { [property]: { $in: wanted } } as never) : [];
  const byKey = new Map(found.map((row) => [String((row as Record<string, unknown>)[property]), row as T]));
  return keys.map((key) => byKey.get(key) ?? null);
}
