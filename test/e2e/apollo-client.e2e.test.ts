import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApolloClient, ApolloLink, CombinedProtocolErrors, gql, HttpLink, InMemoryCache, type ErrorLike } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { createClient, type Client } from 'graphql-ws';
import { seedId } from '../../shared/store/seed.js';
import { STOCK_CHANGED } from '../../subgraphs/inventory/resolvers/stock.resolver.js';
import { startTestSupergraph, type TestSupergraph } from '../support/supergraph.js';
import { expiringStaffToken, subscribersOf } from '../support/subscriptions.js';

/**
 * Apollo Client (the `@apollo/client` package, in Node) subscribing through the gateway (issue
 * 16): over HTTP with `HttpLink`, which asks for Apollo's multipart subscriptions, and over
 * WebSocket with `GraphQLWsLink`. Each event of `stockChanged` carries catalog's fields joined,
 * and lands in Apollo's normalized cache.
 */

const product = seedId('product', '300000000002');
const ADJUST = `mutation($id: ID!, $delta: Int!) { adjustStock(productId: $id, delta: $delta) { quantity } }`;
const STOCK = gql`
  subscription StockChanged($ids: [ID!]) {
    stockChanged(productIds: $ids) {
      quantity
      inStock
      product {
        id
        name
        quantity
        price {
          amount
          currency
        }
      }
    }
  }
`;
const PRODUCT = gql`
  query ProductStock($id: ID!) {
    product(id: $id) {
      id
      name
      quantity
    }
  }
`;

interface StockChanged {
  stockChanged: {
    quantity: number;
    inStock: boolean;
    product: { id: string; name: string; quantity: number; price: { amount: number; currency: string } };
  };
}
interface ProductStock {
  product: { id: string; name: string; quantity: number } | null;
}

/** What an Apollo Client subscription delivered, read one at a time, each within a bound. */
interface Heard {
  next(timeoutMs?: number): Promise<{ data?: StockChanged; error?: ErrorLike }>;
  completed(timeoutMs?: number): Promise<void>;
  unsubscribe(): void;
}

