import { afterEach, describe, expect, it } from '@jest/globals';
import { useRateLimit, type RateLimitOptions } from './plugin.js';
import { MemoryRateLimiter, type RateLimiter } from './limiter.js';
import { useCostLimit } from '../protection/cost-limit.js';
import { operationLimitsRule } from '../protection/operation-limits.js';
import { testIdentity } from '../../test/support/config.js';
import { testLogger } from '../../test/support/subgraph.js';
import { expectBurstRefusedOverLimit } from '../../test/support/rate-limit.js';
import { fixtureShop, startInProcessGateway, type InProcessGateway } from '../../test/support/in-process-gateway.js';

type Limits = Partial<Omit<RateLimitOptions, 'analysisOf' | 'logger'>>;
const QUERY = `{ categories { slug } }`;
const LOGIN = `(email: "ada@example.com", password: "wrong password")`;

const started: InProcessGateway[] = [];
afterEach(async () => {
  for (const gateway of started.splice(0)) await gateway.stop();
});

/**
 * A gateway whose shape, cost and rate limits run as the real one orders them; what the rate
 * limit refuses is recorded by the limit that refused it.
 */
async function limitedGateway(limits: Limits, { maxDepth = 12, maxCost = 5000 } = {}) {
  const refusals: string[] = [];
  const costLimit = useCostLimit({ maxCost, defaultListSize: 10, maxPageSize: 100 });
  const rateLimit = useRateLimit({
    limit: 600,
    windowMs: 60_000,
    burst: 0,
    roleLimits: {},
    operationLimits: {},
    chargeBy: 'request',
    failClosed: false,
    limiter: new MemoryRateLimiter(),
    ...limits,
    analysisOf: costLimit.analysisOf,
    logger: testLogger,
    onRefusal: (limit) => void refusals.push(limit),
  });
  const gateway = await startInProcessGateway({
    subgraphs: fixtureShop,
    validationRules: [operationLimitsRule({ maxDepth, maxAliases: 30, maxRootFields: 15, maxDirectivesPerField: 4 })],
    plugins: [costLimit, rateLimit],
  });
  started.push(gateway);
  return Object.assign(gateway, { refusals });
}

