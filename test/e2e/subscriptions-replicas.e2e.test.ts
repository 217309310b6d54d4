import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createClient } from 'graphql-ws';
import { Redis } from 'ioredis';
import { envPrefix } from '../../shared/config/config.js';
import type { StoreConfig } from '../../shared/config/subgraph-config.js';
import { seedId } from '../../shared/store/seed.js';
import { accounts } from '../../subgraphs/accounts/index.js';
import { SEED_PASSWORD } from '../../subgraphs/accounts/seed.js';
import { catalog } from '../../subgraphs/catalog/index.js';
import { STOCK_CHANGED } from '../../subgraphs/inventory/resolvers/stock.resolver.js';
import { REVIEW_ADDED } from '../../subgraphs/reviews/resolvers/review.resolver.js';
import { ensureBuilt } from '../support/built.js';
import { scrape } from '../support/metrics.js';
import { freshStore } from '../support/postgres.js';
import { startGatewayProcess, startSubgraphProcess, type ListeningProcess } from '../support/processes.js';
import { postGraphQL, startTestSubgraph, type TestSubgraph } from '../support/subgraph.js';
import {
  scrapedSubscribersOf,
  subscribeOn,
  subscribeOverMultipart,
  subscribeOverSse,
  type ClosableSubscription,
} from '../support/subscriptions.js';

/*
 * Subscriptions across replicas (issue 16): two inventory and two reviews processes, each pair
 * on one PostgreSQL database and one Redis PubSub, and two gateway processes, A routed to the
 * first replicas and B to the second. Clients on each transport subscribe through A; mutations
 * go alternately through A and B, so half the events are published by a process the
 * subscriptions are not on and reach it through Redis only. Each client sees every one, in
 * order, joined with the other subgraphs' fields, exactly once.
 */

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PRODUCT = seedId('product', '300000000003');
const OTHER_PRODUCT = seedId('product', '300000000001');
const MUTATIONS = 6;
/** How long each event is waited for (room for a loaded machine). */
const EVENT_WAIT_MS = 10_000;
/** After the last event: how long a duplicate or stray event is given to show up. */
const QUIET_MS = 1_000;

