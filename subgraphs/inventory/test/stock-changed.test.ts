import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import type { Client } from 'graphql-ws';
import { Redis } from 'ioredis';
import { signedRequestHeaders } from '../../../shared/identity/signed-requests.js';
import { createLifecycle } from '../../../shared/lifecycle/lifecycle.js';
import { TEST_SIGNING_SECRET, testIdentity } from '../../../test/support/config.js';
import { startTestSubgraph, subgraphForSuite, testLogger, type TestSubgraph } from '../../../test/support/subgraph.js';
import { signedClient, subscribeOn, subscribersOf } from '../../../test/support/subscriptions.js';
import { inventory } from '../index.js';
import { STOCK_CHANGED } from '../resolvers/stock.resolver.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const staff = testIdentity('grace', 'staff');
const ADJUST = `mutation($id: ID!, $delta: Int!) { adjustStock(productId: $id, delta: $delta) { quantity } }`;
const STOCK_CHANGED_QUERY = `subscription($ids: [ID!]) { stockChanged(productIds: $ids) { quantity inStock product { id quantity } } }`;
const productA = '5d6a7f10-0c1e-4a43-9d43-2d1f6f0b0001';
const productB = '5d6a7f10-0c1e-4a43-9d43-2d1f6f0b0002';

describe('Subscription.stockChanged over graphql-transport-ws', () => {
  const subgraph = subgraphForSuite(inventory, { seed: false });
  const clients: Client[] = [];
  const open = (...args: Parameters<typeof signedClient>) => {
    const client = signedClient(...args);
    clients.push(client);
    return client;
  };
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.dispose()));
    // The server hears of it a moment later: a test counting subscribers starts from none.
    await subscribersOf(subgraph.pubSub, STOCK_CHANGED, 0);
  });

  it('hears each committed adjustment with its quantity, and nothing of one refused', async () => {
    const variables = { ids: [productA] };
    const events = subscribeOn(open(subgraph.url, STOCK_CHANGED_QUERY, variables), STOCK_CHANGED_QUERY, variables);
    await subscribersOf(subgraph.pubSub, STOCK_CHANGED);
    expect((await subgraph.query(ADJUST, { id: productA, delta: 5 }, staff)).errors).toBeUndefined();
    // Each event gets a context of its own: `product.quantity` comes from a fresh loader, not the first event's cache.
    expect((await events.next()).data).toEqual({ stockChanged: { quantity: 5, inStock: true, product: { id: productA, quantity: 5 } } });
    // Refused (not enough stock), then another product's change, then one more: the next event is the last one.
    expect((await subgraph.query(ADJUST, { id: productA, delta: -100 }, staff)).errors?.[0]?.extensions?.code).toBe('INSUFFICIENT_STOCK');
    await subgraph.query(ADJUST, { id: productB, delta: 3 }, staff);
    await subgraph.query(ADJUST, { id: productA, delta: -5 }, staff);
    expect((await events.next()).data).toEqual({ stockChanged: { quantity: 0, inStock: false, product: { id: productA, quantity: 0 } } });
  });

  it('without productIds hears every product', async () => {
    const events = subscribeOn(open(subgraph.url, STOCK_CHANGED_QUERY), STOCK_CHANGED_QUERY);
    await subscribersOf(subgraph.pubSub, STOCK_CHANGED);
    await subgraph.query(ADJUST, { id: productB, delta: 1 }, staff);
    expect((await events.next()).data?.stockChanged).toMatchObject({ product: { id: productB } });
  });

  it('refuses a connection whose init payload is not signed, or signed with another secret (4403)', async () => {
    const unsigned = subscribeOn(open(subgraph.url, STOCK_CHANGED_QUERY, {}, { connectionParams: {} }), STOCK_CHANGED_QUERY);
    expect(await unsigned.ended()).toEqual({ error: expect.objectContaining({ code: 4403 }) });
    const forged = signedRequestHeaders(
      'another-secret-0123456789abcdef0123456789',
      JSON.stringify({ query: STOCK_CHANGED_QUERY, variables: {} }),
    );
    const refused = subscribeOn(open(subgraph.url, STOCK_CHANGED_QUERY, {}, { connectionParams: forged }), STOCK_CHANGED_QUERY);
    expect(await refused.ended()).toEqual({ error: expect.objectContaining({ code: 4403 }) });
  });

  it('serves one operation per signature: a second subscribe on the connection is UNAUTHENTICATED', async () => {
    const client = open(subgraph.url, STOCK_CHANGED_QUERY);
    const first = subscribeOn(client, STOCK_CHANGED_QUERY);
    await subscribersOf(subgraph.pubSub, STOCK_CHANGED);
    const second = subscribeOn(client, STOCK_CHANGED_QUERY);
    expect(await second.ended()).toEqual({
      error: [expect.objectContaining({ message: expect.stringMatching(/already served/), extensions: { code: 'UNAUTHENTICATED' } })],
    });
    // The first goes on.
    await subgraph.query(ADJUST, { id: productB, delta: 1 }, staff);
    expect((await first.next()).data?.stockChanged).toMatchObject({ product: { id: productB } });
  });

  it('refuses a subscribe whose query is not the one signed', async () => {
    const signedFor = signedRequestHeaders(TEST_SIGNING_SECRET, JSON.stringify({ query: STOCK_CHANGED_QUERY, variables: {} }));
    const other = `subscription { stockChanged { quantity } }`;
    const refused = subscribeOn(open(subgraph.url, other, {}, { connectionParams: signedFor }), other);
    expect(await refused.ended()).toEqual({
      error: [
        expect.objectContaining({
          message: expect.stringMatching(/not the one the gateway signed/),
          extensions: { code: 'UNAUTHENTICATED' },
        }),
      ],
    });
  });

  it('serves only subscriptions over WebSocket', async () => {
    const query = `{ lowStock { id } }`;
    const refused = subscribeOn(open(subgraph.url, query), query);
    expect(await refused.ended()).toEqual({ error: [expect.objectContaining({ extensions: { code: 'BAD_REQUEST' } })] });
  });
});

