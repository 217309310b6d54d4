import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { MemoryRateLimiter, decide, type RateLimiter } from './limiter.js';
import { RedisRateLimiter } from './redis-limiter.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
afterAll(() => redis.disconnect());

const limiters: [string, () => RateLimiter][] = [
  ['in memory', () => new MemoryRateLimiter()],
  ['on Redis', () => new RedisRateLimiter(redis, `rl-unit-${randomBytes(4).toString('hex')}:`)],
];

describe.each(limiters)('the sliding-window limiter %s', (_, create) => {
  it('admits up to the limit, counting down what remains, and refuses the next charge', async () => {
    const limiter = create();
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push(await limiter.consume('caller', 1, 3, 60_000));
    expect(decisions.map((d) => [d.allowed, d.remaining])).toEqual([
      [true, 2],
      [true, 1],
      [true, 0],
      [false, 0],
    ]);
    expect(decisions[3]!.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(decisions[3]!.resetSeconds).toBeLessThanOrEqual(60);
  });

  it('charges by weight, and takes nothing for a charge it refuses', async () => {
    const limiter = create();
    expect(await limiter.consume('caller', 8, 10, 60_000)).toMatchObject({ allowed: true, remaining: 2 });
    expect(await limiter.consume('caller', 5, 10, 60_000)).toMatchObject({ allowed: false });
    expect(await limiter.consume('caller', 2, 10, 60_000)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('keeps each key apart', async () => {
    const limiter = create();
    expect((await limiter.consume('ip:a', 1, 1, 60_000)).allowed).toBe(true);
    expect((await limiter.consume('ip:a', 1, 1, 60_000)).allowed).toBe(false);
    expect((await limiter.consume('ip:b', 1, 1, 60_000)).allowed).toBe(true);
  });

  it('forgets a window once two have passed', async () => {
    const limiter = create();
    expect((await limiter.consume('caller', 2, 2, 200)).allowed).toBe(true);
    expect((await limiter.consume('caller', 1, 2, 200)).allowed).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 420));
    expect((await limiter.consume('caller', 2, 2, 200)).allowed).toBe(true);
  });
});

describe("the sliding window's arithmetic", () => {
  it('weighs the previous window by how much of it still overlaps, and says when its weight has fallen enough', () => {
    // A quarter into the window: 3/4 of the previous window's 8 still count, 6 + 2 = 8 of 10.
    const decision = decide(8, 2, 1, 10, 60_000, 15_000);
    expect(decision).toMatchObject({ allowed: true, estimated: 8, remaining: 1, resetSeconds: 45 });
    // Refused at 8 + 3 > 10; admitted once the previous weight is 5/8, at 22.5 s: 7.5 s from now.
    expect(decide(8, 2, 3, 10, 60_000, 15_000)).toMatchObject({ allowed: false, retryAfterSeconds: 8 });
  });

  it('asks to wait for the next window when the current one alone is full', () => {
    expect(decide(0, 10, 1, 10, 60_000, 15_000)).toMatchObject({ allowed: false, remaining: 0, retryAfterSeconds: 45 });
  });
});