const STOCK = `subscription($ids: [ID!]) { stockChanged(productIds: $ids) { quantity inStock product { name price { amount currency } } } }`;
const ADJUST = `mutation AdjustStock($id: ID!, $delta: Int!) { adjustStock(productId: $id, delta: $delta) { quantity } }`;
const REVIEWS = `subscription($p: ID) { reviewAdded(productId: $p) { id body rating author { username name } product { name } } }`;
const ADD_REVIEW = `mutation AddReview($input: AddReviewInput!) { addReview(input: $input) { id } }`;
const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`;

/** The URL a subgraph process is given for its store (`<NAME>_DATABASE_URL`). */
function databaseUrl(store: StoreConfig): string {
  if (store.kind !== 'postgresql') throw new Error('replicas share a PostgreSQL database');
  const url = new URL(store.clientUrl);
  url.pathname = `/${store.dbName}`;
  return url.toString();
}

describe('subscriptions across subgraph replicas and gateways, on PostgreSQL and Redis', () => {
  const prefix = `replicas-test-${randomBytes(4).toString('hex')}:`;
  const redis = new Redis(REDIS_URL);
  const stores = { inventory: freshStore('inventory'), reviews: freshStore('reviews') };
  const inProcess: TestSubgraph[] = [];
  const replicas: ListeningProcess[] = [];
  const gateways: ListeningProcess[] = [];
  const open: ClosableSubscription[] = [];
  let inventory: [ListeningProcess, ListeningProcess];
  let reviews: [ListeningProcess, ListeningProcess];
  let gatewayA: ListeningProcess;
  let gatewayB: ListeningProcess;
  let staff: Record<string, string>;
  let customer: Record<string, string>;

  const replica = async (name: 'inventory' | 'reviews') => {
    const started = await startSubgraphProcess(name, {
      [`${envPrefix(name)}_DATABASE_URL`]: databaseUrl(stores[name].store),
      REDIS_URL,
      REDIS_PREFIX: prefix,
    });
    replicas.push(started);
    return started;
  };

  beforeAll(async () => {
    await ensureBuilt();
    const shared = { url: REDIS_URL, clusterNodes: undefined, prefix };
    inProcess.push(...(await Promise.all([accounts, catalog].map((definition) => startTestSubgraph(definition, { redis: shared })))));
    const [accountsSubgraph, catalogSubgraph] = inProcess as [TestSubgraph, TestSubgraph];
    // The first replicas migrate and seed their stores; the second find them ready, as a scaled-out deploy does.
    const first = await Promise.all([replica('inventory'), replica('reviews')]);
    const second = await Promise.all([replica('inventory'), replica('reviews')]);
    inventory = [first[0], second[0]];
    reviews = [first[1], second[1]];
    const gateway = async (inventoryReplica: ListeningProcess, reviewsReplica: ListeningProcess) => {
      const started = await startGatewayProcess({
        ACCOUNTS_URL: accountsSubgraph.url,
        CATALOG_URL: catalogSubgraph.url,
        INVENTORY_URL: inventoryReplica.url,
        REVIEWS_URL: reviewsReplica.url,
        REDIS_URL,
        REDIS_PREFIX: prefix,
        RATE_LIMIT: '0',
        // Longer than the test: an event that only the next heartbeat would deliver counts as missing.
        SUBSCRIPTION_KEEPALIVE_MS: '120000',
      });
      gateways.push(started);
      return started;
    };
    [gatewayA, gatewayB] = await Promise.all([gateway(inventory[0], reviews[0]), gateway(inventory[1], reviews[1])]);
    const login = async (username: string) => {
      const { data, errors } = await postGraphQL(gatewayA.url, LOGIN, { e: `${username}@example.com`, p: SEED_PASSWORD });
      if (!data?.login) throw new Error(`login as ${username} failed: ${JSON.stringify(errors)}`);
      return { authorization: `Bearer ${data.login.accessToken as string}` };
    };
    [staff, customer] = await Promise.all([login('grace'), login('alan')]);
  }, 300_000);

  afterAll(async () => {
    open.forEach((subscription) => subscription.close());
    // Gateways first: their WebSockets to the replicas would hold the replicas' drain.
    await Promise.all(gateways.map((gateway) => gateway.stop()));
    await Promise.all(replicas.map((subgraph) => subgraph.stop()));
    await Promise.all(inProcess.map((subgraph) => subgraph.stop()));
    await Promise.all(Object.values(stores).map((store) => store.drop()));
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  /** A client on each transport, subscribed through gateway A with the customer's token. */
  const subscribeOnEveryTransport = (query: string, variables: Record<string, unknown>) => {
    const ws = createClient({
      url: gatewayA.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: customer,
      retryAttempts: 0,
      lazy: true,
    });
    const subscriptions: Record<string, ClosableSubscription> = {
      'graphql-ws': { ...subscribeOn(ws, query, variables), close: () => void ws.dispose() },
      sse: subscribeOverSse(gatewayA.url, query, variables, customer),
      multipart: subscribeOverMultipart(gatewayA.url, query, variables, customer),
    };
    open.push(...Object.values(subscriptions));
    return subscriptions;
  };

  /** Each transport's next `count` events, naming the transport that had none. */
  const eventsOf = async (subscriptions: Record<string, ClosableSubscription>, count: number) =>
    Object.fromEntries(
      await Promise.all(
        Object.entries(subscriptions).map(async ([transport, subscription]) => {
          const events = [];
          try {
            for (let i = 0; i < count; i++) events.push(await subscription.next(EVENT_WAIT_MS));
          } catch (error) {
            throw new Error(`${transport}, after ${JSON.stringify(events)}: ${(error as Error).message}`, { cause: error });
          }
          return [transport, events] as const;
        }),
      ),
    );

  /** No duplicate or stray event comes after the last one, within `QUIET_MS`. */
  const expectNothingMore = async (subscriptions: Record<string, ClosableSubscription>) => {
    await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
    expect(Object.fromEntries(Object.entries(subscriptions).map(([transport, s]) => [transport, s.unread()]))).toEqual({
      'graphql-ws': 0,
      sse: 0,
      multipart: 0,
    });
  };

  const channelSubscribers = async (subgraph: string, topic: string) =>
    ((await redis.pubsub('NUMSUB', `${prefix}${subgraph}:events:${topic}`)) as [string, number])[1];

  /** Operations a replica served whose name (the gateway's `<Operation>__<subgraph>__<n>` for a fetch) starts with `prefixOfName`. */
  const operationsServed = async (replicaProcess: ListeningProcess, prefixOfName: string) =>
    (await scrape(`${replicaProcess.origin}/metrics`))
      .find('tessera_subgraph_sql_statements_per_operation_count')
      .filter((sample) => sample.labels.operation!.startsWith(prefixOfName))
      .reduce((sum, sample) => sum + sample.value, 0);

  /** Closes the clients, and checks the subscriptions left the replica and its Redis channel with them. */
  const closeAndCheckLeft = async (
    subscriptions: Record<string, ClosableSubscription>,
    replicaProcess: ListeningProcess,
    subgraph: string,
    topic: string,
  ) => {
    Object.values(subscriptions).forEach((subscription) => subscription.close());
    await scrapedSubscribersOf(`${replicaProcess.origin}/metrics`, topic, 0, 10_000);
    const deadline = Date.now() + 5_000;
    while ((await channelSubscribers(subgraph, topic)) !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await channelSubscribers(subgraph, topic)).toBe(0);
  };

  it('delivers every adjustStock made through either gateway to each transport on A, in order, joined with catalog, exactly once', async () => {
    const subscriptions = subscribeOnEveryTransport(STOCK, { ids: [PRODUCT] });
    await scrapedSubscribersOf(`${inventory[0].origin}/metrics`, STOCK_CHANGED, 3);
    // One process holds the channel: the one the subscriptions are on.
    expect(await channelSubscribers('inventory', STOCK_CHANGED)).toBe(1);
    const { data: products } = await postGraphQL(gatewayB.url, 'query($id: ID!) { product(id: $id) { name price { amount currency } } }', {
      id: PRODUCT,
    });
    const joined = products!.product as Record<string, unknown>;
    expect(joined).toEqual({ name: expect.any(String), price: { amount: expect.any(Number), currency: expect.any(String) } });

    const quantities: number[] = [];
    for (let i = 0; i < MUTATIONS; i++) {
      const via = i % 2 ? gatewayB : gatewayA;
      const { data, errors } = await postGraphQL(via.url, ADJUST, { id: PRODUCT, delta: i + 1 }, staff);
      expect(errors).toBeUndefined();
      quantities.push(data!.adjustStock.quantity as number);
      // Another product's adjustment, through B: published too, and filtered out for these subscribers.
      if (i === 2) expect((await postGraphQL(gatewayB.url, ADJUST, { id: OTHER_PRODUCT, delta: 1 }, staff)).errors).toBeUndefined();
    }
    const expected = quantities.map((quantity) => ({ data: { stockChanged: { quantity, inStock: true, product: joined } } }));
    expect(await eventsOf(subscriptions, MUTATIONS)).toEqual({ 'graphql-ws': expected, sse: expected, multipart: expected });
    await expectNothingMore(subscriptions);
    // The routing held: each replica served the adjustments made through its own gateway.
    expect(await operationsServed(inventory[0], 'AdjustStock__inventory__')).toBe(MUTATIONS / 2);
    expect(await operationsServed(inventory[1], 'AdjustStock__inventory__')).toBe(MUTATIONS / 2 + 1);
    await closeAndCheckLeft(subscriptions, inventory[0], 'inventory', STOCK_CHANGED);
  });

  it('delivers every addReview made through either gateway to each transport on A, with the author from accounts, exactly once', async () => {
    const subscriptions = subscribeOnEveryTransport(REVIEWS, { p: PRODUCT });
    await scrapedSubscribersOf(`${reviews[0].origin}/metrics`, REVIEW_ADDED, 3);
    expect(await channelSubscribers('reviews', REVIEW_ADDED)).toBe(1);
    const { data: me } = await postGraphQL(gatewayB.url, '{ me { username name } }', undefined, customer);
    expect(me!.me).toEqual({ username: 'alan', name: expect.any(String) });
    const { data: products } = await postGraphQL(gatewayA.url, 'query($id: ID!) { product(id: $id) { name } }', { id: PRODUCT });

    const added: { id: string; body: string; rating: number }[] = [];
    for (let i = 0; i < MUTATIONS; i++) {
      const via = i % 2 ? gatewayB : gatewayA;
      const input = { productId: PRODUCT, body: `Review ${i + 1}, through gateway ${i % 2 ? 'B' : 'A'}.`, rating: 1 + (i % 5) };
      const { data, errors } = await postGraphQL(via.url, ADD_REVIEW, { input }, customer);
      expect(errors).toBeUndefined();
      added.push({ id: data!.addReview.id as string, body: input.body, rating: input.rating });
    }
    const expected = added.map((review) => ({
      data: { reviewAdded: { ...review, author: me!.me, product: products!.product } },
    }));
    expect(await eventsOf(subscriptions, MUTATIONS)).toEqual({ 'graphql-ws': expected, sse: expected, multipart: expected });
    await expectNothingMore(subscriptions);
    expect(await operationsServed(reviews[0], 'AddReview__reviews__')).toBe(MUTATIONS / 2);
    expect(await operationsServed(reviews[1], 'AddReview__reviews__')).toBe(MUTATIONS / 2);
    await closeAndCheckLeft(subscriptions, reviews[0], 'reviews', REVIEW_ADDED);
  });
});