function listen(client: ApolloClient, variables: { ids: string[] }): Heard {
  const results: { data?: StockChanged; error?: ErrorLike }[] = [];
  let done = false;
  let wake: (() => void) | undefined;
  const subscription = client.subscribe<StockChanged>({ query: STOCK, variables }).subscribe({
    next: (result) => void (results.push(result), wake?.()),
    error: (error: unknown) => void (results.push({ error: error as ErrorLike }), wake?.()),
    complete: () => void ((done = true), wake?.()),
  });
  const waitFor = async <T>(ready: () => T | undefined, timeoutMs: number, what: string): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = ready();
      if (value !== undefined) return value;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms`);
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
  };
  return {
    next: (timeoutMs = 5_000) => waitFor(() => results.shift(), timeoutMs, 'result'),
    completed: (timeoutMs = 5_000) => waitFor(() => (done ? true : undefined), timeoutMs, 'completion').then(() => undefined),
    unsubscribe: () => subscription.unsubscribe(),
  };
}

describe('Apollo Client subscribing through the gateway', () => {
  let supergraph: TestSupergraph;
  let staff: Record<string, string>;
  const wsClients: Client[] = [];

  beforeAll(async () => {
    // Heartbeats a minute apart: an event must reach Apollo Client on its own, not when the next part comes.
    supergraph = await startTestSupergraph({ protection: { rateLimit: { enabled: false } }, subscriptions: { keepAliveMs: 60_000 } });
    staff = await supergraph.loginAs('grace');
  }, 120_000);
  afterAll(async () => {
    await Promise.all(wsClients.map((client) => client.dispose()));
    await supergraph?.stop();
  });

  const inventoryPubSub = () => supergraph.subgraphs.inventory!.pubSub;
  const adjust = async (delta: number) => {
    const { data, errors } = await supergraph.query(ADJUST, { id: product, delta }, staff);
    expect(errors).toBeUndefined();
    return data!.adjustStock.quantity as number;
  };
  const apollo = (link: ApolloLink) => new ApolloClient({ link, cache: new InMemoryCache() });
  const httpLink = (url: string, headers: Record<string, string> = {}) => new HttpLink({ uri: url, headers });
  const wsLink = (url: string, connectionParams: Record<string, unknown>) => {
    const client = createClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams, retryAttempts: 0 });
    wsClients.push(client);
    return new GraphQLWsLink(client);
  };

  /** Subscribes, makes one adjustment, and checks the event and the cache that Apollo Client updated. */
  async function receivesAnAdjustment(client: ApolloClient) {
    const before = (await client.query<ProductStock>({ query: PRODUCT, variables: { id: product } })).data!.product!;
    const subscribers = inventoryPubSub().subscriberCount(STOCK_CHANGED);
    const heard = listen(client, { ids: [product] });
    await subscribersOf(inventoryPubSub(), STOCK_CHANGED, subscribers + 1);
    const quantity = await adjust(-1);
    expect(quantity).toBe(before.quantity - 1);
    const event = await heard.next();
    expect(event.error).toBeUndefined();
    expect(event.data!.stockChanged).toEqual({
      __typename: 'StockChange',
      quantity,
      inStock: quantity > 0,
      product: {
        __typename: 'Product',
        id: product,
        name: before.name,
        quantity,
        price: { __typename: 'Money', amount: expect.any(Number), currency: 'USD' },
      },
    });
    // The event's product is normalized into the cache: the earlier query reads the new quantity.
    expect(client.readQuery<ProductStock>({ query: PRODUCT, variables: { id: product } })?.product).toEqual({
      __typename: 'Product',
      id: product,
      name: before.name,
      quantity,
    });
    heard.unsubscribe();
    await subscribersOf(inventoryPubSub(), STOCK_CHANGED, subscribers);
  }

  it('receives a multipart subscription over HttpLink as the event happens, and updates its cache', async () => {
    await receivesAnAdjustment(apollo(httpLink(supergraph.url, staff)));
  });

  it('receives a subscription over GraphQLWsLink, the token in connection_init, and updates its cache', async () => {
    await receivesAnAdjustment(apollo(wsLink(supergraph.url, staff)));
  });

  it('skips the multipart heartbeats: the first result is the event', async () => {
    const beating = await supergraph.startGateway({ protection: { rateLimit: { enabled: false } }, subscriptions: { keepAliveMs: 50 } });
    const subscribers = inventoryPubSub().subscriberCount(STOCK_CHANGED);
    const heard = listen(apollo(httpLink(beating.url)), { ids: [product] });
    await subscribersOf(inventoryPubSub(), STOCK_CHANGED, subscribers + 1);
    // Several heartbeats go by before the event.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const quantity = await adjust(-1);
    const event = await heard.next();
    expect(event).toEqual({ data: expect.objectContaining({ stockChanged: expect.objectContaining({ quantity }) }) });
    heard.unsubscribe();
    await subscribersOf(inventoryPubSub(), STOCK_CHANGED, subscribers);
  });

  it('gets an ending error as Apollo’s transport error (payload null), then completes: shutdown', async () => {
    const stopping = await supergraph.startGateway({ protection: { rateLimit: { enabled: false } } });
    const subscribers = inventoryPubSub().subscriberCount(STOCK_CHANGED);
    const heard = listen(apollo(httpLink(stopping.url)), { ids: [product] });
    await subscribersOf(inventoryPubSub(), STOCK_CHANGED, subscribers + 1);
    await stopping.gateway.endSubscriptions();
    const { error } = await heard.next();
    expect(CombinedProtocolErrors.is(error)).toBe(true);
    expect((error as CombinedProtocolErrors).errors.map((e) => e.extensions?.code)).toEqual(['SHUTTING_DOWN']);
    await heard.completed();
    await subscribersOf(inventoryPubSub(), STOCK_CHANGED, subscribers);
  });

  it('gets an ending error as Apollo’s transport error: the access token expired', async () => {
    const token = await expiringStaffToken(2);
    const heard = listen(apollo(httpLink(supergraph.url, { authorization: `Bearer ${token}` })), { ids: [product] });
    const { error } = await heard.next(6_000);
    expect(CombinedProtocolErrors.is(error)).toBe(true);
    expect((error as CombinedProtocolErrors).errors.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    await heard.completed();
  });
});
