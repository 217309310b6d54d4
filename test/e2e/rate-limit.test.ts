import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { postGraphQL } from '../support/subgraph.js';
import { DisposableRedis, freePort } from '../support/redis.js';
import { startTestSupergraph, type GatewayOverrides, type TestSupergraph } from '../support/supergraph.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const QUERY = `{ categories { slug } }`;

describe('rate limits at the gateway, on Redis', () => {
  let supergraph: TestSupergraph;
  beforeAll(async () => {
    supergraph = await startTestSupergraph({ responseCache: false });
  });
  afterAll(async () => {
    await supergraph?.stop();
  });

  /** A gateway limiting to `limit` per `windowS`, on Redis under a prefix of its own. */
  const limited = (rateLimit: NonNullable<GatewayOverrides['protection']>['rateLimit'], extra: GatewayOverrides['protection'] = {}, redisUrl = REDIS_URL) =>
    supergraph.startGateway({
      responseCache: false,
      redis: { url: redisUrl, prefix: `rl-test-${randomBytes(4).toString('hex')}:` },
      protection: { ...extra, rateLimit: { enabled: true, ...rateLimit } },
    });

  it('refuses a burst over the limit with 429 and its headers, and recovers as the window slides', async () => {
    const { url } = await limited({ limit: 5, windowMs: 2_000 });
    const answers = [];
    for (let i = 0; i < 7; i++) answers.push(await postGraphQL(url, QUERY));
    answers.slice(0, 5).forEach((answer, i) => {
      expect(answer.status).toBe(200);
      expect(answer.headers.get('ratelimit-limit')).toBe('5');
      expect(answer.headers.get('ratelimit-remaining')).toBe(String(4 - i));
      expect(Number(answer.headers.get('ratelimit-reset'))).toBeLessThanOrEqual(2);
    });
    for (const refused of answers.slice(5)) {
      expect(refused.status).toBe(429);
      expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED' });
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(refused.headers.get('ratelimit-remaining')).toBe('0');
      expect(refused.data).toBeUndefined();
    }
    // Two full windows later the old requests no longer count.
    await new Promise((resolve) => setTimeout(resolve, 4_100));
    const recovered = await postGraphQL(url, QUERY);
    expect(recovered.status).toBe(200);
  });

  it('gives each signed-in user a budget of their own', async () => {
    const { url } = await limited({ limit: 3, windowMs: 60_000 });
    const [alan, edsger] = [await supergraph.loginAs('alan'), await supergraph.loginAs('edsger')];
    for (let i = 0; i < 3; i++) expect((await postGraphQL(url, QUERY, {}, alan)).status).toBe(200);
    expect((await postGraphQL(url, QUERY, {}, alan)).status).toBe(429);
    expect((await postGraphQL(url, QUERY, {}, edsger)).status).toBe(200);
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

  it('limits an operation on its own (login attempts)', async () => {
    const { url } = await limited({ limit: 100, windowMs: 60_000, operationLimits: { Login: 2 } });
    const login = `mutation Login { login(email: "ada@example.com", password: "wrong password") { accessToken } }`;
    for (let i = 0; i < 2; i++) expect((await postGraphQL(url, login)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await postGraphQL(url, login)).errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect((await postGraphQL(url, QUERY)).status).toBe(200);
  });

  it('limits a root field however the operation is named or the field aliased (Mutation.login)', async () => {
    const { url } = await limited({ limit: 100, windowMs: 60_000, operationLimits: { 'Mutation.login': 5 } });
    const args = `(email: "ada@example.com", password: "wrong password") { accessToken }`;
    const attempts = Array.from({ length: 8 }, (_, i) => (i % 2 ? `mutation x${i + 1} { login${args} }` : `mutation x${i + 1} { attempt: login${args} }`));
    const codes = [];
    for (const attempt of attempts) codes.push((await postGraphQL(url, attempt)).errors?.[0]?.extensions?.code);
    expect(codes).toEqual([...Array(5).fill('UNAUTHENTICATED'), ...Array(3).fill('RATE_LIMITED')]);
    expect((await postGraphQL(url, QUERY)).status).toBe(200);

    // Each run counts: six aliased logins in one request are over a limit of five.
    const fresh = (await limited({ limit: 100, windowMs: 60_000, operationLimits: { 'Mutation.login': 5 } })).url;
    const six = await postGraphQL(fresh, `mutation { ${Array.from({ length: 6 }, (_, i) => `a${i}: login${args}`).join(' ')} }`);
    expect(six.status).toBe(429);
    expect(six.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
  });

  describe('charges nothing for a request refused before it', () => {
    /** Floods a fresh gateway (limit 3) with refused requests, then reads the budget a good request is left with. */
    const budgetAfter = async (refusals: [query: string, code: string, variables?: Record<string, unknown>, operationName?: string][]) => {
      const { url } = await limited({ limit: 3, windowMs: 60_000, chargeBy: 'cost' }, { maxDepth: 3, maxCost: 50 });
      supergraph.resetRequests();
      for (let round = 0; round < 5; round++) {
        for (const [query, code, variables, operationName] of refusals) {
          const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables, operationName }) });
          expect(response.status).toBe(400);
          expect(((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe(code);
        }
      }
      expect(supergraph.subgraphRequests()).toBe(0);
      const good = await postGraphQL(url, `{ __typename }`);
      expect(good.status).toBe(200);
      return good.headers.get('ratelimit-remaining');
    };

    it('by shape or by cost', async () => {
      const remaining = await budgetAfter([
        [`{ products(first: 1) { edges { node { name } } } }`, 'MAX_DEPTH_EXCEEDED'],
        [`{ topProducts(first: 60) { name } }`, 'COST_LIMIT_EXCEEDED'],
      ]);
      expect(remaining).toBe('2');
    });

    it('by page size, variables or an unknown operation', async () => {
      const remaining = await budgetAfter([
        [`{ topProducts(first: 101) { name } }`, 'BAD_USER_INPUT'],
        [`query($n: Int!) { topProducts(first: $n) { name } }`, 'BAD_USER_INPUT', { n: 'many' }],
        [QUERY, 'OPERATION_RESOLUTION_FAILURE', undefined, 'Nope'],
      ]);
      expect(remaining).toBe('2');
    });
  });

  it('charges by estimated cost when configured', async () => {
    const { url } = await limited({ limit: 25, windowMs: 60_000, chargeBy: 'cost' });
    const costsTen = `{ topProducts(first: 5) { category { name } } }`; // 5 × (product + category)
    expect((await postGraphQL(url, costsTen)).headers.get('ratelimit-remaining')).toBe('15');
    expect((await postGraphQL(url, costsTen)).headers.get('ratelimit-remaining')).toBe('5');
    const refused = await postGraphQL(url, costsTen);
    expect(refused.status).toBe(429);
    // What costs nothing is charged the minimum of 1, which still fits.
    const cheap = await postGraphQL(url, `{ __typename }`);
    expect(cheap.status).toBe(200);
    expect(cheap.headers.get('ratelimit-remaining')).toBe('4');
  });

  it('gives a role its own, larger limit', async () => {
    const { url } = await limited({ limit: 2, windowMs: 60_000, roleLimits: { staff: 5 } });
    const [grace, alan] = [await supergraph.loginAs('grace'), await supergraph.loginAs('alan')];
    for (let i = 0; i < 5; i++) expect((await postGraphQL(url, QUERY, {}, grace)).status).toBe(200);
    expect((await postGraphQL(url, QUERY, {}, grace)).status).toBe(429);
    for (let i = 0; i < 2; i++) expect((await postGraphQL(url, QUERY, {}, alan)).status).toBe(200);
    expect((await postGraphQL(url, QUERY, {}, alan)).headers.get('ratelimit-limit')).toBe('2');
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
