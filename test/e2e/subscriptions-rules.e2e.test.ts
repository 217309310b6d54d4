import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { repoRoot } from '../../shared/config/paths.js';
import { closeServer } from '../../shared/http/http.js';
import { seedId } from '../../shared/store/seed.js';
import { startSubgraph } from '../../shared/subgraph/boot.js';
import { STOCK_CHANGED } from '../../subgraphs/inventory/resolvers/stock.resolver.js';
import { REVIEW_ADDED } from '../../subgraphs/reviews/resolvers/review.resolver.js';
import { PROMOTION_STARTED } from '../fixtures/promotions/promotions.resolver.js';
import { promotions as promotionsSubgraph } from '../fixtures/promotions/index.js';
import { testSubgraphConfig } from '../support/config.js';
import { scrape } from '../support/metrics.js';
import { testLogger } from '../support/subgraph.js';
import { startTestSupergraph, type TestSupergraph } from '../support/supergraph.js';
import { subscribeOn, subscribersOf, type TestSubscription } from '../support/subscriptions.js';

/**
 * The rules a subscription is held to (issue 16), each through a started gateway: slow
 * consumers, per-user limits on every transport, idle connections, keep-alives, a failed join
 * for one event, the rate limit and trusted documents at subscribe, authorization of joined
 * fields, the metrics by transport and subgraph, and the traces of events.
 */

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const MANIFEST = join(repoRoot, 'sdk/generated/persisted-documents.json');
const product = seedId('product', '300000000002');
const ADJUST = `mutation($id: ID!, $delta: Int!) { adjustStock(productId: $id, delta: $delta) { quantity } }`;
const QUANTITY = `subscription($ids: [ID!]) { stockChanged(productIds: $ids) { quantity } }`;
/** Each event some 100 KiB: the product's 5,000-character description, twenty times over. */
const BIG = `subscription($ids: [ID!]) { stockChanged(productIds: $ids) { quantity product { ${Array.from(
  { length: 20 },
  (_, i) => `d${i}: description`,
).join(' ')} } } }`;

/** The promotions fixture opens no store: one nothing listens on shows it never tries. */
const unreachableStore = { kind: 'postgresql', clientUrl: 'postgres://postgres@127.0.0.1:9/postgres', dbName: 'never_opened' } as const;

/** How long the `slow` proxy holds each request to the subgraph behind it. */
const SLOW_JOIN_MS = 300;

type Frame = { id?: string; type: string; payload?: any };

