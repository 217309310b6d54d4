import type { RedisClient } from '../../shared/redis.js';
import type { CachedResponse, Lookup, ResponseCacheStore } from './store.js';

/**
 * Every key of the response cache shares the hash tag `{response-cache}`: on Redis Cluster
 * they live in one slot, so the store and purge scripts stay atomic. (The price: the response
 * cache lives on one shard.)
 */
export function responseCacheKeys(prefix: string) {
  const base = `${prefix}{response-cache}:`;
  return {
    epoch: `${base}epoch`,
    response: (key: string) => `${base}r:${key}`,
    tag: (tag: string) => `${base}t:${tag}`,
  };
}

// KEYS: epoch, response, tags…  ARGV: expected epoch, value, ttl seconds
const STORE = `
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then return 0 end
local ttl = tonumber(ARGV[3])
redis.call('SET', KEYS[2], ARGV[2], 'EX', ttl)
for i = 3, #KEYS do
  redis.call('SADD', KEYS[i], KEYS[2])
  if redis.call('TTL', KEYS[i]) < ttl then redis.call('EXPIRE', KEYS[i], ttl) end
end
return 1`;

// KEYS: epoch, tags…
const PURGE = `
redis.call('INCR', KEYS[1])
local removed = 0
for i = 2, #KEYS do
  for _, key in ipairs(redis.call('SMEMBERS', KEYS[i])) do removed = removed + redis.call('DEL', key) end
  redis.call('DEL', KEYS[i])
end
return removed`;

/**
 * The response cache in Redis, shared by every gateway replica. A purge that fails (Redis
 * away) is remembered and retried as soon as Redis is back; until then the store reports
 * itself unavailable, so nothing it may still hold is served.
 */
export class RedisResponseCacheStore implements ResponseCacheStore {
  private readonly keys: ReturnType<typeof responseCacheKeys>;
  private readonly owedPurges = new Set<string>();
  private settling: Promise<void> | undefined;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.keys = responseCacheKeys(prefix);
    redis.on('ready', () => void this.settleOwedPurges().catch(() => undefined));
  }

  async lookup(keys: string[]): Promise<Lookup> {
    const [epoch, ...values] = await this.redis.mget(this.keys.epoch, ...keys.map(this.keys.response));
    return { epoch: epoch ?? '0', entries: values.map((value) => (value ? (JSON.parse(value) as CachedResponse) : null)) };
  }

  async store(key: string, entry: CachedResponse, tags: string[], epoch: string): Promise<boolean> {
    const keys = [this.keys.epoch, this.keys.response(key), ...tags.map(this.keys.tag)];
    const stored = await this.redis.eval(STORE, keys.length, ...keys, epoch, JSON.stringify(entry), String(entry.maxAge));
    return stored === 1;
  }

  async purge(tags: string[]): Promise<void> {
    for (const tag of tags) this.owedPurges.add(tag);
    await this.settleOwedPurges();
  }

  available(): boolean {
    if (this.redis.status !== 'ready') return false;
    // A purge can be owed with the connection up (Redis stalled rather than gone): retry it now.
    if (this.owedPurges.size) void this.settleOwedPurges().catch(() => undefined);
    return this.owedPurges.size === 0;
  }

  /** One settlement at a time; tags owed meanwhile wait for the next. */
  private settleOwedPurges(): Promise<void> {
    // `.finally` runs after the assignment, so a settlement that ends at once still clears it.
    this.settling ??= this.purgeOwed().finally(() => {
      this.settling = undefined;
    });
    return this.settling;
  }

  private async purgeOwed(): Promise<void> {
    const tags = [...this.owedPurges];
    if (!tags.length) return;
    const keys = [this.keys.epoch, ...tags.map(this.keys.tag)];
    await this.redis.eval(PURGE, keys.length, ...keys);
    for (const tag of tags) this.owedPurges.delete(tag);
  }
}
