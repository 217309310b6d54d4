import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { seedId } from '../shared/seed.js';
import { startTestSupergraph, type TestSupergraph } from './support/supergraph.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const product = seedId('product', '200000000003'); // Pour-Over Coffee Kettle: 0 in stock, 1 review (grace)
const grace = seedId('user', 'grace');

const TOP = `{ topProducts(first: 20) { id name quantity averageRating } }`;
const ONE = `query($id: ID!) { product(id: $id) { name quantity reviews(first: 10) { totalCount } averageRating } }`;
const REVIEWS_OF_GRACE = `query($id: ID!) { user(id: $id) { username reviews(first: 10) { totalCount edges { node { body } } } } }`;

describe('the response cache, on Redis', () => {
  let supergraph: TestSupergraph;
  let redis: Redis;
  const prefix = `tessera-test-${randomBytes(4).toString('hex')}:`;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    supergraph = await startTestSupergraph({ redis: { url: REDIS_URL, prefix } });
  });
  afterAll(async () => {
    await supergraph?.stop();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  /** A query as a client sends it, with how many subgraph requests it caused. */
  async function ask(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>) {
    supergraph.resetRequests();
    const response = await supergraph.query(query, variables, headers);
    return { ...response, cache: response.headers.get('x-cache'), fetches: supergraph.subgraphRequests() };
  }

  it('serves the second identical query from the cache, without a subgraph request', async () => {
    const first = await ask(ONE, { id: product });
    expect(first.errors).toBeUndefined();
    expect(first.cache).toBe('MISS');
    expect(first.fetches).toBeGreaterThan(1);
    // Catalog and reviews say 60 s, inventory (stock) 5 s: the smallest wins.
    expect(first.headers.get('cache-control')).toBe('max-age=5, public');

    const second = await ask(ONE, { id: product });
    expect(second.cache).toBe('HIT');
    expect(second.fetches).toBe(0);
    expect(second.data).toEqual(first.data);
    expect(Number(second.headers.get('age'))).toBeGreaterThanOrEqual(0);
    expect(second.headers.get('cache-control')).toMatch(/^max-age=[0-5], public$/);
    expect(await redis.keys(`${prefix}{response-cache}:r:*`)).not.toHaveLength(0);
  });

  it("never serves one user's private response to another or to an anonymous caller, even concurrently", async () => {
    const tokens = Object.fromEntries(await Promise.all(['ada', 'alan', 'barbara'].map(async (u) => [u, await supergraph.loginAs(u)] as const)));
    const me = `{ me { username email } }`;
    const warm = await ask(me, {}, tokens.ada);
    expect(warm.headers.get('cache-control')).toBe('max-age=60, private');
    expect((await ask(me, {}, tokens.ada)).cache).toBe('HIT');

    const callers = Array.from({ length: 30 }, (_, i) => ['ada', 'alan', 'barbara', 'anonymous'][i % 4]!);
    const answers = await Promise.all(callers.map((caller) => supergraph.query(me, {}, caller === 'anonymous' ? {} : tokens[caller])));
    answers.forEach((answer, i) => {
      const caller = callers[i]!;
      expect(answer.data).toEqual({ me: caller === 'anonymous' ? null : { username: caller, email: `${caller}@example.com` } });
    });
  });

  describe('is never stale after a write', () => {
    it('updateProduct: the top list and the product show the new name', async () => {
      const staff = await supergraph.loginAs('grace');
      await ask(TOP);
      await ask(ONE, { id: product });
      expect((await ask(TOP)).cache).toBe('HIT');
      const { errors } = await supergraph.query(`mutation($id: ID!) { updateProduct(id: $id, input: { name: "Gooseneck Kettle" }) { id } }`, { id: product }, staff);
      expect(errors).toBeUndefined();
      const top = await ask(TOP);
      expect(top.cache).toBe('MISS');
      expect(top.data?.topProducts.find((p: { id: string }) => p.id === product).name).toBe('Gooseneck Kettle');
      expect((await ask(ONE, { id: product })).data?.product.name).toBe('Gooseneck Kettle');
    });

    it('adjustStock: the quantity is new everywhere it is shown', async () => {
      const staff = await supergraph.loginAs('grace');
      await ask(TOP);
      await ask(ONE, { id: product });
      await supergraph.query(`mutation($id: ID!) { adjustStock(productId: $id, delta: 7) { quantity } }`, { id: product }, staff);
      expect((await ask(ONE, { id: product })).data?.product.quantity).toBe(7);
      expect((await ask(TOP)).data?.topProducts.find((p: { id: string }) => p.id === product).quantity).toBe(7);
    });

    it("addReview and deleteReview: the product's and the author's reviews follow", async () => {
      await ask(ONE, { id: product });
      await ask(REVIEWS_OF_GRACE, { id: grace });
      const graceToken = await supergraph.loginAs('grace');
      const added = await supergraph.query(
        `mutation($p: ID!) { addReview(input: { productId: $p, body: "Still pouring well.", rating: 3 }) { id } }`,
        { p: product },
        graceToken,
      );
      expect(added.errors).toBeUndefined();
      const afterAdd = await ask(ONE, { id: product });
      expect(afterAdd.cache).toBe('MISS');
      expect(afterAdd.data?.product).toMatchObject({ reviews: { totalCount: 2 }, averageRating: 4 });
      const graceReviews = await ask(REVIEWS_OF_GRACE, { id: grace });
      expect(graceReviews.data?.user.reviews.edges[0].node.body).toBe('Still pouring well.');

      await ask(ONE, { id: product });
      expect((await ask(ONE, { id: product })).cache).toBe('HIT');
      await supergraph.query(`mutation($id: ID!) { deleteReview(id: $id) }`, { id: added.data?.addReview.id }, graceToken);
      expect((await ask(ONE, { id: product })).data?.product).toMatchObject({ reviews: { totalCount: 1 }, averageRating: 5 });
      expect((await ask(REVIEWS_OF_GRACE, { id: grace })).data?.user.reviews.edges[0].node.body).not.toBe('Still pouring well.');
    });

    it('createProduct: lists that may now include it are purged', async () => {
      const listing = `{ products(first: 100) { totalCount } }`;
      const before = (await ask(listing)).data?.products.totalCount;
      expect((await ask(listing)).cache).toBe('HIT');
      await supergraph.query(
        `mutation { createProduct(input: { upc: "777000000001", name: "Scale", price: { amount: 2500, currency: "USD" }, weight: 400, categoryId: "${seedId('category', 'kitchen')}" }) { id } }`,
        {},
        await supergraph.loginAs('grace'),
      );
      expect((await ask(listing)).data?.products.totalCount).toBe(before + 1);
    });
  });

  it('caches neither errors nor mutations', async () => {
    // An error from a subgraph (a page over the maximum is refused by the gateway, before any fetch).
    const failing = `{ product(id: "0d1c9a8e-9a59-4d55-8a0e-6f5f5b7b8a11", upc: "x") { name } }`;
    const first = await ask(failing);
    expect(first.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const second = await ask(failing);
    expect(second.cache).toBe('MISS');
    expect(second.fetches).toBeGreaterThan(0);

    const staff = await supergraph.loginAs('grace');
    const mutate = () => ask(`mutation($id: ID!) { adjustStock(productId: $id, delta: 1) { quantity } }`, { id: product }, staff);
    const [a, b] = [await mutate(), await mutate()];
    expect(b.data?.adjustStock.quantity).toBe(a.data?.adjustStock.quantity + 1);
    expect(b.fetches).toBeGreaterThan(0);
    expect(b.cache).toBeNull();
  });

  it('lets an entry expire with its max-age', async () => {
    const stock = `{ lowStock(threshold: 3) { id quantity } }`;
    expect((await ask(stock)).headers.get('cache-control')).toBe('max-age=5, public');
    expect((await ask(stock)).cache).toBe('HIT');
    await new Promise((resolve) => setTimeout(resolve, 5_200));
    const expired = await ask(stock);
    expect(expired.cache).toBe('MISS');
    expect(expired.fetches).toBeGreaterThan(0);
  });

  it('runs 20 concurrent identical cold queries once', async () => {
    const shape = (alias: string) => `{ ${alias}: topProducts(first: 3) { name quantity reviews(first: 2) { edges { node { author { name } } } } } }`;
    const single = await ask(shape('once'));
    expect(single.cache).toBe('MISS');
    supergraph.resetRequests();
    const answers = await Promise.all(Array.from({ length: 20 }, () => supergraph.query(shape('twenty'))));
    expect(supergraph.subgraphRequests()).toBe(single.fetches);
    expect(new Set(answers.map((a) => JSON.stringify(a.data)))).toEqual(new Set([JSON.stringify({ twenty: single.data?.once })]));
    expect(answers.filter((a) => a.headers.get('x-cache') === 'MISS')).toHaveLength(1);
  });

  it('answers automatic persisted queries by the protocol, from Redis', async () => {
    const query = `{ categories { slug } }`;
    const sha256Hash = createHash('sha256').update(query).digest('hex');
    const extensions = { persistedQuery: { version: 1, sha256Hash } };
    const post = async (body: object) =>
      (await fetch(supergraph.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json() as Promise<any>;

    const unknown = await post({ extensions });
    expect(unknown.errors[0]).toMatchObject({ message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } });
    const registered = await post({ query, extensions });
    expect(registered.data.categories).toHaveLength(4);
    const byHash = await post({ extensions });
    expect(byHash.data).toEqual(registered.data);
    expect(await redis.exists(`${prefix}apq:apq:${sha256Hash}`)).toBe(1);
  });
});
