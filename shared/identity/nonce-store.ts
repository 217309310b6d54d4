import type { RedisClient } from '../redis/redis.js';
import { throttledWarn, type Logger } from '../observability/logger.js';

/**
 * Where a subgraph remembers the nonces of the signed requests it served (shared/identity/signed-requests.ts),
 * so that a captured request replayed within its signature's window is refused.
 */
export interface NonceStore {
  /** True the first time `nonce` is claimed within `ttlMs`; false when it was claimed before (a replay). */
  claim(nonce: string, ttlMs: number): Promise<boolean>;
}

/**
 * One process's memory of nonces. Bounded by the traffic of one window: each claim first drops
 * the entries that have expired. A Map keeps insertion order, and every claim of a process
 * uses the same ttl, so the oldest entries are the first to expire and pruning stops at the
 * first live one.
 */
export class MemoryNonceStore implements NonceStore {
  private readonly expiries = new Map<string, number>();

  constructor(private readonly clock: () => number = Date.now) {}

  /** Nonces held now (for tests and for reasoning about memory). */
  get size(): number {
    return this.expiries.size;
  }

  async claim(nonce: string, ttlMs: number): Promise<boolean> {
    const now = this.clock();
    for (const [held, expiresAt] of this.expiries) {
      if (expiresAt > now) break;
      this.expiries.delete(held);
    }
    if (this.expiries.has(nonce)) return false;
    this.expiries.set(nonce, now + ttlMs);
    return true;
  }
}

export const nonceKey = (prefix: string, nonce: string) => `${prefix}nonce:${nonce}`;

/**
 * Nonces shared by every replica (and every subgraph) on one Redis: `SET NX PX` claims a nonce
 * atomically, so a request replayed to another replica is refused too. Each process also keeps
 * its own memory of what it served, checked first: a replay to the same process is refused even
 * while Redis is away. When Redis cannot be reached the claim stands on that memory alone (with
 * a warning) rather than refusing every request: protection narrows to one process for the
 * outage instead of the subgraph going down with Redis.
 */
export class RedisNonceStore implements NonceStore {
  private readonly warn: ReturnType<typeof throttledWarn>;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    logger: Logger,
    private readonly local: NonceStore = new MemoryNonceStore(),
  ) {
    this.warn = throttledWarn(logger);
  }

  async claim(nonce: string, ttlMs: number): Promise<boolean> {
    if (!(await this.local.claim(nonce, ttlMs))) return false;
    try {
      return (await this.redis.set(nonceKey(this.prefix, nonce), '1', 'PX', ttlMs, 'NX')) === 'OK';
    } catch (error) {
      this.warn(
        { err: (error as Error).message },
        'redis unavailable; replayed signatures are refused by this process alone until it is back',
      );
      return true;
    }
  }
}
