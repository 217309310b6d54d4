import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { WebSocket as NodeWebSocket, WebSocketServer } from 'ws';
import { productPageTour } from '../../examples/product-page-tour.js';
import { shopTour } from '../../examples/shop-tour.js';
import {
  AddReviewDocument,
  createClient,
  ERROR_CODES,
  ErrorCode as SdkErrorCode,
  LoginDocument,
  MeDocument,
  MyReviewsDocument,
  ProductDocument,
  ProductPageDocument,
  ReviewAddedDocument,
  StockChangedDocument,
  TesseraRequestError,
  TopProductsDocument,
  WEBSOCKET_STATUS,
  type ProductPageQuery,
  type ProductQuery,
  type ReviewAddedSubscription,
  type StockChangedSubscription,
} from '../../sdk/index.js';
import { repoRoot } from '../../shared/config/paths.js';
import { ErrorCode } from '../../shared/errors/errors.js';
import { seedDate, seedId } from '../../shared/store/seed.js';
import { SEED_PASSWORD } from '../../subgraphs/accounts/seed.js';
import { STOCK_CHANGED } from '../../subgraphs/inventory/resolvers/stock.resolver.js';
import { REVIEW_ADDED } from '../../subgraphs/reviews/resolvers/review.resolver.js';
import { subscribersOf } from '../support/subscriptions.js';
import { supergraphForSuite } from '../support/supergraph.js';

const MANIFEST = join(repoRoot, 'sdk/generated/persisted-documents.json');

/** What `request` throws, for asserting on it. */
async function failure(promise: Promise<unknown>): Promise<TesseraRequestError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(TesseraRequestError);
  return error as TesseraRequestError;
}

/** The edge of seed review `n` (created on seed day n - 1) as the SDK's Product document selects it. */
const seedReview = (n: number, rating: number, body: string, username: string) => ({
  node: { id: seedId('review', String(n)), rating, body, createdAt: seedDate(n - 1).toISOString(), author: { username } },
});

