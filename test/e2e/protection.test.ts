import { monitorEventLoopDelay } from 'node:perf_hooks';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { postGraphQL, postRaw } from '../support/subgraph.js';
import { supergraphForSuite } from '../support/supergraph.js';
import { fanOut } from '../support/hostile-documents.js';

/**
 * Small limits, so "just under" and "just over" are easy to write. The shape limits (depth,
 * aliases, root fields, directives) are validation rules, tried in process
 * (gateway/protection/operation-limits.test.ts); these are the HTTP edge's.
 */
const LIMITS = {
  maxTokens: 120,
  maxDocumentBytes: 1_500,
  maxBatch: 1,
  bodyLimitBytes: 4_000,
};

// One set of subgraphs for the whole file; each part starts the gateways it needs over them.
const supergraph = supergraphForSuite({ responseCache: false });

describe('query limits at the gateway', () => {
  let url: string;
  beforeAll(async () => {
    ({ url } = await supergraph.startGateway({ responseCache: false, protection: LIMITS }));
  });

  async function send(body: unknown, headers: Record<string, string> = {}) {
    supergraph.resetRequests();
    const { status, body: parsed } = await postRaw(url, body, headers);
    return { status, body: parsed, fetches: supergraph.subgraphRequests() };
  }

  const passes = async (query: string) => {
    const { status, body } = await send({ query });
    expect(body.errors).toBeUndefined();
    expect(status).toBe(200);
  };
  const refused = async (query: string | unknown, code: string, status = 400) => {
    const response = await send(typeof query === 'string' ? { query } : query);
    expect(response.status).toBe(status);
    expect(response.body.errors?.[0]?.extensions?.code).toBe(code);
    expect(response.body.data).toBeUndefined();
    expect(response.fetches).toBe(0);
    return response.body.errors![0]!;
  };

  it('tokens, counted before parsing', async () => {
    const withTokens = (n: number) => `{ categories { ${Array.from({ length: n - 5 }, () => 'slug').join(' ')} } }`; // 5 tokens of frame
    await passes(withTokens(120));
    const error = await refused(withTokens(121), 'MAX_TOKENS_EXCEEDED');
    expect(error.extensions).toMatchObject({ limit: 120 });
  });

  it('document size', async () => {
    const padded = (bytes: number) => {
      const frame = '{ categories { slug } }';
      return `#${'x'.repeat(bytes - frame.length - 2)}\n${frame}`;
    };
    await passes(padded(1_500));
    await refused(padded(1_501), 'DOCUMENT_TOO_LARGE');
  });

  it('document size and tokens of a GET, before anything else', async () => {
    const get = async (query: string) => {
      supergraph.resetRequests();
      // The preflight header passes CSRF prevention, so only the document limits can refuse.
      const response = await fetch(`${url}?query=${encodeURIComponent(query)}`, { headers: { 'apollo-require-preflight': 'true' } });
      return {
        status: response.status,
        body: (await response.json()) as { data?: unknown; errors?: { extensions?: Record<string, unknown> }[] },
      };
    };
    const small = await get('{ categories { slug } }');
    expect(small).toMatchObject({ status: 200, body: { data: { categories: expect.any(Array) } } });
    const large = await get(`#${'x'.repeat(1_500)}\n{ categories { slug } }`);
    expect(large.status).toBe(400);
    expect(large.body.errors?.[0]?.extensions?.code).toBe('DOCUMENT_TOO_LARGE');
    const many = await get(`{ categories { ${Array.from({ length: 200 }, () => 'slug').join(' ')} } }`);
    expect(many.body.errors?.[0]?.extensions?.code).toBe('MAX_TOKENS_EXCEEDED');
    expect(supergraph.subgraphRequests()).toBe(0);
  });

  it('batches, when batching is off', async () => {
    await refused([{ query: '{ categories { slug } }' }, { query: '{ categories { slug } }' }], 'BATCHING_DISABLED');
  });

  it('body size: 413', async () => {
    const response = await send({ query: '{ categories { slug } }', variables: { pad: 'x'.repeat(5_000) } });
    expect(response.status).toBe(413);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
    expect(response.fetches).toBe(0);
  });

  describe('batches, when batching is capped', () => {
    let batchUrl: string;
    beforeAll(async () => {
      ({ url: batchUrl } = await supergraph.startGateway({ responseCache: false, protection: { maxBatch: 2 } }));
    });
    it('allow up to the cap and refuse one more', async () => {
      const post = async (n: number) => {
        supergraph.resetRequests();
        const response = await fetch(batchUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(Array.from({ length: n }, () => ({ query: '{ categories { slug } }' }))),
        });
        return { status: response.status, body: (await response.json()) as any, fetches: supergraph.subgraphRequests() };
      };
      const two = await post(2);
      expect(two.status).toBe(200);
      expect(two.body).toHaveLength(2);
      const three = await post(3);
      expect(three.status).toBe(400);
      expect(three.body.errors[0].extensions).toMatchObject({ code: 'BATCH_LIMIT_EXCEEDED', actual: 3, limit: 2 });
      expect(three.fetches).toBe(0);
    });
  });

  describe('cost (default limits)', () => {
    const nested = (n: number) =>
      `{ products(first: ${n}) { edges { node { name reviews(first: ${n}) { edges { node { author { reviews(first: ${n}) { edges { node { body } } } } } } } } } } }`;

    it('refuses a nested list bomb with the estimate shown, and lets a modest version through', async () => {
      supergraph.resetRequests();
      const bomb = await supergraph.query(nested(100));
      expect(bomb.status).toBe(400);
      expect(supergraph.subgraphRequests()).toBe(0);
      const error = bomb.errors![0]!;
      expect(error.extensions?.code).toBe('COST_LIMIT_EXCEEDED');
      expect(error.extensions).toMatchObject({ maxCost: 5000, estimatedCost: expect.any(Number) });
      expect(error.extensions!.estimatedCost as number).toBeGreaterThan(1_000_000);
      expect(error.message).toMatch(/estimated cost is \d+; the limit is 5000/);
      const modest = await fetch(supergraph.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: nested(5) }),
      });
      const body = (await modest.json()) as { errors?: unknown; extensions?: { cost?: { estimated: number } } };
      expect(body.errors).toBeUndefined();
      expect(modest.status).toBe(200);
      expect(body.extensions?.cost?.estimated).toBeLessThan(5000);
    });
  });
});

