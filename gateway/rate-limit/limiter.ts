export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the current window ends. */
  resetSeconds: number;
  /** Seconds to wait before the same charge would be allowed (when refused). */
  retryAfterSeconds: number;
}

/**
 * A sliding window counter: the previous window's count, weighted by how much of it still
 * overlaps the sliding window, plus the current window's. Smooth like a sliding log, two
 * numbers per key, and a charge can be more than one (query cost).
 */
export interface RateLimiter {
  consume(key: string, charge: number, limit: number, windowMs: number): Promise<RateLimitDecision>;
}

/** The arithmetic both stores share, on the two window counts. */
export function decide(
  previous: number,
  current: number,
  charge: number,
  limit: number,
  windowMs: number,
  now: number,
): RateLimitDecision & { estimated: number } {
  const intoWindow = now % windowMs;
  const estimated = previous * (1 - intoWindow / windowMs) + current;
  const allowed = estimated + charge <= limit;
  let waitMs = windowMs - intoWindow;
  if (!allowed && previous > 0 && current + charge <= limit) {
    // The weight of the previous window falls as time passes: wait until it has fallen enough.
    const neededFraction = 1 - (limit - current - charge) / previous;
    waitMs = Math.max(0, neededFraction * windowMs - intoWindow);
  }
  return {
    allowed,
    estimated,
    limit,
    remaining: Math.max(0, Math.floor(limit - estimated - (allowed ? charge : 0))),
    resetSeconds: Math.ceil((windowMs - intoWindow) / 1000),
    retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
  };
}

/** One gateway process's limiter, for when no Redis is configured. */
export class MemoryRateLimiter implements RateLimiter {
  private readonly counts = new Map<string, number>();

  async consume(key: string, charge: number, limit: number, windowMs: number): Promise<RateLimitDecision> {
    const now = Date.now();
    const window = Math.floor(now / windowMs);
    const current = this.counts.get(`${key}:${window}`) ?? 0;
    const decision = decide(this.counts.get(`${key}:${window - 1}`) ?? 0, current, charge, limit, windowMs, now);
    if (decision.allowed) this.counts.set(`${key}:${window}`, current + charge);
    if (this.counts.size > 100_000) this.forgetBefore(window - 1);
    return decision;
  }

  private forgetBefore(window: number): void {
    for (const key of this.counts.keys()) if (Number(key.slice(key.lastIndexOf(':') + 1)) < window) this.counts.delete(key);
  }
}