describe('the typed SDK against a started gateway', () => {
  const supergraph = supergraphForSuite({ responseCache: false });

  it('runs the example: signs in, lists the cheapest products, reviews one', async () => {
    const lines: string[] = [];
    const { login, products, addReview, product } = await shopTour({
      url: supergraph.url,
      email: 'alan@example.com',
      password: SEED_PASSWORD,
      print: (line) => lines.push(line),
    });

    expect(login.user).toEqual({ id: seedId('user', 'alan'), username: 'alan' });
    expect(products.totalCount).toBe(20);
    expect(products.edges.map(({ node }) => [node.name, node.price.amount, node.category.name])).toEqual([
      ['Bamboo Cutting Board', 2199, 'Kitchen'],
      ['A Philosophy of Software Design', 2495, 'Books'],
      ['Insulated Water Bottle', 2995, 'Outdoors'],
      ['Cast Iron Skillet', 3495, 'Kitchen'],
      ['Headlamp', 3499, 'Outdoors'],
    ]);
    expect(addReview).toMatchObject({
      rating: 5,
      body: 'Does what it says, and cheaply.',
      author: { id: seedId('user', 'alan'), username: 'alan' },
      product: { id: seedId('product', '200000000004'), name: 'Bamboo Cutting Board', averageRating: 5 },
    });
    // Read back through another operation: the review is stored, and the first of its product.
    expect(product.reviews.totalCount).toBe(1);
    expect(product.reviews.edges.map(({ node }) => [node.id, node.rating, node.author.username])).toEqual([[addReview.id, 5, 'alan']]);
    expect(lines).toContain('alan reviewed Bamboo Cutting Board: ★★★★★ (' + addReview.id + ')');
  });

  it('runs the example again without piling up reviews: its review replaces the earlier one', async () => {
    const tour = () => shopTour({ url: supergraph.url, email: 'alan@example.com', password: SEED_PASSWORD, print: () => {} });
    const first = await tour();
    const client = createClient({ url: supergraph.url, token: first.login.accessToken });
    const reviewsByAlan = async () => (await client.request(MyReviewsDocument))!.me!.reviews.totalCount;
    const before = await reviewsByAlan();
    const lines: string[] = [];
    const second = await shopTour({
      url: supergraph.url,
      email: 'alan@example.com',
      password: SEED_PASSWORD,
      print: (line) => lines.push(line),
    });
    expect(await reviewsByAlan()).toBe(before);
    expect(second.addReview.id).not.toBe(first.addReview.id);
    expect(second.product.reviews.totalCount).toBe(first.product.reviews.totalCount);
    expect(second.product.reviews.edges.map(({ node }) => node.id)).toEqual([second.addReview.id]);
    expect(lines).toContain(`deleted alan's earlier review of it (${first.addReview.id})`);
  });

  it('sends the token it was given: me is null anonymously and the caller when signed in', async () => {
    const anonymous = createClient({ url: supergraph.url });
    expect(await anonymous.request(MeDocument)).toEqual({ me: null });
    const { login } = await anonymous.request(LoginDocument, { email: 'edsger@example.com', password: SEED_PASSWORD });
    const { me } = await anonymous.withToken(login.accessToken).request(MeDocument);
    expect(me).toEqual({
      id: seedId('user', 'edsger'),
      username: 'edsger',
      name: 'Edsger Dijkstra',
      email: 'edsger@example.com',
      roles: ['customer'],
    });
  });

  it('returns typed data: a product with its stock, shipping and reviews from four subgraphs', async () => {
    const { product } = await createClient({ url: supergraph.url }).request(ProductDocument, {
      id: seedId('product', '100000000001'),
      reviews: 2,
    });
    const expected: ProductQuery['product'] = {
      id: seedId('product', '100000000001'),
      upc: '100000000001',
      name: 'The Pragmatic Programmer',
      description: 'The Pragmatic Programmer, from the books shelf.',
      price: { amount: 4299, currency: 'USD' },
      weight: 680,
      category: { id: seedId('category', 'books'), name: 'Books' },
      quantity: 12,
      inStock: true,
      // $4.99 for the first 500 g, and $0.50 for each of the two started 100 g beyond
      shippingEstimate: 599,
      averageRating: 4.5,
      reviews: {
        totalCount: 2,
        edges: [
          seedReview(1, 5, 'Still the best book on the craft.', 'ada'),
          seedReview(2, 4, 'Practical advice, a little dated in places.', 'grace'),
        ],
      },
    };
    expect(product).toEqual(expected);
  });

  it('throws the server errors as TesseraRequestError with their codes', async () => {
    const anonymous = createClient({ url: supergraph.url });
    const unauthenticated = await failure(
      anonymous.request(AddReviewDocument, { input: { productId: seedId('product', '100000000001'), rating: 4, body: 'x' } }),
    );
    expect(unauthenticated.codes).toEqual(['UNAUTHENTICATED']);
    expect(unauthenticated.has('UNAUTHENTICATED')).toBe(true);
    expect(unauthenticated.operationName).toBe('AddReview');
    expect(unauthenticated.data).toBeNull();

    const wrongPassword = await failure(anonymous.request(LoginDocument, { email: 'alan@example.com', password: 'not-the-password' }));
    expect(wrongPassword.codes).toEqual(['UNAUTHENTICATED']);

    const { login } = await anonymous.request(LoginDocument, { email: 'barbara@example.com', password: SEED_PASSWORD });
    const badInput = await failure(
      anonymous
        .withToken(login.accessToken)
        .request(AddReviewDocument, { input: { productId: seedId('product', '100000000001'), rating: 9, body: 'x' } }),
    );
    expect(badInput.codes).toEqual(['BAD_USER_INPUT']);
    expect(badInput.errors[0]!.extensions?.fields).toEqual([expect.objectContaining({ field: 'input.rating' })]);

    const refused = await failure(anonymous.request(TopProductsDocument, { first: 101 }));
    expect(refused.codes).toEqual(['BAD_USER_INPUT']);
  });

  it('with persisted: true, sends the hash alone, and the text once when the gateway does not know it', async () => {
    const bodies: Record<string, unknown>[] = [];
    const recording: typeof fetch = (input, init) => {
      bodies.push(JSON.parse(String(init!.body)) as Record<string, unknown>);
      return fetch(input, init);
    };
    const client = createClient({ url: supergraph.url, persisted: true, fetch: recording });
    const { topProducts } = await client.request(TopProductsDocument, { first: 2 });
    expect(topProducts.map((p) => p.name)).toEqual(['The Pragmatic Programmer', 'Designing Data-Intensive Applications']);
    // This gateway runs with trusted documents off: the hash is unknown, so the text follows.
    expect(bodies).toEqual([
      {
        operationName: 'TopProducts',
        variables: { first: 2 },
        extensions: { persistedQuery: { version: 1, sha256Hash: expect.stringMatching(/^[0-9a-f]{64}$/) } },
      },
      { operationName: 'TopProducts', variables: { first: 2 }, query: expect.stringContaining('query TopProducts') },
    ]);
  });

  it('runs the product page example: the page first without its reviews, then with them (@defer)', async () => {
    const lines: string[] = [];
    const states = await productPageTour({ url: supergraph.url, print: (line) => lines.push(line) });
    expect(states).toHaveLength(2);
    const [first, last] = states as [ProductPageQuery, ProductPageQuery];
    expect(first.product).toMatchObject({ name: 'The Pragmatic Programmer', price: { amount: 4299 } });
    expect(first.product?.reviews).toBeUndefined();
    expect(first.product?.averageRating).toBeUndefined();
    // The whole result (`request` asks for JSON only: the gateway ignores the @defer) is the last state.
    const whole = await createClient({ url: supergraph.url }).request(ProductPageDocument, { id: first.product!.id, reviews: 3 });
    expect(last).toEqual(whole);
    expect(last.product?.reviews?.totalCount).toBeGreaterThan(0);
    expect(lines[0]).toMatch(/The Pragmatic Programmer, 42\.99 USD, in stock; reviews loading…$/);
    expect(lines[1]).toMatch(/reviews, rated /);
  });

  it('requests a deferred query in parts by hash alone (TRUSTED_DOCUMENTS=enforce), and by text where the hash is unknown', async () => {
    const bodies: Record<string, unknown>[] = [];
    const recording: typeof fetch = (input, init) => {
      bodies.push(JSON.parse(String(init!.body)) as Record<string, unknown>);
      return fetch(input, init);
    };
    const id = seedId('product', '100000000001');
    const collect = async (url: string) => {
      const states: ProductPageQuery[] = [];
      const client = createClient({ url, persisted: true, fetch: recording });
      for await (const state of client.requestIncremental(ProductPageDocument, { id })) states.push(state);
      return states;
    };
    const enforcing = await supergraph.startGateway({ responseCache: false, trustedDocuments: { mode: 'enforce', manifests: [MANIFEST] } });
    for (const [url, sentText] of [
      [enforcing.url, [false]],
      [supergraph.url, [false, true]],
    ] as const) {
      bodies.length = 0;
      const states = await collect(url);
      expect(bodies.map((body) => 'query' in body)).toEqual(sentText);
      expect(states).toHaveLength(2);
      expect(states[0]!.product?.name).toBe('The Pragmatic Programmer');
      expect(states[0]!.product?.reviews).toBeUndefined();
      expect(states[1]!.product?.reviews?.edges.length).toBeGreaterThan(0);
    }
  });

  it('throws what a deferred query is refused with as TesseraRequestError', async () => {
    const anonymous = createClient({ url: supergraph.url });
    const parts = anonymous.requestIncremental(ProductPageDocument, { id: 'not-a-uuid', reviews: 1_000 });
    const error = await failure(parts.next());
    expect(error.codes).toContain(ErrorCode.BAD_USER_INPUT);
  });

  it('refuses a document that is not its text (an AST from another codegen setup), saying how to generate it', async () => {
    const ast = { kind: 'Document', definitions: [] } as unknown as typeof MeDocument;
    await expect(createClient({ url: supergraph.url }).request(ast)).rejects.toThrow(
      "generate it with the client preset's `documentMode: string`",
    );
  });

  describe('subscribe', () => {
    const stockChanged = seedId('product', '300000000001');

    it('receives a typed StockChanged event over graphql-ws, with catalog’s fields joined, its token in connection_init', async () => {
      const staff = createClient({ url: supergraph.url });
      const { login } = await staff.request(LoginDocument, { email: 'grace@example.com', password: SEED_PASSWORD });
      const client = staff.withToken(login.accessToken);
      const pubSub = supergraph.subgraphs.inventory!.pubSub;
      const before = pubSub.subscriberCount(STOCK_CHANGED);
      const events = client.subscribe(StockChangedDocument, { productIds: [stockChanged] });
      const first = events.next();
      await subscribersOf(pubSub, STOCK_CHANGED, before + 1);
      // adjustStock is staff's and not an SDK operation: sent with the same token, as plain GraphQL.
      const { data, errors } = await supergraph.query(
        'mutation($id: ID!) { adjustStock(productId: $id, delta: -1) { quantity } }',
        { id: stockChanged },
        { authorization: `Bearer ${login.accessToken}` },
      );
      expect(errors).toBeUndefined();
      const { value, done } = await first;
      expect(done).toBe(false);
      const event: StockChangedSubscription = value;
      expect(event).toEqual({
        stockChanged: {
          quantity: data!.adjustStock.quantity,
          inStock: true,
          product: { id: stockChanged, name: 'Two-Person Tent', price: { amount: expect.any(Number), currency: 'USD' } },
        },
      });
      // Leaving the iteration ends the subscription at the subgraph.
      expect(await events.return!()).toEqual({ done: true, value: undefined });
      await subscribersOf(pubSub, STOCK_CHANGED, before);
      await client.close();
    });

    it('iterates ReviewAdded with for await, the author from accounts, anonymously, on the WebSocket class given', async () => {
      // The `ws` package's WebSocket, as on Node 20, counted to see that it is the one used.
      let sockets = 0;
      class CountedWebSocket extends NodeWebSocket {
        constructor(...args: ConstructorParameters<typeof NodeWebSocket>) {
          super(...args);
          sockets++;
        }
      }
      const anonymous = createClient({ url: supergraph.url, webSocketImpl: CountedWebSocket });
      const pubSub = supergraph.subgraphs.reviews!.pubSub;
      const before = pubSub.subscriberCount(REVIEW_ADDED);
      const heard: ReviewAddedSubscription[] = [];
      const listening = (async () => {
        for await (const event of anonymous.subscribe(ReviewAddedDocument, { productId: stockChanged })) {
          heard.push(event);
          break;
        }
      })();
      await subscribersOf(pubSub, REVIEW_ADDED, before + 1);
      const { login } = await anonymous.request(LoginDocument, { email: 'ada@example.com', password: SEED_PASSWORD });
      const { addReview } = await anonymous
        .withToken(login.accessToken)
        .request(AddReviewDocument, { input: { productId: stockChanged, rating: 4, body: 'Pitches in minutes.' } });
      await listening;
      expect(sockets).toBe(1);
      expect(heard).toEqual([
        {
          reviewAdded: {
            id: addReview.id,
            rating: 4,
            body: 'Pitches in minutes.',
            createdAt: addReview.createdAt,
            author: { id: seedId('user', 'ada'), username: 'ada' },
            product: { id: stockChanged, name: 'Two-Person Tent' },
          },
        },
      ]);
      await subscribersOf(pubSub, REVIEW_ADDED, before);
    });

    it('throws TesseraRequestError when the gateway refuses the token, and when it ends the subscription', async () => {
      const refused = createClient({ url: supergraph.url, token: 'not-a-token' });
      const closed = await failure(refused.subscribe(StockChangedDocument).next());
      expect(closed.status).toBe(WEBSOCKET_STATUS);
      expect(closed.codes).toEqual(['FORBIDDEN']);
      expect(closed.errors[0]!.extensions?.closeCode).toBe(4403);

      const stopping = await supergraph.startGateway({ responseCache: false });
      const client = createClient({ url: stopping.url });
      const pubSub = supergraph.subgraphs.inventory!.pubSub;
      const before = pubSub.subscriberCount(STOCK_CHANGED);
      const ending = [stockChanged, seedId('product', '300000000002')].map((id) =>
        failure(client.subscribe(StockChangedDocument, { productIds: [id] }).next()),
      );
      await subscribersOf(pubSub, STOCK_CHANGED, before + 2);
      // The client's subscriptions share one connection.
      const connections = await stopping.gateway.registry.getSingleMetric('tessera_gateway_subscription_connections_active')!.get();
      expect(connections.values.find((v) => v.labels.transport === 'graphql-ws')?.value).toBe(1);
      await stopping.gateway.endSubscriptions();
      const shutDown = await Promise.all(ending);
      expect(shutDown.map((error) => [error.operationName, error.codes])).toEqual([
        ['StockChanged', ['SHUTTING_DOWN']],
        ['StockChanged', ['SHUTTING_DOWN']],
      ]);
      expect(shutDown[0]!.message).toMatch(/^StockChanged failed \(over WebSocket\)/);
      await subscribersOf(pubSub, STOCK_CHANGED, before);
    });

    it('does not reconnect when the connection is lost: the iteration throws with the close code, and 1001 is SHUTTING_DOWN', async () => {
      // A server that acknowledges the connection and then goes away on the first subscribe, as a
      // restarting proxy would: with retries, graphql-ws would reconnect and resubscribe unseen.
      const server = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: () => 'graphql-transport-ws' });
      let connections = 0;
      server.on('connection', (socket) => {
        connections++;
        socket.on('message', (message) => {
          const { type } = JSON.parse(String(message)) as { type: string };
          if (type === 'connection_init') socket.send(JSON.stringify({ type: 'connection_ack' }));
          if (type === 'subscribe') socket.close(1001, 'Going away');
        });
      });
      await new Promise((resolve) => server.once('listening', resolve));
      try {
        const client = createClient({
          url: supergraph.url,
          webSocketUrl: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
        });
        const lost = await failure(client.subscribe(StockChangedDocument).next());
        expect(lost.codes).toEqual(['SHUTTING_DOWN']);
        expect(lost.errors[0]!.extensions?.closeCode).toBe(1001);
        expect(lost.message).toContain('The gateway closed the WebSocket (1001: Going away)');
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(connections).toBe(1);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });

    /** Subscribes `client` to StockChanged; `check` makes an adjustStock and expects its event, then ends it all. */
    function receiveStockEvent(client: ReturnType<typeof createClient>) {
      const pubSub = supergraph.subgraphs.inventory!.pubSub;
      const before = pubSub.subscriberCount(STOCK_CHANGED);
      const events = client.subscribe(StockChangedDocument, { productIds: [stockChanged] });
      const first = events.next();
      return {
        subscribed: subscribersOf(pubSub, STOCK_CHANGED, before + 1),
        async check() {
          const staff = await supergraph.loginAs('grace');
          const { data } = await supergraph.query(
            'mutation($id: ID!) { adjustStock(productId: $id, delta: 1) { quantity } }',
            { id: stockChanged },
            staff,
          );
          expect((await first).value?.stockChanged.quantity).toBe(data!.adjustStock.quantity);
          await events.return!();
          await client.close();
          await subscribersOf(pubSub, STOCK_CHANGED, before);
        },
      };
    }
    const expectStockEvent = async (client: ReturnType<typeof createClient>) => {
      const received = receiveStockEvent(client);
      await received.subscribed;
      await received.check();
    };

    it('under TRUSTED_DOCUMENTS=enforce, subscribes by hash with persisted: true (its text alone is refused)', async () => {
      const enforcing = await supergraph.startGateway({
        responseCache: false,
        trustedDocuments: { mode: 'enforce', manifests: [MANIFEST] },
      });
      const refused = await failure(
        createClient({ url: enforcing.url })
          .subscribe(StockChangedDocument, { productIds: [stockChanged] })
          .next(),
      );
      expect(refused.codes).toEqual(['PERSISTED_QUERY_REQUIRED']);

      const client = createClient({ url: enforcing.url, persisted: true });
      await expectStockEvent(client);
    });

    it('with persisted: true and no manifest, subscribes by hash, then with its text once the gateway does not know the hash', async () => {
      const sent: Record<string, unknown>[] = [];
      class RecordingWebSocket extends WebSocket {
        override send(data: string) {
          const message = JSON.parse(data) as { type: string; payload: Record<string, unknown> };
          if (message.type === 'subscribe') sent.push(message.payload);
          super.send(data);
        }
      }
      const client = createClient({ url: supergraph.url, persisted: true, webSocketImpl: RecordingWebSocket });
      const received = receiveStockEvent(client);
      await received.subscribed;
      expect(sent.map((payload) => payload.query === '')).toEqual([true, false]);
      expect(sent[0]!.extensions).toEqual({
        persistedQuery: { version: 1, sha256Hash: String(StockChangedDocument.__meta__!.hash).replace(/^sha256:/, '') },
      });
      await received.check();
    });
  });

  it("knows every code of the server's vocabulary", () => {
    expect(SdkErrorCode).toBe(ErrorCode);
    expect(ERROR_CODES).toEqual(Object.values(ErrorCode));
  });
});
