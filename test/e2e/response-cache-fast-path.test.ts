import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { repoRoot } from '../../shared/config/paths.js';
import { weakEntityTag } from '../../shared/http/apollo-middleware.js';
import { seedId } from '../../shared/store/seed.js';
import { scrape } from '../support/metrics.js';
import { expectBurstRefusedOverLimit } from '../support/rate-limit.js';
import { postRaw, rawAnswer } from '../support/subgraph.js';
import { startTestSupergraph, type GatewayOverrides, type TestSupergraph } from '../support/supergraph.js';

/*
 * Hits answered before Apollo Server (gateway/response-cache/fast-path.ts): each gateway here
 * has a spy on Apollo Server's HTTP entry, so a test sees which requests reached it.
 */

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const MANIFEST = join(repoRoot, 'sdk/generated/persisted-documents.json');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const CATEGORIES = '{ categories { slug name } }';
const ME = '{ me { username email } }';

interface Spied {
  url: string;
  metricsUrl: string | undefined;
  /** Requests that reached Apollo Server since the last call. */
  reachedApollo(): number;
}

describe('response cache hits answered before Apollo Server', () => {
  let supergraph: TestSupergraph;
  let redis: Redis;
  const prefix = `tessera-test-${randomBytes(4).toString('hex')}:`;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    supergraph = await startTestSupergraph({ responseCache: false });
  });
  afterAll(async () => {
    await supergraph?.stop();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  async function spiedGateway(overrides: GatewayOverrides = {}): Promise<Spied> {
    const { gateway, url, metricsUrl } = await supergraph.startGateway({ responseCache: true, ...overrides });
    const spy = jest.spyOn(gateway.apollo, 'executeHTTPGraphQLRequest');
    return {
      url,
      metricsUrl,
      reachedApollo() {
        const calls = spy.mock.calls.length;
        spy.mockClear();
        return calls;
      },
    };
  }

  const post = (url: string, body: object, headers: Record<string, string> = {}) => postRaw(url, body, headers);
  /** Headers that say what an answer is (those of the connection and of the request's identity aside). */
  const describing = (headers: Headers) =>
    Object.fromEntries([...headers].filter(([name]) => !['date', 'x-request-id', 'age', 'connection', 'keep-alive'].includes(name)));

  describe('on Redis', () => {
    let gateway: Spied;
    beforeAll(async () => {
      gateway = await spiedGateway({ redis: { url: REDIS_URL, prefix } });
    });

    it('answers the second identical query with the bytes and headers of the first, without Apollo Server', async () => {
      const miss = await post(gateway.url, { query: CATEGORIES });
      expect(miss.status).toBe(200);
      expect(miss.headers.get('x-cache')).toBe('MISS');
      expect(gateway.reachedApollo()).toBe(1);

      const hit = await post(gateway.url, { query: CATEGORIES });
      expect(gateway.reachedApollo()).toBe(0);
      expect(hit.status).toBe(200);
      expect(hit.text).toBe(miss.text);
      expect(hit.body.extensions).toEqual({ cost: expect.objectContaining({ estimated: expect.any(Number) }) });
      expect(hit.headers.get('x-cache')).toBe('HIT');
      expect(Number(hit.headers.get('age'))).toBeGreaterThanOrEqual(0);
      expect(hit.headers.get('cache-control')).toMatch(/^max-age=\d+, public$/);
      expect(hit.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(hit.headers.get('vary')?.toLowerCase()).toContain('authorization');
      // What the plugin's own hit answers (a persisted query's registration is left to Apollo Server), header for header.
      const throughApollo = await post(gateway.url, {
        query: CATEGORIES,
        extensions: { persistedQuery: { version: 1, sha256Hash: sha256(CATEGORIES) } },
      });
      expect(gateway.reachedApollo()).toBe(1);
      expect(throughApollo.headers.get('x-cache')).toBe('HIT');
      expect(throughApollo.text).toBe(hit.text);
      expect(describing(hit.headers)).toEqual({ ...describing(throughApollo.headers), 'cache-control': hit.headers.get('cache-control') });
      // A POST answer carries no ETag (it cannot be revalidated), hit or miss; a GET answer carries the
      // weak ETag of its bytes, the hit the one computed when it was stored, and a client holding it is
      // told it is fresh. (Not through fetch, which adds `cache-control: no-cache`.)
      expect(miss.headers.get('etag')).toBeNull();
      expect(hit.headers.get('etag')).toBeNull();
      const getUrl = `${gateway.url}?${new URLSearchParams({ query: CATEGORIES })}`;
      const getHit = await request(getUrl, { headers: { 'apollo-require-preflight': 'true' } });
      expect(await getHit.body.text()).toBe(miss.text);
      expect(gateway.reachedApollo()).toBe(0);
      expect(getHit.headers.etag).toBe(weakEntityTag(miss.text));
      const unchanged = await request(getUrl, {
        headers: { 'apollo-require-preflight': 'true', 'if-none-match': String(getHit.headers.etag) },
      });
      await unchanged.body.dump();
      expect(unchanged.statusCode).toBe(304);
      expect(gateway.reachedApollo()).toBe(0);
    });

    it('answers by an automatic persisted query hash alone only once Apollo Server knows the hash', async () => {
      const query = '{ categories { slug } }';
      const byHash = { extensions: { persistedQuery: { version: 1, sha256Hash: sha256(query) } } };
      // Cached under the same key (the document's hash) before the hash is registered.
      await post(gateway.url, { query });
      expect((await post(gateway.url, { query })).headers.get('x-cache')).toBe('HIT');
      gateway.reachedApollo();
      const unknown = await post(gateway.url, byHash);
      expect(unknown.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
      expect(gateway.reachedApollo()).toBe(1);

      await post(gateway.url, { query, ...byHash });
      gateway.reachedApollo();
      const hit = await post(gateway.url, byHash);
      expect(hit.headers.get('x-cache')).toBe('HIT');
      expect(hit.body.data?.categories).toHaveLength(4);
      expect(gateway.reachedApollo()).toBe(0);
    });

    it('serves a private answer from the fast path to its owner only; another user and an anonymous caller are not served it', async () => {
      const [ada, alan] = [await supergraph.loginAs('ada'), await supergraph.loginAs('alan')];
      const askAs = (headers: Record<string, string>) => post(gateway.url, { query: ME }, headers);
      expect((await askAs(ada)).headers.get('x-cache')).toBe('MISS');
      gateway.reachedApollo();
      const again = await askAs(ada);
      expect(again.headers.get('x-cache')).toBe('HIT');
      expect(again.headers.get('cache-control')).toMatch(/^max-age=\d+, private$/);
      expect(again.body.data).toEqual({ me: { username: 'ada', email: 'ada@example.com' } });
      expect(gateway.reachedApollo()).toBe(0);

      const other = await askAs(alan);
      expect(other.headers.get('x-cache')).toBe('MISS');
      expect(other.body.data).toEqual({ me: { username: 'alan', email: 'alan@example.com' } });
      const anonymous = await askAs({});
      expect(anonymous.headers.get('x-cache')).toBe('MISS');
      expect(anonymous.body.data).toEqual({ me: null });
      expect(gateway.reachedApollo()).toBe(2);

      // A token that does not verify goes on to Apollo Server, which refuses it.
      const forged = await askAs({ authorization: `${ada.authorization}x` });
      expect(forged.status).toBe(401);
      expect(forged.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(gateway.reachedApollo()).toBe(1);
    });

    it("serves a GET only under Apollo Server's CSRF prevention, with the media type it negotiates", async () => {
      const query = '{ categories { name } }';
      const get = (headers: Record<string, string>) =>
        fetch(`${gateway.url}?${new URLSearchParams({ query })}`, { headers }).then(rawAnswer);
      const miss = await get({ 'apollo-require-preflight': 'true' });
      expect(miss.headers.get('x-cache')).toBe('MISS');
      gateway.reachedApollo();
      const hit = await get({ 'apollo-require-preflight': 'true' });
      expect(hit.headers.get('x-cache')).toBe('HIT');
      expect(hit.text).toBe(miss.text);
      expect(gateway.reachedApollo()).toBe(0);

      const unprotected = await get({});
      expect(unprotected.status).toBe(400);
      expect(unprotected.text).toContain('Cross-Site Request Forgery');
      const textPlain = await get({ 'content-type': 'text/plain', 'apollo-require-preflight': 'true' });
      expect(textPlain.status).toBe(415);
      expect(gateway.reachedApollo()).toBe(2);

      const graphqlResponse = await get({
        'x-apollo-operation-name': 'x',
        accept: 'application/graphql-response+json, application/json;q=0.9',
      });
      expect(graphqlResponse.headers.get('x-cache')).toBe('HIT');
      expect(graphqlResponse.headers.get('content-type')).toBe('application/graphql-response+json; charset=utf-8');
      const unacceptable = await get({ 'apollo-require-preflight': 'true', accept: 'text/csv' });
      expect(unacceptable.status).toBe(406);
      expect(gateway.reachedApollo()).toBe(1);
    });

    it('serves no hit once a mutation purged what it read', async () => {
      const staff = await supergraph.loginAs('grace');
      const query = '{ products(first: 100) { totalCount } }';
      await post(gateway.url, { query });
      expect((await post(gateway.url, { query })).headers.get('x-cache')).toBe('HIT');
      const created = await post(
        gateway.url,
        {
          query: `mutation($c: ID!) { createProduct(input: { upc: "777000000042", name: "Fast Path Scale", price: { amount: 900, currency: "USD" }, weight: 100, categoryId: $c }) { id } }`,
          variables: { c: seedId('category', 'kitchen') },
        },
        staff,
      );
      expect(created.body.errors).toBeUndefined();
      gateway.reachedApollo();
      const after = await post(gateway.url, { query });
      expect(after.headers.get('x-cache')).toBe('MISS');
      expect(gateway.reachedApollo()).toBe(1);
    });

    it('counts a hit as a request and as a cache hit in the metrics', async () => {
      const before = await scrape(gateway.metricsUrl!);
      await post(gateway.url, { query: CATEGORIES, operationName: null });
      const after = await scrape(gateway.metricsUrl!);
      const delta = (name: string, labels: Record<string, string>) => (after.value(name, labels) ?? 0) - (before.value(name, labels) ?? 0);
      expect(delta('tessera_gateway_response_cache_requests_total', { result: 'hit' })).toBe(1);
      expect(delta('tessera_gateway_operations_total', { operation: 'anonymous', type: 'query', outcome: 'success' })).toBe(1);
      expect(delta('tessera_gateway_request_duration_seconds_count', { operation: 'anonymous', type: 'query' })).toBe(1);
      expect(gateway.reachedApollo()).toBe(0);
    });
  });

  it('charges a hit to the rate limit: over the limit, hits are refused as misses are', async () => {
    const gateway = await spiedGateway({ protection: { rateLimit: { enabled: true, limit: 4, windowMs: 60_000 } } });
    const query = '{ categories { id slug } }';
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await post(gateway.url, { query }));
    expect(answers.slice(0, 4).map((a) => a.headers.get('x-cache'))).toEqual(['MISS', 'HIT', 'HIT', 'HIT']);
    expectBurstRefusedOverLimit(
      answers.map((answer) => ({ ...answer, ...answer.body })),
      { limit: 4, windowSeconds: 60 },
    );
    // The miss and the two refusals (handed to Apollo Server, which words them) reached it; the hits did not.
    expect(gateway.reachedApollo()).toBe(3);
    const scraped = await scrape(gateway.metricsUrl!);
    expect(scraped.value('tessera_gateway_rate_limited_total', { limit: 'caller' })).toBe(2);
  });

  it('lets a hit through trusted documents only as any request: an untrusted document is refused though cached', async () => {
    const shared = { redis: { url: REDIS_URL, prefix: `${prefix}trusted:` } };
    const open = await spiedGateway(shared);
    const enforcing = await spiedGateway({ ...shared, trustedDocuments: { mode: 'enforce', manifests: [MANIFEST] } });
    await post(open.url, { query: CATEGORIES });
    expect((await post(open.url, { query: CATEGORIES })).headers.get('x-cache')).toBe('HIT');

    const refused = await post(enforcing.url, { query: CATEGORIES });
    expect(refused.status).toBe(400);
    expect(refused.body.errors?.map((e) => e.extensions?.code)).toEqual(['PERSISTED_QUERY_REQUIRED']);
    expect(enforcing.reachedApollo()).toBe(0);

    // A trusted document by its hash is a hit there too (the guard puts its text in place of the hash).
    const manifest = JSON.parse(await readFile(MANIFEST, 'utf8')) as Record<string, string>;
    const [key] = Object.entries(manifest).find(([, document]) => document.startsWith('query TopProducts'))!;
    const byHash = { variables: { first: 2 }, extensions: { persistedQuery: { version: 1, sha256Hash: key.replace('sha256:', '') } } };
    expect((await post(enforcing.url, byHash)).headers.get('x-cache')).toBe('MISS');
    enforcing.reachedApollo();
    const hit = await post(enforcing.url, byHash);
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(hit.body.data?.topProducts).toHaveLength(2);
    expect(enforcing.reachedApollo()).toBe(0);
  });
});
