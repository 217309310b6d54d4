import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { MemoryResponseCacheStore } from './memory-store.js';
import { RedisResponseCacheStore, responseCacheKeys } from './redis-store.js';
import type { CachedResponse } from './store.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const entry = (maxAge: number, storedAt = Date.now()): CachedResponse => ({
  body: Buffer.from('{"data":{"ok":true}}\n'),
  entityTag: 'W/"15-x"',
  storedAt,
  maxAge,
  scope: 'PUBLIC',
  charge: { operationName: null, cost: 1, rootFields: [['Query.ok', 1]] },
});

describe('the in-memory response cache store', () => {
  it('keeps its tag index bounded by the live entries through 100,000 distinct stores', async () => {
    const store = new MemoryResponseCacheStore(5_000);
    const started = Date.now();
    for (let i = 0; i < 100_000; i++) {
      // Tags every entry shares (a type, a list field) and tags of its own (an entity).
      await store.store(`key-${i}`, entry(60), ['Product', 'Product#name', `Product:${i}`], '0');
    }
    expect(Date.now() - started).toBeLessThan(20_000);
    const { entries, taggedKeys } = store.size();
    expect(entries).toBe(5_000);
    expect(taggedKeys).toBe(3 * 5_000);
  });

  it('drops expired and purged entries from the tag index', async () => {
    const store = new MemoryResponseCacheStore(100);
    const longAgo = Date.now() - 120_000;
    for (let i = 0; i < 50; i++) await store.store(`old-${i}`, entry(60, longAgo), ['Product', `Product:${i}`], '0');
    // The next store finds the expired ones oldest-first and lets them go.
    await store.store('fresh', entry(60), ['Product'], '0');
    expect(store.size()).toEqual({ entries: 1, taggedKeys: 1 });

    await store.store('other', entry(60), ['Product', 'Review'], '0');
    await store.purge(['Review']);
    expect(store.size()).toEqual({ entries: 1, taggedKeys: 1 });
    expect((await store.lookup(['fresh', 'other'])).entries.map(Boolean)).toEqual([true, false]);
  });
});

describe('the Redis response cache store', () => {
  let redis: Redis;
  const prefix = `tessera-test-${randomBytes(4).toString('hex')}:`;
  const keys = responseCacheKeys(prefix);
  /** Members of a tag, whichever Redis type holds it. */
  const cardinality = async (tag: string) =>
    (await redis.type(keys.tag(tag))) === 'set' ? redis.scard(keys.tag(tag)) : redis.zcard(keys.tag(tag));

  beforeAll(() => {
    redis = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    const left = await redis.keys(`${prefix}*`);
    if (left.length) await redis.del(...left);
    redis.disconnect();
  });

  it('keeps a shared tag bounded while short-lived entries under it expire and it is renewed', async () => {
    const store = new RedisResponseCacheStore(redis, prefix);
    // A long-lived entry keeps the tag alive (its expiry is the longest member's) while the short ones come and go.
    await store.store('long-0', entry(60), ['Product'], '0');
    for (let i = 0; i < 200; i++) expect(await store.store(`short-${i}`, entry(1), ['Product'], '0')).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    for (let i = 1; i < 5; i++) await store.store(`long-${i}`, entry(60), ['Product'], '0');
    expect(await cardinality('Product')).toBe(5);
    expect(await redis.ttl(keys.tag('Product'))).toBeGreaterThan(50);

    await store.purge(['Product']);
    expect(await redis.exists(keys.tag('Product'), ...Array.from({ length: 5 }, (_, i) => keys.response(`long-${i}`)))).toBe(0);
  });

  it('gives back an entry as stored: its body byte for byte (newlines and all), its policy and charge', async () => {
    const store = new RedisResponseCacheStore(redis, prefix);
    const stored: CachedResponse = {
      ...entry(60),
      body: Buffer.from('{"data":{"text":"line\\nnext é \u2028"},"extensions":{"cost":{"estimated":3,"limit":5000}}}\n'),
      scope: 'PRIVATE',
      charge: { operationName: 'Named\nOne', cost: 3, rootFields: [['Query.me', 2]] },
    };
    expect(await store.store('roundtrip', stored, ['Product'], (await store.lookup([])).epoch)).toBe(true);
    const [found, missing] = (await store.lookup(['roundtrip', 'absent'])).entries;
    expect(missing).toBeNull();
    expect({ ...found, body: found!.body.toString() }).toEqual({ ...stored, body: stored.body.toString() });
  });

  it('reads no entry the previous version wrote (the data as JSON, under `r:`)', async () => {
    const store = new RedisResponseCacheStore(redis, prefix);
    await redis.set(
      `${prefix}{response-cache}:r:old`,
      JSON.stringify({ data: { ok: true }, storedAt: Date.now(), maxAge: 60, scope: 'PUBLIC' }),
    );
    expect((await store.lookup(['old'])).entries).toEqual([null]);
  });

  it('still purges what a tag written as a plain set by the previous version holds', async () => {
    const store = new RedisResponseCacheStore(redis, prefix);
    await redis.set(keys.response('legacy'), JSON.stringify(entry(60)), 'EX', 60);
    await redis.sadd(keys.tag('Legacy'), keys.response('legacy'));
    await redis.sadd(keys.tag('Renewed'), keys.response('legacy'));
    // A store under the old set turns it into a sorted set and keeps its live member.
    expect(await store.store('new', entry(60), ['Renewed'], (await store.lookup([])).epoch)).toBe(true);
    expect(await cardinality('Renewed')).toBe(2);

    await store.purge(['Legacy']);
    expect(await redis.exists(keys.response('legacy'))).toBe(0);
    await store.purge(['Renewed']);
    expect(await redis.exists(keys.response('new'), keys.tag('Renewed'))).toBe(0);
  });
});