/** A graphql-transport-ws connection spoken by hand, so a test can stop reading and count pings. */
async function rawSocket(url: string, connectionParams: Record<string, unknown> = {}) {
  const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const frames: Frame[] = [];
  let pings = 0;
  let closed: { code: number; reason: string } | undefined;
  socket.on('message', (data) => frames.push(JSON.parse(String(data)) as Frame));
  socket.on('ping', () => pings++);
  socket.on('close', (code, reason) => (closed = { code, reason: String(reason) }));
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const until = async <T>(ready: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = ready();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms (frames: ${JSON.stringify(frames).slice(-600)})`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  socket.send(JSON.stringify({ type: 'connection_init', payload: connectionParams }));
  await until(() => frames.find((f) => f.type === 'connection_ack'), 'connection_ack');
  return {
    socket,
    frames,
    pings: () => pings,
    subscribe: (id: string, query: string, variables: Record<string, unknown> = {}) =>
      socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } })),
    until,
    closed: (timeoutMs?: number) => until(() => closed, 'close', timeoutMs),
  };
}

/** A POST whose response is read only when the test says (`resume`), so its events back up. */
function pausedStream(url: string, body: unknown, accept: string) {
  return new Promise<{ response: IncomingMessage; text: () => string; ended: Promise<void> }>((resolve, reject) => {
    const sent = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', accept } }, (response) => {
      response.pause();
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      const ended = new Promise<void>((done) => response.on('end', done).on('close', done));
      resolve({ response, text: () => text, ended });
    });
    sent.on('error', reject);
    sent.end(JSON.stringify(body));
  });
}

/** Reads a streamed response until `pattern` shows in it (bounded), and cancels it. */
async function readUntil(response: Response, pattern: RegExp, timeoutMs = 5_000): Promise<string> {
  const reader = response.body!.getReader();
  let text = '';
  const deadline = Date.now() + timeoutMs;
  const timer = setTimeout(() => void reader.cancel(), timeoutMs);
  try {
    while (!pattern.test(text) && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString('utf8');
    }
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => undefined);
  }
  return text;
}

const codeOf = (errors: unknown) => (errors as { extensions?: { code?: string } }[] | undefined)?.[0]?.extensions?.code;

describe('the rules a subscription is held to', () => {
  let supergraph: TestSupergraph;
  let staff: Record<string, string>;
  const clients: Client[] = [];
  const sockets: WebSocket[] = [];
  const proxies: Server[] = [];

  beforeAll(async () => {
    supergraph = await startTestSupergraph({ protection: { rateLimit: { enabled: false } } });
    staff = await supergraph.loginAs('grace');
    const { errors } = await supergraph.query(
      'mutation($id: ID!, $input: UpdateProductInput!) { updateProduct(id: $id, input: $input) { id } }',
      { id: product, input: { description: 'x'.repeat(5_000) } },
      staff,
    );
    expect(errors).toBeUndefined();
  }, 120_000);
  afterAll(async () => {
    for (const socket of sockets) socket.terminate();
    await Promise.all(proxies.map((proxy) => closeServer(proxy)));
    await Promise.all(clients.map((c) => c.dispose()));
    await supergraph?.stop();
  });

  const wsClient = (url: string, connectionParams: Record<string, unknown> = {}) => {
    const client = createClient({
      url: url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams,
      retryAttempts: 0,
      lazy: true,
    });
    clients.push(client);
    return client;
  };
  const raw = async (url: string, connectionParams?: Record<string, unknown>) => {
    const opened = await rawSocket(url, connectionParams);
    sockets.push(opened.socket);
    return opened;
  };
  const inventory = () => supergraph.subgraphs.inventory!.pubSub;
  const adjust = async (delta: number) => {
    const { data, errors } = await supergraph.query(ADJUST, { id: product, delta }, staff);
    expect(errors).toBeUndefined();
    return data!.adjustStock.quantity as number;
  };
  const sse = (
    url: string,
    query: string,
    variables: Record<string, unknown>,
    headers: Record<string, string> = {},
    accept = 'text/event-stream',
  ) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept, ...headers },
      body: JSON.stringify({ query, variables }),
    });
  /**
   * Publishes stock events (bounded in count), each once `reader` has it, until the gateway has
   * let go of one of its subscriptions on inventory: the slow reader's, once its queue
   * overflowed. In step with a reader joining the same fields, the slow subscriber's joins keep
   * pace too, so what backs up is what it has not read. Then one more event reaches the reader.
   */
  const publishUntilOneLeaves = async (subscribers: number, reader: TestSubscription) => {
    let published = 0;
    while (inventory().subscriberCount(STOCK_CHANGED) === subscribers && published < 400) {
      await inventory().publish(STOCK_CHANGED, { productId: product, quantity: published });
      expect((await reader.next()).data?.stockChanged.quantity).toBe(published);
      published++;
    }
    expect(inventory().subscriberCount(STOCK_CHANGED)).toBe(subscribers - 1);
    await inventory().publish(STOCK_CHANGED, { productId: product, quantity: published });
    expect((await reader.next()).data?.stockChanged.quantity).toBe(published);
    return published;
  };

  it('ends a WebSocket subscriber that stops reading with SLOW_CONSUMER, and keeps serving the others on its topic', async () => {
    const served = await supergraph.startGateway({ protection: { rateLimit: { enabled: false } }, subscriptions: { queueMax: 8 } });
    const before = inventory().subscriberCount(STOCK_CHANGED);
    const slow = await raw(served.url);
    slow.subscribe('slow', BIG, { ids: [product] });
    const reader = wsClient(served.url);
    const reading = subscribeOn(reader, BIG, { ids: [product] });
    await subscribersOf(inventory(), STOCK_CHANGED, before + 2);
    slow.socket.pause();

    // The reader gets every event, in order, while the slow one is let go, and after.
    const published = await publishUntilOneLeaves(before + 2, reading);

    slow.socket.resume();
    await slow.until(() => slow.frames.find((f) => f.id === 'slow' && f.type === 'complete'), 'complete');
    const events = slow.frames.filter((f) => f.id === 'slow' && f.type === 'next');
    const last = events.pop()!;
    expect(codeOf(last.payload.errors)).toBe('SLOW_CONSUMER');
    // What was not sent was dropped, not held: only what the socket had taken, and the queue, came.
    expect(events.length).toBeLessThan(published);
    expect(events.every((e) => e.payload.data.stockChanged.product.d0.length === 5_000)).toBe(true);

    const metrics = await scrape(served.metricsUrl!);
    const labels = { transport: 'graphql-ws', subgraph: 'inventory' };
    expect(metrics.value('tessera_gateway_subscriptions_slow_consumer_total', labels)).toBe(1);
    expect(metrics.value('tessera_gateway_subscription_events_total', { ...labels, outcome: 'dropped' })).toBeGreaterThanOrEqual(1);
    expect(metrics.value('tessera_gateway_subscription_events_total', { ...labels, outcome: 'delivered' })).toBeGreaterThanOrEqual(
      published + 1,
    );
    // The reader's subscription is still running; the slow one's is not.
    expect(metrics.value('tessera_gateway_subscriptions_active', labels)).toBe(1);
    expect(metrics.value('tessera_gateway_subscription_connections_active', { transport: 'graphql-ws' })).toBe(2);
    await reader.dispose();
    await subscribersOf(inventory(), STOCK_CHANGED, before);
  }, 60_000);

  it('ends an SSE subscriber that stops reading with SLOW_CONSUMER: its events wait in the bounded queue, not the response', async () => {
    const served = await supergraph.startGateway({ protection: { rateLimit: { enabled: false } }, subscriptions: { queueMax: 8 } });
    const before = inventory().subscriberCount(STOCK_CHANGED);
    const slow = await pausedStream(served.url, { query: BIG, variables: { ids: [product] } }, 'text/event-stream');
    expect(slow.response.statusCode).toBe(200);
    await subscribersOf(inventory(), STOCK_CHANGED, before + 1);
    const reader = wsClient(served.url);
    const reading = subscribeOn(reader, BIG, { ids: [product] });
    await subscribersOf(inventory(), STOCK_CHANGED, before + 2);

    const published = await publishUntilOneLeaves(before + 2, reading);

    slow.response.resume();
    await slow.ended;
    const events = [...slow.text().matchAll(/event: next\ndata: (.*)\n\n/g)].map((m) => JSON.parse(m[1]!));
    expect(codeOf(events.pop().errors)).toBe('SLOW_CONSUMER');
    expect(events.length).toBeLessThan(published);
    expect(slow.text()).toMatch(/event: complete\n/);
    const metrics = await scrape(served.metricsUrl!);
    expect(metrics.value('tessera_gateway_subscriptions_slow_consumer_total', { transport: 'sse', subgraph: 'inventory' })).toBe(1);
    await reader.dispose();
    await subscribersOf(inventory(), STOCK_CHANGED, before);
  }, 60_000);

  it('holds SUBSCRIPTIONS_PER_USER across a user’s connections and transports, and counts each user apart', async () => {
    const served = await supergraph.startGateway({ protection: { rateLimit: { enabled: false } }, subscriptions: { perUser: 2 } });
    const alan = await supergraph.loginAs('alan');
    const edsger = await supergraph.loginAs('edsger');
    const before = inventory().subscriberCount(STOCK_CHANGED);
    const first = await raw(served.url, alan);
    const second = await raw(served.url, alan);
    first.subscribe('a', QUANTITY, { ids: [product] });
    second.subscribe('b', QUANTITY, { ids: [product] });
    await subscribersOf(inventory(), STOCK_CHANGED, before + 2);

    first.subscribe('c', QUANTITY, { ids: [product] });
    const refused = await first.until(() => first.frames.find((f) => f.id === 'c' && f.type === 'error'), 'refusal');
    expect(codeOf(refused.payload)).toBe('SUBSCRIPTION_LIMIT_EXCEEDED');
    for (const accept of ['text/event-stream', 'multipart/mixed;subscriptionSpec="1.0",application/json']) {
      const answer = await sse(served.url, QUANTITY, { ids: [product] }, alan, accept);
      expect(answer.status).toBe(429);
      expect(codeOf(((await answer.json()) as { errors: unknown }).errors)).toBe('SUBSCRIPTION_LIMIT_EXCEEDED');
    }

    // Another user has places of their own; one given back is alan's again, on SSE too.
    const other = subscribeOn(wsClient(served.url, edsger), QUANTITY, { ids: [product] });
    await subscribersOf(inventory(), STOCK_CHANGED, before + 3);
    second.socket.send(JSON.stringify({ id: 'b', type: 'complete' }));
    await subscribersOf(inventory(), STOCK_CHANGED, before + 2);
    const stream = await sse(served.url, QUANTITY, { ids: [product] }, alan);
    expect(stream.status).toBe(200);
    await subscribersOf(inventory(), STOCK_CHANGED, before + 3);
    const quantity = await adjust(-1);
    expect((await other.next()).data?.stockChanged.quantity).toBe(quantity);
    expect(await readUntil(stream, /event: next\ndata: .*\n\n/)).toContain(`"quantity":${quantity}`);
    await subscribersOf(inventory(), STOCK_CHANGED, before + 2);
  });

  it('closes a WebSocket connection idle for SUBSCRIPTION_IDLE_TIMEOUT_MS, and pings on every transport every SUBSCRIPTION_KEEPALIVE_MS', async () => {
    const served = await supergraph.startGateway({
      protection: { rateLimit: { enabled: false } },
      subscriptions: { idleTimeoutMs: 400, keepAliveMs: 150 },
    });
    const before = inventory().subscriberCount(STOCK_CHANGED);
    const idle = await raw(served.url);
    const closed = await idle.closed(5_000);
    expect(closed.code).toBe(4400);
    expect(closed.reason).toMatch(/Idle/);

    // A connection holding a subscription is not idle: it stays, pinged.
    const busy = await raw(served.url);
    busy.subscribe('s', QUANTITY, { ids: [product] });
    await busy.until(() => (busy.pings() >= 3 ? true : undefined), 'three pings', 5_000);
    expect(busy.socket.readyState).toBe(WebSocket.OPEN);
    // Its subscription ends: the idle clock starts again.
    busy.socket.send(JSON.stringify({ id: 's', type: 'complete' }));
    expect((await busy.closed(5_000)).code).toBe(4400);

    const sseText = await readUntil(await sse(served.url, QUANTITY, { ids: [product] }), /^:\n\n/m);
    expect(sseText).toMatch(/(^|\n):\n\n/);
    const multipart = await sse(served.url, QUANTITY, { ids: [product] }, {}, 'multipart/mixed;subscriptionSpec="1.0",application/json');
    const multipartText = await readUntil(multipart, /\r\n\r\n\{\}/);
    expect(multipartText).toContain('--graphql\r\nContent-Type: application/json; charset=utf-8\r\n\r\n{}');
    // The streams read are cancelled: their subscriptions end (the next tests count subscribers).
    await subscribersOf(inventory(), STOCK_CHANGED, before);
  });

  /** In front of a subgraph: `fail` answers its GraphQL requests 502, `slow` forwards them after `SLOW_JOIN_MS`. */
  const proxyTo = async (url: string) => {
    const proxy = { mode: 'pass' as 'pass' | 'fail' | 'slow', url: '', server: undefined as Server | undefined };
    proxy.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const graphql = req.method === 'POST';
        if (graphql && proxy.mode === 'fail') {
          res.writeHead(502, { 'content-type': 'text/plain' }).end('the subgraph is down');
          return;
        }
        const forward = () => {
          const forwarded = httpRequest(new URL(req.url ?? '/', url), { method: req.method, headers: req.headers }, (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          });
          forwarded.on('error', () => res.writeHead(502).end());
          forwarded.end(Buffer.concat(chunks));
        };
        if (graphql && proxy.mode === 'slow') setTimeout(forward, SLOW_JOIN_MS);
        else forward();
      });
    });
    await new Promise<void>((resolve) => proxy.server!.listen(0, '127.0.0.1', resolve));
    proxy.url = `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}/graphql`;
    proxies.push(proxy.server);
    return proxy;
  };

  it('gives an event whose join failed partial data with errors at their paths, and goes on with the next event', async () => {
    const reviews = await proxyTo(supergraph.subgraphs.reviews!.url);
    const served = await supergraph.startGateway({
      protection: { rateLimit: { enabled: false } },
      responseCache: false,
      subgraphUrls: { reviews: reviews.url },
    });
    const before = inventory().subscriberCount(STOCK_CHANGED);
    // name from catalog, averageRating (nullable) from reviews: two joins per event.
    const subscription = subscribeOn(
      wsClient(served.url),
      'subscription($ids: [ID!]) { stockChanged(productIds: $ids) { quantity product { name averageRating } } }',
      { ids: [product] },
    );
    await subscribersOf(inventory(), STOCK_CHANGED, before + 1);
    const { name, averageRating } = (await supergraph.query('query($id: ID!) { product(id: $id) { name averageRating } }', { id: product }))
      .data!.product;

    reviews.mode = 'fail';
    const failed = await adjust(-1);
    const partial = await subscription.next();
    reviews.mode = 'pass';
    expect(partial.data).toEqual({ stockChanged: { quantity: failed, product: { name, averageRating: null } } });
    expect(partial.errors?.[0]?.path).toEqual(['stockChanged', 'product', 'averageRating']);
    expect(codeOf(partial.errors)).toBe('SUBGRAPH_UNAVAILABLE');

    const next = await adjust(-1);
    expect(await subscription.next()).toEqual({ data: { stockChanged: { quantity: next, product: { name, averageRating } } } });
  });

  it('counts events waiting for their join against SUBSCRIPTION_QUEUE_MAX: joins slower than events end it with SLOW_CONSUMER', async () => {
    const catalog = await proxyTo(supergraph.subgraphs.catalog!.url);
    const served = await supergraph.startGateway({
      protection: { rateLimit: { enabled: false } },
      responseCache: false,
      subgraphUrls: { catalog: catalog.url },
      subscriptions: { queueMax: 3 },
    });
    const before = inventory().subscriberCount(STOCK_CHANGED);
    const subscription = subscribeOn(
      wsClient(served.url),
      `subscription($ids: [ID!]) { stockChanged(productIds: $ids) { quantity product { name } } }`,
      {
        ids: [product],
      },
    );
    await subscribersOf(inventory(), STOCK_CHANGED, before + 1);
    catalog.mode = 'slow';
    // Ten events at once, each join held by catalog: the client reads, but the events pile up behind the joins.
    for (let i = 0; i < 10; i++) await inventory().publish(STOCK_CHANGED, { productId: product, quantity: i });
    await subscribersOf(inventory(), STOCK_CHANGED, before);
    const received = [];
    for (;;) {
      const event = await subscription.next(10_000);
      received.push(event);
      if (event.errors) break;
    }
    expect(codeOf(received.pop()!.errors)).toBe('SLOW_CONSUMER');
    // Those joined before the end; never more than the queue holds, the rest dropped.
    expect(received.length).toBeLessThanOrEqual(3);
    received.forEach((event, i) => expect(event.data?.stockChanged.quantity).toBe(i));
    expect(await subscription.ended()).toEqual({ completed: true });
  });

  it('charges the rate limit at subscribe, on every transport: one over the limit is refused with RATE_LIMITED', async () => {
    const served = await supergraph.startGateway({
      responseCache: false,
      redis: { url: REDIS_URL, prefix: `rl-subscriptions-${randomBytes(4).toString('hex')}:` },
      protection: { rateLimit: { enabled: true, limit: 2, burst: 0, windowMs: 60_000 } },
    });
    const before = inventory().subscriberCount(STOCK_CHANGED);
    const socket = await raw(served.url);
    socket.subscribe('1', QUANTITY, { ids: [product] });
    socket.subscribe('2', QUANTITY, { ids: [product] });
    await subscribersOf(inventory(), STOCK_CHANGED, before + 2);
    socket.subscribe('3', QUANTITY, { ids: [product] });
    const refused = await socket.until(() => socket.frames.find((f) => f.id === '3' && f.type === 'error'), 'refusal');
    expect(codeOf(refused.payload)).toBe('RATE_LIMITED');
    const overHttp = await sse(served.url, QUANTITY, { ids: [product] });
    expect(overHttp.status).toBe(429);
    expect(codeOf(((await overHttp.json()) as { errors: unknown }).errors)).toBe('RATE_LIMITED');
    expect(inventory().subscriberCount(STOCK_CHANGED)).toBe(before + 2);
    socket.socket.close();
    await subscribersOf(inventory(), STOCK_CHANGED, before);
  });

  it('refuses over WebSocket a subscription not among the trusted documents when they are enforced, and serves a trusted one by id', async () => {
    const served = await supergraph.startGateway({ responseCache: false, trustedDocuments: { mode: 'enforce', manifests: [MANIFEST] } });
    const socket = await raw(served.url);
    socket.subscribe('untrusted', QUANTITY, { ids: [product] });
    const refused = await socket.until(() => socket.frames.find((f) => f.id === 'untrusted' && f.type === 'error'), 'refusal');
    expect(codeOf(refused.payload)).toBe('PERSISTED_QUERY_REQUIRED');

    const manifest = JSON.parse(await readFile(MANIFEST, 'utf8')) as Record<string, string>;
    const [key, text] = Object.entries(manifest).find(([, document]) => document.startsWith('query TopProducts'))!;
    expect(createHash('sha256').update(text).digest('hex')).toBe(key.replace('sha256:', ''));
    socket.socket.send(
      JSON.stringify({
        id: 'trusted',
        type: 'subscribe',
        // graphql-transport-ws wants a string `query`: an empty one asks for the document by its hash.
        payload: {
          query: '',
          variables: { first: 2 },
          extensions: { persistedQuery: { version: 1, sha256Hash: key.replace('sha256:', '') } },
        },
      }),
    );
    const answer = await socket.until(() => socket.frames.find((f) => f.id === 'trusted' && f.type === 'next'), 'answer');
    expect(answer.payload.errors).toBeUndefined();
    expect(answer.payload.data.topProducts).toHaveLength(2);
  });

  it('serves an automatic persisted subscription over WebSocket by its hash, once registered', async () => {
    const socket = await raw(supergraph.url);
    const persistedQuery = { version: 1, sha256Hash: createHash('sha256').update(QUANTITY).digest('hex') };
    const send = (id: string, query: string) =>
      socket.socket.send(
        JSON.stringify({ id, type: 'subscribe', payload: { query, variables: { ids: [product] }, extensions: { persistedQuery } } }),
      );
    const frameOf = (id: string) => socket.until(() => socket.frames.find((f) => f.id === id && f.type !== 'complete'), id);
    send('unknown', '');
    expect(codeOf((await frameOf('unknown')).payload)).toBe('PERSISTED_QUERY_NOT_FOUND');
    const before = inventory().subscriberCount(STOCK_CHANGED);
    send('registering', QUANTITY);
    await subscribersOf(inventory(), STOCK_CHANGED, before + 1);
    send('by-hash', '');
    await subscribersOf(inventory(), STOCK_CHANGED, before + 2);
    const quantity = await adjust(-1);
    for (const id of ['registering', 'by-hash']) expect((await frameOf(id)).payload).toEqual({ data: { stockChanged: { quantity } } });
  });

  it('checks the fields joined per event for their caller: a field it may not see is an error at its path, each event, not a leak', async () => {
    const query = 'subscription($p: ID) { reviewAdded(productId: $p) { body author { username email } } }';
    const reviews = supergraph.subgraphs.reviews!.pubSub;
    const before = reviews.subscriberCount(REVIEW_ADDED);
    const anonymous = subscribeOn(wsClient(supergraph.url), query, { p: product });
    const alan = subscribeOn(wsClient(supergraph.url, await supergraph.loginAs('alan')), query, { p: product });
    await subscribersOf(reviews, REVIEW_ADDED, before + 2);
    const add = 'mutation($input: AddReviewInput!) { addReview(input: $input) { id } }';
    const edsger = await supergraph.loginAs('edsger');
    for (const body of ['First of two.', 'Second of two.']) {
      const { errors } = await supergraph.query(add, { input: { productId: product, body, rating: 4 } }, edsger);
      expect(errors).toBeUndefined();
      for (const [subscriber, code] of [
        [anonymous, 'UNAUTHENTICATED'],
        [alan, 'FORBIDDEN'],
      ] as const) {
        const event = await subscriber.next();
        expect(event.data).toEqual({ reviewAdded: { body, author: { username: 'edsger', email: null } } });
        expect(event.errors?.[0]?.path).toEqual(['reviewAdded', 'author', 'email']);
        expect(codeOf(event.errors)).toBe(code);
        expect(JSON.stringify(event)).not.toContain('edsger@example.com');
      }
    }
  });

  it('checks @requiresScopes on the subscription field at subscribe, and on a field joined per event at its path', async () => {
    const promotions = await startSubgraph({
      definition: promotionsSubgraph,
      config: testSubgraphConfig('promotions', unreachableStore),
      logger: testLogger,
    });
    try {
      const served = await supergraph.startGateway({
        protection: { rateLimit: { enabled: false } },
        extraSubgraphs: [{ name: 'promotions', url: promotions.url }],
      });
      const query = 'subscription { promotionStarted { upc name promotion } }';
      for (const [caller, code] of [
        [{}, 'UNAUTHENTICATED'],
        [await supergraph.loginAs('alan'), 'FORBIDDEN'],
      ] as const) {
        const refused = subscribeOn(wsClient(served.url, caller), query);
        const event = await refused.next();
        expect(event.data?.promotionStarted ?? null).toBeNull();
        expect(codeOf(event.errors)).toBe(code);
        expect(await refused.ended()).toEqual({ completed: true });
      }
      expect(promotions.pubSub.subscriberCount(PROMOTION_STARTED)).toBe(0);
      const allowed = subscribeOn(wsClient(served.url, staff), query);
      await subscribersOf(promotions.pubSub, PROMOTION_STARTED, 1);
      await promotions.pubSub.publish(PROMOTION_STARTED, { upc: '300000000003' });
      expect(await allowed.next()).toEqual({
        data: { promotionStarted: { upc: '300000000003', name: 'Insulated Water Bottle', promotion: '10% off bottles this week' } },
      });

      // promotionBudget needs catalog:write: a customer's events carry an error at its path, staff's the value.
      const bottle = seedId('product', '300000000003');
      const stock = 'subscription($ids: [ID!]) { stockChanged(productIds: $ids) { quantity product { promotion promotionBudget } } }';
      const before = inventory().subscriberCount(STOCK_CHANGED);
      const customer = subscribeOn(wsClient(served.url, await supergraph.loginAs('alan')), stock, { ids: [bottle] });
      const staffer = subscribeOn(wsClient(served.url, staff), stock, { ids: [bottle] });
      await subscribersOf(inventory(), STOCK_CHANGED, before + 2);
      for (let i = 0; i < 2; i++) {
        const { data, errors } = await supergraph.query(ADJUST, { id: bottle, delta: -1 }, staff);
        expect(errors).toBeUndefined();
        const quantity = data!.adjustStock.quantity as number;
        const refused = await customer.next();
        expect(refused.data).toEqual({
          stockChanged: { quantity, product: { promotion: '10% off bottles this week', promotionBudget: null } },
        });
        expect(refused.errors?.[0]?.path).toEqual(['stockChanged', 'product', 'promotionBudget']);
        expect(codeOf(refused.errors)).toBe('FORBIDDEN');
        expect(await staffer.next()).toEqual({
          data: { stockChanged: { quantity, product: { promotion: '10% off bottles this week', promotionBudget: 50_000 } } },
        });
      }
    } finally {
      await promotions.stop();
    }
  });

  it('traces each event in a trace of its own, its fetches under it, linked to the subscription’s span', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    provider.register({ propagator: new W3CTraceContextPropagator() });
    try {
      const before = inventory().subscriberCount(STOCK_CHANGED);
      const client = wsClient(supergraph.url);
      const subscription = subscribeOn(
        client,
        `subscription Watched($ids: [ID!]) { stockChanged(productIds: $ids) { quantity product { name } } }`,
        {
          ids: [product],
        },
      );
      await subscribersOf(inventory(), STOCK_CHANGED, before + 1);
      await adjust(-1);
      await adjust(-1);
      await subscription.next();
      await subscription.next();
      await client.dispose();
      await subscribersOf(inventory(), STOCK_CHANGED, before);
      const finished = async () => {
        const deadline = Date.now() + 5_000;
        for (;;) {
          const spans = exporter.getFinishedSpans();
          const watched = spans.find((s) => s.name === 'subscription Watched');
          if (watched || Date.now() > deadline) return { spans, watched };
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      };
      const { spans, watched } = await finished();
      expect(watched?.attributes).toMatchObject({ 'graphql.operation.type': 'subscription', 'tessera.subscription.subgraph': 'inventory' });
      const events = spans.filter(
        (s) => s.name === 'gateway.subscription.event' && s.links[0]?.context.spanId === watched!.spanContext().spanId,
      );
      expect(events).toHaveLength(2);
      expect(new Set(events.map((e) => e.spanContext().traceId)).size).toBe(2);
      for (const event of events) {
        expect(event.links[0]!.context.traceId).toBe(watched!.spanContext().traceId);
        expect(event.spanContext().traceId).not.toBe(watched!.spanContext().traceId);
        const underIt = (parent: string): string[] =>
          spans.filter((s) => s.parentSpanContext?.spanId === parent).flatMap((s) => [s.name, ...underIt(s.spanContext().spanId)]);
        // The join's fetch to catalog, and catalog's own server span, are in the event's trace.
        expect(underIt(event.spanContext().spanId)).toEqual(expect.arrayContaining(['subgraph catalog']));
        expect(
          spans.some(
            (s) =>
              s.spanContext().traceId === event.spanContext().traceId &&
              s.attributes['subgraph.name'] === 'catalog' &&
              s.kind === SpanKind.SERVER,
          ),
        ).toBe(true);
      }
    } finally {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    }
  });
});
