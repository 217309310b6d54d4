import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { postGraphQL } from '../support/subgraph.js';
import { expectBurstRefusedOverLimit } from '../support/rate-limit.js';
import { DisposableRedis, freePort } from '../support/redis.js';
import { type GatewayOverrides, supergraphForSuite } from '../support/supergraph.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const QUERY = `{ categories { slug } }`;

describe('rate limits at the gateway, on Redis', () => {
  const supergraph = supergraphForSuite({ responseCache: false });

  /** A gateway limiting to `limit` per `windowS`, on Redis under a prefix of its own. */
  const limited = (
    rateLimit: NonNullable<GatewayOverrides['protection']>['rateLimit'],
    extra: GatewayOverrides['protection'] = {},
    redisUrl = REDIS_URL,
  ) =>
    supergraph.startGateway({
      responseCache: false,
      redis: { url: redisUrl, prefix: `rl-test-${randomBytes(4).toString('hex')}:` },
      protection: { ...extra, rateLimit: { enabled: true, ...rateLimit } },
    });

  it('refuses a burst over the limit with 429 and its headers, and recovers as the window slides', async () => {
    const { url } = await limited({ limit: 5, windowMs: 2_000 });
    const answers = [];
    for (let i = 0; i < 7; i++) answers.push(await postGraphQL(url, QUERY));
    expectBurstRefusedOverLimit(answers, { limit: 5, windowSeconds: 2 });
    // Two full windows later the old requests no longer count.
    await new Promise((resolve) => setTimeout(resolve, 4_100));
    const recovered = await postGraphQL(url, QUERY);
    expect(recovered.status).toBe(200);
  });

  it('tells anonymous callers apart by X-Forwarded-For only from a trusted proxy', async () => {
    const behindProxy = (await limited({ limit: 2, windowMs: 60_000 }, { trustedProxies: ['loopback'] })).url;
    for (let i = 0; i < 2; i++) expect((await postGraphQL(behindProxy, QUERY, {}, { 'x-forwarded-for': '203.0.113.7' })).status).toBe(200);
    expect((await postGraphQL(behindProxy, QUERY, {}, { 'x-forwarded-for': '203.0.113.7' })).status).toBe(429);
    expect((await postGraphQL(behindProxy, QUERY, {}, { 'x-forwarded-for': '198.51.100.9' })).status).toBe(200);

    // No trusted proxy: a spoofed header changes nothing, every request counts against the real address.
    const direct = (await limited({ limit: 2, windowMs: 60_000 })).url;
    for (let i = 0; i < 2; i++) expect((await postGraphQL(direct, QUERY, {}, { 'x-forwarded-for': `192.0.2.${i}` })).status).toBe(200);
    expect((await postGraphQL(direct, QUERY, {}, { 'x-forwarded-for': '192.0.2.99' })).status).toBe(429);
  });

  describe('when Redis is gone', () => {
    const redis = new DisposableRedis(0);
    let openUrl: string;
    let closedUrl: string;
    beforeAll(async () => {
      const port = await freePort();
      redis.port = port;
      await redis.start();
      openUrl = (await limited({ limit: 2, windowMs: 60_000 }, {}, `redis://127.0.0.1:${port}`)).url;
      closedUrl = (await limited({ limit: 2, windowMs: 60_000, failClosed: true }, {}, `redis://127.0.0.1:${port}`)).url;
      expect((await postGraphQL(openUrl, QUERY)).headers.get('ratelimit-limit')).toBe('2');
      await redis.kill();
    });
    afterAll(async () => {
      await redis.kill();
    });

    it('fails open by default: requests are served', async () => {
      for (let i = 0; i < 5; i++) {
        const answer = await postGraphQL(openUrl, QUERY);
        expect(answer.status).toBe(200);
        expect(answer.errors).toBeUndefined();
      }
    });

    it('fails closed when configured: 429 RATE_LIMITED', async () => {
      const answer = await postGraphQL(closedUrl, QUERY);
      expect(answer.status).toBe(429);
      expect(answer.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', reason: 'limiter_unavailable' });
      expect(answer.headers.get('retry-after')).toBe('1');
    });
  });
});