describe('document analysis at the edge (default limits)', () => {
  const timed = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
    const started = performance.now();
    const result = await work();
    return [result, performance.now() - started];
  };

  it('refuses fragment fan-out in milliseconds, without stalling other requests', async () => {
    const bomb = fanOut(23, 'Query', '__typename', 'query { ...F0 }');
    expect(Buffer.byteLength(bomb)).toBeLessThan(1_000);
    await supergraph.query('{ __typename }'); // warm
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      supergraph.resetRequests();
      const [response, ms] = await timed(() => supergraph.query(bomb));
      expect(response.status).toBe(400);
      expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'MAX_ROOT_FIELDS_EXCEEDED', actual: 2 ** 22, limit: 15 });
      expect(supergraph.subgraphRequests()).toBe(0);
      times.push(ms);
    }
    expect(Math.min(...times)).toBeLessThan(100);
    expect(Math.max(...times)).toBeLessThan(1_000);

    // A batch of them (the gateway runs in this process) while the event loop is watched.
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const [answers] = await timed(() => Promise.all(Array.from({ length: 8 }, () => supergraph.query(bomb))));
    const [normal, normalMs] = await timed(() => supergraph.query('{ categories { slug } }'));
    lag.disable();
    expect(answers.every((answer) => answer.status === 400)).toBe(true);
    expect(normal.status).toBe(200);
    expect(normalMs).toBeLessThan(2_000);
    // Before memoizing, one such document blocked the loop for seconds.
    expect(lag.max / 1e6).toBeLessThan(500);
  });

  it('serves fan-out that stays within the limits once merged, as the stock gateway does, just as fast', async () => {
    const [response, ms] = await timed(() => supergraph.query(fanOut(23, 'Category', 'slug', '{ categories { ...F0 } }')));
    expect(response.errors).toBeUndefined();
    expect(response.data?.categories?.[0]).toEqual({ slug: expect.any(String) });
    expect(ms).toBeLessThan(2_000);
  });

  it('refuses aliases multiplied by fragments', async () => {
    const response = await supergraph.query(fanOut(23, 'Query', 'a: __typename', 'query { ...F0 }'));
    expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'MAX_ALIASES_EXCEEDED', actual: 2 ** 22 });
  });
});

