import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createClient, type Client } from 'graphql-ws';
import { repoRoot } from '../../shared/config/paths.js';
import { seedId } from '../../shared/store/seed.js';
import { STOCK_CHANGED } from '../../subgraphs/inventory/resolvers/stock.resolver.js';
import { REVIEW_ADDED } from '../../subgraphs/reviews/resolvers/review.resolver.js';
import { startTestSupergraph, type TestSupergraph } from '../support/supergraph.js';
import { subscribeOn, expiringStaffToken, subscribeOverSse, subscribersOf } from '../support/subscriptions.js';

/**
 * Federated subscriptions through a started gateway (issue 16): inventory's `stockChanged`
 * event joined per event with catalog's fields, over each client transport, with the edge's
 * rules (authentication, validation, limits) applied at subscribe.
 */

const product = seedId('product', '300000000003');
const ADJUST = `mutation($id: ID!, $delta: Int!) { adjustStock(productId: $id, delta: $delta) { quantity } }`;
const STOCK = `subscription($ids: [ID!]) { stockChanged(productIds: $ids) { quantity inStock product { name price { amount currency } } } }`;

describe('subscriptions through the gateway', () => {
  let supergraph: TestSupergraph;
  let staff: Record<string, string>;
  const clients: Client[] = [];

  beforeAll(async () => {
    supergraph = await startTestSupergraph({ protection: { rateLimit: { enabled: false } } });
    staff = await supergraph.loginAs('grace');
  }, 120_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await supergraph?.stop();
  });

  const wsClient = (connectionParams: Record<string, unknown> = {}) => {
    const client = createClient({
      url: supergraph.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams,
      retryAttempts: 0,
      lazy: true,
    });
    clients.push(client);
    return client;
  };
  const adjust = async (delta: number) => {
    const { data, errors } = await supergraph.query(ADJUST, { id: product, delta }, staff);
    expect(errors).toBeUndefined();
    return data!.adjustStock.quantity as number;
  };
  const inventoryPubSub = () => supergraph.subgraphs.inventory!.pubSub;

  it('delivers each adjustStock over graphql-ws, in order, with catalog’s fields joined per event', async () => {
    const subscription = subscribeOn(wsClient(), STOCK, { ids: [product] });
    await subscribersOf(inventoryPubSub(), STOCK_CHANGED, 1);
    const first = await adjust(-1);
    const second = await adjust(-2);
    const events = [await subscription.next(), await subscription.next()];
    expect(events.map((e) => e.data?.stockChanged.quantity)).toEqual([first, second]);
    for (const event of events) {
      expect(event.errors).toBeUndefined();
      expect(event.data!.stockChanged.product).toEqual({
        name: expect.any(String),
        price: { amount: expect.any(Number), currency: expect.any(String) },
      });
    }
  });

  it('joins one event once for identical subscriptions, once per caller', async () => {
    // The earlier tests' subscriptions go first: only this test's join catalog.
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
    await subscribersOf(inventoryPubSub(), STOCK_CHANGED, 0);
    const PER_CALLER = 8;
    const query = `subscription($ids: [ID!]) { stockChanged(productIds: $ids) { quantity product { name } } }`;
    const subscriptions = [
      ...Array.from({ length: PER_CALLER }, () => subscribeOn(wsClient(), query, { ids: [product] })),
      ...Array.from({ length: PER_CALLER }, () => subscribeOn(wsClient({ authorization: staff.authorization }), query, { ids: [product] })),
    ];
    await subscribersOf(inventoryPubSub(), STOCK_CHANGED, 2 * PER_CALLER);
    const catalog = supergraph.subgraphs.catalog!;
    catalog.resetRequests();
    const quantity = await adjust(-1);
    const events = await Promise.all(subscriptions.map((subscription) => subscription.next()));
    for (const event of events) expect(event).toEqual({ data: { stockChanged: { quantity, product: { name: expect.any(String) } } } });
    // Sixteen joins of one event, each catalog's fetch: one fetch per caller while joins are
    // under way (two, for the anonymous and the staff subscriptions), a few more at most when
    // the event reaches some subscriptions after the first join finished.
    expect(catalog.requests()).toBeGreaterThanOrEqual(2);
    expect(catalog.requests()).toBeLessThan(PER_CALLER);
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
    await subscribersOf(inventoryPubSub(), STOCK_CHANGED, 0);
  });

  it('streams events over Server-Sent Events and over multipart HTTP', async () => {
    const before = inventoryPubSub().subscriberCount(STOCK_CHANGED);
    const open = async (accept: string) => {
      const response = await fetch(supergraph.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept },
        body: JSON.stringify({ query: STOCK, variables: { ids: [product] } }),
      });
      expect(response.status).toBe(200);
      return { response, reader: response.body!.getReader() };
    };
    const sse = await open('text/event-stream');
    const multipart = await open('multipart/mixed;subscriptionSpec="1.0",application/json');
    expect(sse.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(multipart.response.headers.get('content-type')).toMatch(/^multipart\/mixed; boundary="graphql"; subscriptionSpec=1.0/);
    await subscribersOf(inventoryPubSub(), STOCK_CHANGED, before + 2);
    const quantity = await adjust(-1);
    // Bounded, reads included: what only the next heartbeat (SUBSCRIPTION_KEEPALIVE_MS, 15 s) would complete counts as missing.
    const readUntil = async (reader: ReadableStreamDefaultReader<Uint8Array>, pattern: RegExp) => {
      let text = '';
      const deadline = Date.now() + 5_000;
      while (!pattern.test(text)) {
        let timer: NodeJS.Timeout | undefined;
        const expired = new Promise<undefined>(
          (resolve) => (timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()))),
        );
        const read = await Promise.race([reader.read(), expired]).finally(() => clearTimeout(timer));
        if (!read || read.done) break;
        text += Buffer.from(read.value).toString('utf8');
      }
      return text;
    };
    const sseText = await readUntil(sse.reader, /event: next\ndata: .*\n\n/);
    const sseEvent = JSON.parse(/event: next\ndata: (.*)\n\n/.exec(sseText)![1]!);
    expect(sseEvent.data.stockChanged).toMatchObject({ quantity, product: { name: expect.any(String) } });
    // The event's part closed by the next delimiter at once, not by the next heartbeat: a part ends where a delimiter begins.
    const multipartText = await readUntil(multipart.reader, /\{"payload":\{.*\}\}\r\n--graphql/);
    expect(multipartText).toMatch(/\{"payload":\{.*\}\}\r\n--graphql/);
    const part = JSON.parse(/\r\n\r\n(\{"payload":\{.*\}\})\r\n--graphql/.exec(multipartText)![1]!);
    expect(part.payload.data.stockChanged).toMatchObject({ quantity, product: { name: expect.any(String) } });
    await sse.reader.cancel();
    await multipart.reader.cancel();
    await subscribersOf(inventoryPubSub(), STOCK_CHANGED, before);
  });

  it("answers graphql-sse's client for any operation: a query and a mutation as one event, what fails validation as an event, not a failed connection", async () => {
    const codeOf = (result: { errors?: readonly { extensions?: Record<string, unknown> }[] }) => result.errors?.[0]?.extensions?.code;
    const query = subscribeOverSse(supergraph.url, '{ topProducts(first: 1) { name } }');
    expect((await query.next()).data).toEqual({ topProducts: [{ name: expect.any(String) }] });
    expect(await query.ended()).toEqual({ completed: true });
    const before = await adjust(-1);
    const mutation = subscribeOverSse(supergraph.url, ADJUST, { id: product, delta: 1 }, staff);
    expect((await mutation.next()).data).toEqual({ adjustStock: { quantity: before + 1 } });
    expect(await mutation.ended()).toEqual({ completed: true });
    for (const [document, variables, code] of [
      ['subscription { nope }', {}, 'GRAPHQL_VALIDATION_FAILED'],
      ['{ nope }', {}, 'GRAPHQL_VALIDATION_FAILED'],
      [STOCK, { ids: [true] }, 'BAD_USER_INPUT'],
    ] as const) {
      const refused = subscribeOverSse(supergraph.url, document, variables);
      expect(codeOf(await refused.next())).toBe(code);
      expect(await refused.ended()).toEqual({ completed: true });
    }
    // Not GraphQL at all: refused as graphql-sse's own server refuses it, with 400.
    const unparsable = subscribeOverSse(supergraph.url, '{ topProducts(first: 1) { name }');
    expect(await unparsable.ended()).toEqual({ error: expect.anything() });
  });

  it('refuses at subscribe what a query would be refused for: invalid documents, bad tokens, shape limits', async () => {
    const invalid = subscribeOn(wsClient(), 'subscription { stockChanged { nope } }');
    const ending = (await invalid.ended()) as { error: { extensions?: { code?: string } }[] };
    expect(ending.error[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');

    const refused = subscribeOn(wsClient({ authorization: 'Bearer not-a-token' }), STOCK);
    const closed = (await refused.ended()) as { error: { code?: number } };
    expect(closed.error.code).toBe(4403);

    const deep = `subscription { stockChanged { product { reviews(first: 1) { edges { node { product { reviews(first: 1) { edges { node { product { reviews(first: 1) { edges { node { id } } } } } } } } } } } } } }`;
    const tooDeep = subscribeOn(wsClient(), deep);
    const deepEnding = (await tooDeep.ended()) as { error: { extensions?: { code?: string } }[] };
    expect(deepEnding.error[0]?.extensions?.code).toBe('MAX_DEPTH_EXCEEDED');

    // The HTTP guards hold over WebSocket too: the token limit, and JSON nesting in variables.
    const spread = `subscription { stockChanged { ${Array.from({ length: 2_100 }, () => '...F').join(' ')} } } fragment F on StockChange { quantity }`;
    const manyTokens = (await subscribeOn(wsClient(), spread).ended()) as { error: { extensions?: { code?: string } }[] };
    expect(manyTokens.error[0]?.extensions?.code).toBe('MAX_TOKENS_EXCEEDED');
    let nested: unknown = product;
    for (let i = 0; i < 200; i++) nested = [nested];
    const deepJson = (await subscribeOn(wsClient(), STOCK, { ids: nested }).ended()) as { error: { extensions?: { code?: string } }[] };
    expect(deepJson.error[0]?.extensions?.code).toBe('MAX_JSON_DEPTH_EXCEEDED');
  });

  it('answers a subscription sent as a plain POST with BAD_REQUEST, naming the transports', async () => {
    const { errors } = await supergraph.query(STOCK, { ids: [product] });
    expect(errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
    expect(errors?.[0]?.message).toMatch(/WebSocket/);
  });

  it('joins reviewAdded with the author from accounts, for the product asked for only', async () => {
    const subscription = subscribeOn(
      wsClient(),
      'subscription($p: ID) { reviewAdded(productId: $p) { body rating author { username } product { name } } }',
      {
        p: product,
      },
    );
    await subscribersOf(supergraph.subgraphs.reviews!.pubSub, REVIEW_ADDED, 1);
    const alan = await supergraph.loginAs('alan');
    const add = 'mutation($input: AddReviewInput!) { addReview(input: $input) { id } }';
    const other = seedId('product', '300000000001');
    for (const [productId, body] of [
      [other, 'not this one'],
      [product, 'Holds an edge.'],
    ]) {
      const { errors } = await supergraph.query(add, { input: { productId, body, rating: 5 } }, alan);
      expect(errors).toBeUndefined();
    }
    const event = await subscription.next();
    expect(event).toEqual({
      data: { reviewAdded: { body: 'Holds an edge.', rating: 5, author: { username: 'alan' }, product: { name: expect.any(String) } } },
    });
  });

  it('refuses a subscription past SUBSCRIPTIONS_PER_CONNECTION, and ends one when its token expires (4403)', async () => {
    const limited = await supergraph.startGateway({ protection: { rateLimit: { enabled: false } }, subscriptions: { perConnection: 1 } });
    const token = await expiringStaffToken(2);
    const client = createClient({
      url: limited.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
      lazy: true,
    });
    clients.push(client);
    const first = subscribeOn(client, STOCK, { ids: [product] });
    const second = subscribeOn(client, STOCK, { ids: [product] });
    const refused = (await second.ended()) as { error: { extensions?: { code?: string } }[] };
    expect(refused.error[0]?.extensions?.code).toBe('SUBSCRIPTION_LIMIT_EXCEEDED');
    const expired = (await first.ended(6_000)) as { error: { code?: number; reason?: string } };
    expect(expired.error.code).toBe(4403);
    expect(expired.error.reason).toMatch(/expired/);
  });

  it('refuses a connection past SUBSCRIPTION_CONNECTIONS_PER_IP, over WebSocket (4403) and SSE (429)', async () => {
    const limited = await supergraph.startGateway({
      protection: { rateLimit: { enabled: false } },
      subscriptions: { connectionsPerIp: 1 },
    });
    const client = (url: string) => {
      const made = createClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
      clients.push(made);
      return made;
    };
    const before = inventoryPubSub().subscriberCount(STOCK_CHANGED);
    const held = subscribeOn(client(limited.url), STOCK, { ids: [product] });
    await subscribersOf(inventoryPubSub(), STOCK_CHANGED, before + 1);
    const refused = (await subscribeOn(client(limited.url), STOCK, { ids: [product] }).ended()) as {
      error: { code?: number; reason?: string };
    };
    expect(refused.error.code).toBe(4403);
    expect(refused.error.reason).toMatch(/subscription connections from one address/);
    const sse = await fetch(limited.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: STOCK, variables: { ids: [product] } }),
    });
    expect(sse.status).toBe(429);
    expect(((await sse.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe(
      'SUBSCRIPTION_LIMIT_EXCEEDED',
    );
    await adjust(-1);
    expect((await held.next()).data?.stockChanged.quantity).toEqual(expect.any(Number));
  });

  it('serves subscriptions with GATEWAY_EXECUTOR=apollo too, its queries still run by @apollo/gateway', async () => {
    const other = await supergraph.startGateway({ executor: 'apollo', protection: { rateLimit: { enabled: false } } });
    const client = createClient({ url: other.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
    clients.push(client);
    const before = inventoryPubSub().subscriberCount(STOCK_CHANGED);
    const subscription = subscribeOn(client, STOCK, { ids: [product] });
    await subscribersOf(inventoryPubSub(), STOCK_CHANGED, before + 1);
    const quantity = await adjust(-1);
    const event = await subscription.next();
    expect(event.errors).toBeUndefined();
    expect(event.data!.stockChanged).toMatchObject({ quantity, product: { name: expect.any(String) } });
    const answer = await fetch(other.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ product(id: "${product}") { name quantity } }` }),
    });
    expect(((await answer.json()) as { data: { product: { quantity: number } } }).data.product.quantity).toBe(quantity);
    await client.dispose();
    await subscribersOf(inventoryPubSub(), STOCK_CHANGED, before);
  });

  it('ends subscriptions with SHUTTING_DOWN when the gateway stops', async () => {
    const other = await supergraph.startGateway({ protection: { rateLimit: { enabled: false } } });
    const client = createClient({ url: other.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
    clients.push(client);
    const before = inventoryPubSub().subscriberCount(STOCK_CHANGED);
    const subscription = subscribeOn(client, STOCK, { ids: [product] });
    await subscribersOf(inventoryPubSub(), STOCK_CHANGED, before + 1);
    await other.gateway.endSubscriptions();
    const event = await subscription.next();
    expect(event.errors?.[0]?.extensions?.code).toBe('SHUTTING_DOWN');
    await subscribersOf(inventoryPubSub(), STOCK_CHANGED, before);
  });

  it('keeps a subscription the reloaded supergraph still serves, and ends one it no longer does', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'tessera-subscriptions-'));
    const path = join(folder, 'supergraph.graphql');
    const sdl = await readFile(join(repoRoot, 'supergraph.graphql'), 'utf8');
    await writeFile(path, sdl);
    try {
      const served = await supergraph.startGateway({
        supergraphPath: path,
        routeToRunning: true,
        protection: { rateLimit: { enabled: false } },
        supergraphReload: { pollIntervalMs: 0, watch: false },
      });
      const client = createClient({ url: served.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
      clients.push(client);
      const reviewsBefore = supergraph.subgraphs.reviews!.pubSub.subscriberCount(REVIEW_ADDED);
      const stockBefore = inventoryPubSub().subscriberCount(STOCK_CHANGED);
      const stock = subscribeOn(client, STOCK, { ids: [product] });
      const reviews = subscribeOn(client, 'subscription($p: ID) { reviewAdded(productId: $p) { body } }', { p: product });
      await subscribersOf(inventoryPubSub(), STOCK_CHANGED, stockBefore + 1);
      await subscribersOf(supergraph.subgraphs.reviews!.pubSub, REVIEW_ADDED, reviewsBefore + 1);
      const withoutStockChanged = sdl.replace(
        /\n\s*"""Every stock adjustment, as it commits\."""\n\s*stockChanged\([^)]*\): StockChange! @join__field\(graph: INVENTORY\)\n/,
        '\n',
      );
      expect(withoutStockChanged).not.toBe(sdl);
      await writeFile(path, withoutStockChanged);
      expect(await served.gateway.supergraph.reload()).toMatchObject({ outcome: 'reloaded' });
      const ended = await stock.next();
      expect(ended.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(ended.errors?.[0]?.message).toMatch(/no longer serves this subscription/);
      const { errors } = await supergraph.query(
        'mutation($input: AddReviewInput!) { addReview(input: $input) { id } }',
        { input: { productId: product, body: 'After the reload.', rating: 4 } },
        await supergraph.loginAs('edsger'),
      );
      expect(errors).toBeUndefined();
      expect(await reviews.next()).toEqual({ data: { reviewAdded: { body: 'After the reload.' } } });
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  // Last: it stops inventory.
  it('ends a subscription with SUBGRAPH_UNAVAILABLE when its subgraph goes away', async () => {
    const before = inventoryPubSub().subscriberCount(STOCK_CHANGED);
    const subscription = subscribeOn(wsClient(), STOCK, { ids: [product] });
    await subscribersOf(inventoryPubSub(), STOCK_CHANGED, before + 1);
    await supergraph.subgraphs.inventory!.stop();
    const event = await subscription.next();
    expect(event.errors?.[0]?.extensions?.code).toBe('SUBGRAPH_UNAVAILABLE');
    expect(await subscription.ended()).toEqual({ completed: true });
  });
});
