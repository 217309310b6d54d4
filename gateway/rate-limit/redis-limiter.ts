import type { RedisClient } from '../../shared/redis/redis.js';
import { decide, type RateLimitDecision, type RateLimiter } from './limiter.js';

/** `{key}` is a hash tag: both windows of one key share a Cluster slot, so the script is atomic there too. */
function rateLimitKeys(prefix: string, key: string, window: number) {
  return { current: `${prefix}rl:{${key}}:${window}`, previous: `${prefix}rl:{${key}}:${window - 1}` };
}

// KEYS: current, previous. ARGV: charge, limit, windowMs, now. Returns the two counts before the charge, and whether it was taken.
const CONSUME = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
local charge, limit, window, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local estimated = previous * (1 - (now % window) / window) + current
if estimated + charge <= limit then
  redis.call('INCRBY', KEYS[1], charge)
  redis.call('PEXPIRE', KEYS[1], window * 2)
  return { previous, current, 1 }
end
return { previous, current, 0 }`;

/** The limiter in Redis, one atomic script per check, shared by every gateway replica. */
export class RedisRateLimiter implements RateLimiter {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  async consume(key: string, charge: number, limit: number, windowMs: number): Promise<RateLimitDecision> {
    const now = Date.now();
    const keys = rateLimitKeys(this.prefix, key, Math.floor(now / windowMs));
    const [previous, current] = (await this.redis.eval(CONSUME, 2, keys.current, keys.previous, charge, limit, windowMs, now)) as [
      number,
      number,
      number,
    ];
    return decide(previous, current, charge, limit, windowMs, now);
  }
}