describe('the rate limit', () => {
  it('sends the budget on every response, and refuses what is over it with 429, Retry-After and RATE_LIMITED', async () => {
    const gateway = await limitedGateway({ limit: 3 });
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await gateway.execute(QUERY));
    expectBurstRefusedOverLimit(answers, { limit: 3, windowSeconds: 60 });
    for (const refused of answers.slice(3)) expect(refused.errors?.[0]?.extensions).toMatchObject({ retryAfter: expect.any(Number) });
    expect(gateway.refusals).toEqual(['caller', 'caller']);
  });

  it('gives each signed-in user a budget of their own, apart from their address', async () => {
    const gateway = await limitedGateway({ limit: 2 });
    const [alan, edsger] = [testIdentity('alan'), testIdentity('edsger')];
    for (let i = 0; i < 2; i++) expect((await gateway.execute(QUERY, { user: alan })).status).toBe(200);
    expect((await gateway.execute(QUERY, { user: alan })).status).toBe(429);
    expect((await gateway.execute(QUERY, { user: edsger })).status).toBe(200);
    expect((await gateway.execute(QUERY)).status).toBe(200);
  });

  it('tells anonymous callers apart by their address', async () => {
    const gateway = await limitedGateway({ limit: 1 });
    expect((await gateway.execute(QUERY, { clientIp: '203.0.113.7' })).status).toBe(200);
    expect((await gateway.execute(QUERY, { clientIp: '203.0.113.7' })).status).toBe(429);
    expect((await gateway.execute(QUERY, { clientIp: '198.51.100.9' })).status).toBe(200);
  });

  it('gives a role its own, larger limit, plus the burst', async () => {
    const gateway = await limitedGateway({ limit: 2, roleLimits: { staff: 4 }, burst: 1 });
    const [grace, alan] = [testIdentity('grace', 'staff'), testIdentity('alan')];
    for (let i = 0; i < 5; i++) expect((await gateway.execute(QUERY, { user: grace })).status).toBe(200);
    expect((await gateway.execute(QUERY, { user: grace })).status).toBe(429);
    for (let i = 0; i < 3; i++) expect((await gateway.execute(QUERY, { user: alan })).headers.get('ratelimit-limit')).toBe('3');
    expect((await gateway.execute(QUERY, { user: alan })).status).toBe(429);
  });

  it('limits an operation by its name on its own (login attempts)', async () => {
    const gateway = await limitedGateway({ limit: 100, operationLimits: { Login: 2 } });
    const login = `mutation Login { login${LOGIN} }`;
    for (let i = 0; i < 2; i++) expect((await gateway.execute(login)).errors).toBeUndefined();
    expect((await gateway.execute(login)).errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(gateway.refusals).toEqual(['operation']);
    expect((await gateway.execute(QUERY)).status).toBe(200);
  });

  it('limits a root field however the operation is named or the field aliased, each run counting (Mutation.login)', async () => {
    const gateway = await limitedGateway({ limit: 100, operationLimits: { 'Mutation.login': 5 } });
    const attempts = Array.from({ length: 8 }, (_, i) => `mutation x${i} { ${i % 2 ? '' : 'attempt: '}login${LOGIN} }`);
    const codes = [];
    for (const attempt of attempts) codes.push((await gateway.execute(attempt)).errors?.[0]?.extensions?.code);
    expect(codes).toEqual([...Array(5).fill(undefined), ...Array(3).fill('RATE_LIMITED')]);
    expect((await gateway.execute(QUERY)).status).toBe(200);

    const fresh = await limitedGateway({ limit: 100, operationLimits: { 'Mutation.login': 5 } });
    const six = await fresh.execute(`mutation { ${Array.from({ length: 6 }, (_, i) => `a${i}: login${LOGIN}`).join(' ')} }`);
    expect({ status: six.status, code: six.errors?.[0]?.extensions?.code }).toEqual({ status: 429, code: 'RATE_LIMITED' });
  });

  it('has no limit for an operation named like an Object property', async () => {
    const gateway = await limitedGateway({ limit: 100, operationLimits: { Login: 1 } });
    for (let i = 0; i < 3; i++) expect((await gateway.execute(`query constructor ${QUERY}`)).status).toBe(200);
  });

  it('charges by estimated cost when configured, and at least 1', async () => {
    const gateway = await limitedGateway({ limit: 25, chargeBy: 'cost' });
    const costsTen = `{ topProducts(first: 5) { category { name } } }`; // 5 × (product + category)
    expect((await gateway.execute(costsTen)).headers.get('ratelimit-remaining')).toBe('15');
    expect((await gateway.execute(costsTen)).headers.get('ratelimit-remaining')).toBe('5');
    expect((await gateway.execute(costsTen)).status).toBe(429);
    const cheap = await gateway.execute(`{ __typename }`);
    expect(cheap.status).toBe(200);
    expect(cheap.headers.get('ratelimit-remaining')).toBe('4');
  });

  it('charges nothing for a request refused before it: by shape, cost, page size, variables or an unknown operation', async () => {
    const gateway = await limitedGateway({ limit: 3, chargeBy: 'cost' }, { maxDepth: 3, maxCost: 50 });
    const refusals: [query: string, code: string, variables?: Record<string, unknown>, operationName?: string][] = [
      [`{ products(first: 1) { edges { node { name } } } }`, 'MAX_DEPTH_EXCEEDED'],
      [`{ topProducts(first: 60) { name } }`, 'COST_LIMIT_EXCEEDED'],
      [`{ topProducts(first: 101) { name } }`, 'BAD_USER_INPUT'],
      [`query($n: Int!) { topProducts(first: $n) { name } }`, 'BAD_USER_INPUT', { n: 'many' }],
      [QUERY, 'OPERATION_RESOLUTION_FAILURE', undefined, 'Nope'],
    ];
    for (let round = 0; round < 5; round++) {
      for (const [query, code, variables, operationName] of refusals) {
        const response = await gateway.execute(query, { variables, operationName });
        expect({ status: response.status, code: response.errors?.[0]?.extensions?.code }).toEqual({ status: 400, code });
      }
    }
    const good = await gateway.execute(`{ __typename }`);
    expect(good.status).toBe(200);
    expect(good.headers.get('ratelimit-remaining')).toBe('2');
  });

  describe('when the limiter cannot answer', () => {
    const broken: RateLimiter = { consume: () => Promise.reject(new Error('connection is closed')) };

    it('fails open by default: requests are served', async () => {
      const gateway = await limitedGateway({ limit: 1, limiter: broken });
      for (let i = 0; i < 3; i++) {
        const answer = await gateway.execute(QUERY);
        expect(answer.status).toBe(200);
        expect(answer.errors).toBeUndefined();
      }
      expect(gateway.refusals).toEqual([]);
    });

    it('fails closed when configured: 429 RATE_LIMITED, reason limiter_unavailable, Retry-After 1', async () => {
      const gateway = await limitedGateway({ limit: 1, limiter: broken, failClosed: true });
      const answer = await gateway.execute(QUERY);
      expect(answer.status).toBe(429);
      expect(answer.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', reason: 'limiter_unavailable' });
      expect(answer.headers.get('retry-after')).toBe('1');
      expect(gateway.refusals).toEqual(['unavailable']);
    });
  });
});
