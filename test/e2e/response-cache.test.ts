import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { responseCacheKeys } from '../../gateway/response-cache/redis-store.js';
import { seedId } from '../../shared/store/seed.js';
import { startForeignSubgraph } from '../support/foreign-subgraph.js';
import { postGraphQL, postRaw } from '../support/subgraph.js';
import { startTestSupergraph, type TestSupergraph } from '../support/supergraph.js';

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
    expect(await redis.keys(responseCacheKeys(prefix).response('*'))).not.toHaveLength(0);
  });

  it("never serves one user's private response to another or to an anonymous caller, even concurrently", async () => {
    const tokens = Object.fromEntries(
      await Promise.all(['ada', 'alan', 'barbara'].map(async (u) => [u, await supergraph.loginAs(u)] as const)),
    );
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
      const { errors } = await supergraph.query(
        `mutation($id: ID!) { updateProduct(id: $id, input: { name: "Gooseneck Kettle" }) { id } }`,
        { id: product },
        staff,
      );
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

  describe('is never stale for lists a write moves, not only those holding what it wrote', () => {
    it('a search list, after a product is renamed to match it', async () => {
      const search = `query($s: String!) { products(first: 10, filter: { search: $s }) { totalCount edges { node { id name } } } }`;
      expect((await ask(search, { s: 'Zanzibar' })).data?.products.totalCount).toBe(0);
      expect((await ask(search, { s: 'Zanzibar' })).cache).toBe('HIT');
      const headlamp = seedId('product', '300000000004');
      const renamed = await supergraph.query(
        `mutation($id: ID!) { updateProduct(id: $id, input: { name: "Zanzibar Headlamp" }) { id } }`,
        { id: headlamp },
        await supergraph.loginAs('grace'),
      );
      expect(renamed.errors).toBeUndefined();
      const after = await ask(search, { s: 'Zanzibar' });
      expect(after.cache).toBe('MISS');
      expect(after.data?.products.edges).toEqual([{ node: { id: headlamp, name: 'Zanzibar Headlamp' } }]);
    });

    it('lowStock, after a product drops under the threshold', async () => {
      const low = `{ lowStock(threshold: 1, first: 50) { id quantity } }`;
      const programmer = seedId('product', '100000000001'); // 12 in stock
      expect((await ask(low)).data?.lowStock.map((p: { id: string }) => p.id)).not.toContain(programmer);
      expect((await ask(low)).cache).toBe('HIT');
      const taken = await supergraph.query(
        `mutation($id: ID!) { adjustStock(productId: $id, delta: -11) { quantity } }`,
        { id: programmer },
        await supergraph.loginAs('grace'),
      );
      expect(taken.data?.adjustStock.quantity).toBe(1);
      const after = await ask(low);
      expect(after.cache).toBe('MISS');
      expect(after.data?.lowStock).toContainEqual({ id: programmer, quantity: 1 });
    });

    it('a price-ordered page, after a product elsewhere becomes the cheapest', async () => {
      const cheapest = `{ products(first: 3, orderBy: { field: PRICE, direction: ASC }) { edges { node { id price { amount } } } } }`;
      const monitor = seedId('product', '400000000004'); // the dearest but one
      expect((await ask(cheapest)).data?.products.edges.map((e: { node: { id: string } }) => e.node.id)).not.toContain(monitor);
      expect((await ask(cheapest)).cache).toBe('HIT');
      const repriced = await supergraph.query(
        `mutation($id: ID!) { updateProduct(id: $id, input: { price: { amount: 100, currency: "USD" } }) { id } }`,
        { id: monitor },
        await supergraph.loginAs('grace'),
      );
      expect(repriced.errors).toBeUndefined();
      const after = await ask(cheapest);
      expect(after.cache).toBe('MISS');
      expect(after.data?.products.edges[0]).toEqual({ node: { id: monitor, price: { amount: 100 } } });
    });

    it('a list from a subgraph that reports no cache tags, after a mutation reached it', async () => {
      const foreign = await startForeignSubgraph();
      try {
        const gateway = await supergraph.startGateway({
          extraSubgraphs: [foreign],
          redis: { url: REDIS_URL, prefix: `${prefix}foreign:` },
        });
        const read = (query: string) => postGraphQL(gateway.url, query);
        const gadgets = `{ gadgets { id name } }`;
        const shop = `{ topProducts(first: 2) { id } }`;
        expect((await read(gadgets)).headers.get('x-cache')).toBe('MISS');
        expect((await read(gadgets)).headers.get('x-cache')).toBe('HIT');
        await read(shop);
        // A Tessera mutation that changes nothing cached (it reports so) purges nothing.
        await postGraphQL(gateway.url, `mutation { login(email: "ada@example.com", password: "wrong-password") { accessToken } }`);
        expect((await read(gadgets)).headers.get('x-cache')).toBe('HIT');

        const added = await read(`mutation { addGadget(name: "Widget") { id } }`);
        expect(added.errors).toBeUndefined();
        const after = await read(gadgets);
        expect(after.headers.get('x-cache')).toBe('MISS');
        expect(after.data?.gadgets).toEqual([
          { id: 'g1', name: 'Sprocket' },
          { id: 'g2', name: 'Widget' },
        ]);
        // What the shop's subgraphs answered stays: they say what changed, and nothing of theirs did.
        expect((await read(shop)).headers.get('x-cache')).toBe('HIT');
      } finally {
        await foreign.stop();
      }
    });
  });

  describe('says whom an answer is for, so no browser or shared cache hands it to someone else', () => {
    const viaGet = async (query: string, headers: Record<string, string> = {}) =>
      fetch(`${supergraph.url}?${new URLSearchParams({ query })}`, { headers: { 'apollo-require-preflight': 'true', ...headers } });
    const viaPost = async (query: string, headers: Record<string, string> = {}) =>
      fetch(supergraph.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query }),
      });
    const vary = (response: Response) => (response.headers.get('vary') ?? '').toLowerCase().split(/\s*,\s*/);

    it.each([
      ['GET', viaGet],
      ['POST', viaPost],
    ])('over %s: Vary on every answer, private ones private whether a hit or a miss', async (_method, send) => {
      const signedIn = await supergraph.loginAs('alan');
      const me = `{ me { username } }`;
      const publicOne = `{ categories { slug } }`;
      for (const [caller, headers] of [
        ['anonymous', {}],
        ['signed in', signedIn],
      ] as const) {
        for (const [query, scope] of [
          [publicOne, 'public'],
          [me, 'private'],
        ] as const) {
          const statuses: (string | null)[] = [];
          for (let i = 0; i < 2; i++) {
            const response = await send(query, headers);
            expect(response.status).toBe(200);
            statuses.push(response.headers.get('x-cache'));
            expect({ caller, query, vary: vary(response) }).toEqual({
              caller,
              query,
              vary: expect.arrayContaining(['accept', 'authorization']),
            });
            expect({ caller, query, cacheControl: response.headers.get('cache-control') }).toEqual({
              caller,
              query,
              cacheControl: expect.stringMatching(new RegExp(`^max-age=\\d+, ${scope}$`)),
            });
          }
          // An anonymous private answer is never stored; the others are, and the second is a hit.
          expect(statuses[1]).toBe(caller === 'anonymous' && scope === 'private' ? 'MISS' : 'HIT');
        }
      }
      // Refused before execution, or a mutation: still per caller.
      expect(vary(await send(`{ products(first: 101) { totalCount } }`, signedIn))).toEqual(expect.arrayContaining(['authorization']));
      expect(vary(await viaPost(`mutation { logout }`, signedIn))).toEqual(expect.arrayContaining(['authorization']));
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
    const shape = (alias: string) =>
      `{ ${alias}: topProducts(first: 3) { name quantity reviews(first: 2) { edges { node { author { name } } } } } }`;
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
    const post = async (body: object) => (await postRaw(supergraph.url, body)).body as any;

    const unknown = await post({ extensions });
    expect(unknown.errors[0]).toMatchObject({ message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } });
    const registered = await post({ query, extensions });
    expect(registered.data.categories).toHaveLength(4);
    const byHash = await post({ extensions });
    expect(byHash.data).toEqual(registered.data);
    expect(await redis.exists(`${prefix}apq:apq:${sha256Hash}`)).toBe(1);
  });
});
