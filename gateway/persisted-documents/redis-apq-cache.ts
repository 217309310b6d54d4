import type { KeyValueCache, KeyValueCacheSetOptions } from '@apollo/utils.keyvaluecache';
import type { RedisClient } from '../../shared/redis/redis.js';

/**
 * Apollo Server's persisted-query cache in Redis, so every gateway replica knows every
 * registered hash. Redis away: lookups miss (the client is asked for the full query, as the
 * APQ protocol allows) and registrations are dropped; nothing fails.
 */
export class RedisApqCache implements KeyValueCache<string> {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  async get(key: string): Promise<string | undefined> {
    return (await this.redis.get(this.prefix + key).catch(() => null)) ?? undefined;
  }

  async set(key: string, value: string, options?: KeyValueCacheSetOptions): Promise<void> {
    const ttl = options?.ttl;
    await (ttl ? this.redis.set(this.prefix + key, value, 'EX', ttl) : this.redis.set(this.prefix + key, value)).catch(() => undefined);
  }

  async delete(key: string): Promise<boolean | void> {
    await this.redis.del(this.prefix + key).catch(() => undefined);
  }
}