describe('production hardening', () => {
  let origin: string;
  beforeAll(async () => {
    ({ origin } = await supergraph.startGateway({ env: 'production', protection: { corsOrigins: ['https://shop.example'] } }));
  });

  const post = (query: string, headers: Record<string, string> = {}) =>
    fetch(`${origin}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query }),
    });

  it('gives no "Did you mean" suggestions', async () => {
    const body = (await (await post(`{ topProducts(first: 1) { nme } }`)).json()) as any;
    expect(body.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(body.errors[0].message).not.toMatch(/Did you mean/);
  });

  it('refuses by shape, cost and page size with stable codes and no stack traces', async () => {
    const cases: [string, string][] = [
      [fanOut(23, 'Query', '__typename', 'query { ...F0 }'), 'MAX_ROOT_FIELDS_EXCEEDED'],
      [
        `query($n: Int! = 100) { products(first: $n) { edges { node { reviews(first: $n) { edges { node { author { reviews(first: $n) { totalCount } } } } } } } } }`,
        'COST_LIMIT_EXCEEDED',
      ],
      [`{ products(first: 101) { totalCount } }`, 'BAD_USER_INPUT'],
    ];
    for (const [query, code] of cases) {
      const response = await post(query);
      const body = (await response.json()) as any;
      expect(response.status).toBe(400);
      expect(body.errors[0].extensions.code).toBe(code);
      expect(JSON.stringify(body)).not.toMatch(/stacktrace| {4}at /);
    }
  });

  it('sends security headers on every response', async () => {
    for (const response of [await post(`{ categories { slug } }`), await fetch(`${origin}/health`)]) {
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('strict-transport-security')).toMatch(/max-age/);
      expect(response.headers.get('content-security-policy')).toMatch(/default-src/);
      expect(response.headers.get('x-powered-by')).toBeNull();
    }
  });

  it('allows CORS for the configured origins only', async () => {
    const allowed = await post(`{ categories { slug } }`, { origin: 'https://shop.example' });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    const other = await post(`{ categories { slug } }`, { origin: 'https://evil.example' });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses a simple cross-site request (CSRF prevention)', async () => {
    const response = await fetch(`${origin}/graphql?query=${encodeURIComponent('{ categories { slug } }')}`, { method: 'GET' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as any).errors[0].message).toMatch(/Cross-Site Request Forgery/);
  });

  it('gives up on a request past its deadline with GATEWAY_TIMEOUT, however patient the subgraph timeout', async () => {
    const { url } = await supergraph.startGateway({ responseCache: false, protection: { requestTimeoutMs: 1, subgraphTimeoutMs: 60_000 } });
    const { data, errors } = await postGraphQL(url, `{ topProducts(first: 3) { name quantity } }`);
    expect(data).toBeNull();
    expect(errors?.[0]?.extensions).toMatchObject({ code: 'GATEWAY_TIMEOUT' });
  });

  it('answers a subgraph that does not answer in time with GATEWAY_TIMEOUT at its fields', async () => {
    const { url } = await supergraph.startGateway({ responseCache: false, protection: { subgraphTimeoutMs: 1 } });
    const { data, errors } = await postGraphQL(url, `{ categories { slug } }`);
    expect(data).toBeNull();
    expect(errors?.[0]?.extensions).toMatchObject({ code: 'GATEWAY_TIMEOUT' });
  });
});