describe('stockChanged across replicas on one Redis', () => {
  const prefix = `subscriptions-test-${randomBytes(4).toString('hex')}:`;
  const redis = { url: REDIS_URL, clusterNodes: undefined, prefix };
  let replicas: TestSubgraph[] = [];
  const client = new Redis(REDIS_URL);

  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.stop()));
    client.disconnect();
  });

  it('hears on one replica the adjustment made on the other; the channel goes when its last subscriber leaves; stop completes it', async () => {
    replicas = await Promise.all([
      startTestSubgraph(inventory, { seed: false, redis }),
      startTestSubgraph(inventory, { seed: false, redis }),
    ]);
    const [listening, adjusting] = replicas as [TestSubgraph, TestSubgraph];
    const channel = `${prefix}inventory:events:${STOCK_CHANGED}`;
    const subscriber = signedClient(listening.url, STOCK_CHANGED_QUERY);
    const events = subscribeOn(subscriber, STOCK_CHANGED_QUERY);
    await subscribersOf(listening.pubSub, STOCK_CHANGED);
    expect(await client.pubsub('NUMSUB', channel)).toEqual([channel, 1]);
    await adjusting.query(ADJUST, { id: productA, delta: 7 }, staff);
    // The event's quantity is the adjusting replica's; product.quantity is read from the listening one's own test database, which has none.
    expect((await events.next()).data?.stockChanged).toEqual({ quantity: 7, inStock: true, product: { id: productA, quantity: 0 } });
    // Stopping the replica closes its WebSockets (1001, going away) and unsubscribes.
    await listening.stop();
    replicas = [adjusting];
    expect(await events.ended()).toEqual({ error: expect.objectContaining({ code: 1001 }) });
    expect(await client.pubsub('NUMSUB', channel)).toEqual([channel, 0]);
    await subscriber.dispose();
  });
});

describe('stockChanged when the subgraph process is told to stop', () => {
  it('completes its subscriptions at SIGTERM (1001, going away) instead of letting them hold the drain', async () => {
    const signals = new EventEmitter();
    const exits: number[] = [];
    // A grace longer than the test: only closing the WebSockets lets the drain end in time.
    const lifecycle = createLifecycle({ logger: testLogger, graceMs: 30_000, delayMs: 0, signals, exit: (code) => exits.push(code) });
    const subgraph = await startTestSubgraph(inventory, { seed: false, lifecycle });
    try {
      lifecycle.onShutdown('subgraph', subgraph.stop);
      lifecycle.serving(subgraph.server);
      const client = signedClient(subgraph.url, STOCK_CHANGED_QUERY);
      const events = subscribeOn(client, STOCK_CHANGED_QUERY);
      await subscribersOf(subgraph.pubSub, STOCK_CHANGED);
      const shutdown = lifecycle.shutdown('SIGTERM');
      expect(await events.ended()).toEqual({ error: expect.objectContaining({ code: 1001 }) });
      expect(await shutdown).toBe(0);
      expect(exits).toEqual([0]);
      await client.dispose();
    } finally {
      if (!exits.length) await subgraph.stop();
    }
  });
});
