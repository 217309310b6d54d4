import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Agent, createServer, request as httpRequest, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApolloClient, gql, HttpLink, InMemoryCache } from '@apollo/client';
import { Defer20220824Handler } from '@apollo/client/incremental';
import { createGateway } from '../../gateway/gateway.js';
import { envPrefix } from '../../shared/config/config.js';
import { closeServer, listen } from '../../shared/http/http.js';
import { createLifecycle } from '../../shared/lifecycle/lifecycle.js';
import { seedId } from '../../shared/store/seed.js';
import { ensureBuilt } from '../support/built.js';
import { testGatewayConfig } from '../support/config.js';
import { scrape } from '../support/metrics.js';
import { startGatewayProcess } from '../support/processes.js';
import { testLogger } from '../support/subgraph.js';
import { startTestSupergraph, type TestSupergraph } from '../support/supergraph.js';

/**
 * `@defer` through a started gateway (issue 18): the parts over multipart (`deferSpec=20220824`)
 * and SSE, the first before the deferred subgraph answers, their merge equal to the answer
 * without `@defer`; errors in a deferred part; `if` and `label`; nested defers; the edge's
 * rules (shape limits, the response cache, the deadline); the metrics.
 */

const product = seedId('product', '300000000002');
const DEFERRED_FIELDS = 'reviews(first: 5) { edges { node { body author { username } } } } averageRating';
const SHOP = `query($id: ID!) { product(id: $id) { name price { amount } ... @defer { ${DEFERRED_FIELDS} } } }`;
const WHOLE = `query($id: ID!) { product(id: $id) { name price { amount } ${DEFERRED_FIELDS} } }`;
const MULTIPART = 'multipart/mixed; deferSpec=20220824, application/json';
const SSE = 'text/event-stream';

type Payload = {
  data?: any;
  errors?: any[];
  incremental?: { data: any; path: (string | number)[]; label?: string; errors?: any[] }[];
  hasNext: boolean;
};

/** A held-back subgraph: GraphQL requests wait (`hold`) until `release`, and `arrived` counts those that came. */
async function gateIn(url: string) {
  let open = true;
  const waiting: (() => void)[] = [];
  const gate = {
    url: '',
    arrived: 0,
    answered: 0,
    fail: false,
    hold() {
      open = false;
    },
    release() {
      open = true;
      for (const go of waiting.splice(0)) go();
    },
    server: undefined as Server | undefined,
  };
  gate.server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const graphql = req.method === 'POST';
      if (graphql) gate.arrived++;
      const forward = () => {
        if (graphql && gate.fail) {
          res.writeHead(502, { 'content-type': 'text/plain' }).end('the subgraph is down');
          return;
        }
        const forwarded = httpRequest(new URL(req.url ?? '/', url), { method: req.method, headers: req.headers }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          answer.on('end', () => graphql && gate.answered++);
        });
        forwarded.on('error', () => res.writeHead(502).end());
        forwarded.end(Buffer.concat(chunks));
      };
      if (graphql && !open) waiting.push(forward);
      else forward();
    });
  });
  await new Promise<void>((resolve) => gate.server!.listen(0, '127.0.0.1', resolve));
  gate.url = `http://127.0.0.1:${(gate.server.address() as AddressInfo).port}/graphql`;
  return gate;
}

/** Reads a streamed response as it comes: `until` waits (bounded) for what has arrived to match. */
function reading(response: Response) {
  const reader = response.body!.getReader();
  let text = '';
  let done = false;
  const pump = (async () => {
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += Buffer.from(chunk.value).toString('utf8');
    }
    done = true;
  })();
  return {
    text: () => text,
    async until(ready: (text: string) => boolean, timeoutMs = 10_000): Promise<string> {
      const deadline = Date.now() + timeoutMs;
      while (!ready(text)) {
        if (done || Date.now() > deadline) throw new Error(`not seen within ${timeoutMs} ms: ${text.slice(-800)}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return text;
    },
    async end(timeoutMs = 15_000): Promise<string> {
      const timer = setTimeout(() => void reader.cancel(), timeoutMs);
      await pump;
      clearTimeout(timer);
      return text;
    },
  };
}

/** A payload without the pipeline's `extensions` (the cost step's, on the first part), which the tests compare apart. */
function withoutExtensions({ extensions: _, ...payload }: Payload & { extensions?: unknown }): Payload {
  return payload;
}

/** The payloads of a multipart body: each part's JSON, between `--graphql` delimiters, the last closed with `--`. */
function multipartPayloads(text: string): Payload[] {
  return text
    .split('\r\n--graphql')
    .slice(1, -1)
    .map((part) => withoutExtensions(JSON.parse(part.slice(part.indexOf('\r\n\r\n') + 4)) as Payload));
}

/** Whether a multipart body has `count` whole parts (each followed by its delimiter). */
const partsSeen = (count: number) => (text: string) => text.split('\r\n--graphql').length - 1 > count;

function ssePayloads(text: string): Payload[] {
  return text
    .split('\n\n')
    .filter((event) => event.startsWith('event: next'))
    .map((event) => withoutExtensions(JSON.parse(event.slice(event.indexOf('data: ') + 6)) as Payload));
}

/** The result a client builds from the payloads: each incremental item's data merged at its path. */
function merged(payloads: Payload[]): { data: any; errors: any[] } {
  const data = structuredClone(payloads[0]!.data);
  const errors = [...(payloads[0]!.errors ?? [])];
  const merge = (target: any, source: any) => {
    for (const [key, value] of Object.entries(source)) {
      if (value && typeof value === 'object' && target[key] && typeof target[key] === 'object') merge(target[key], value);
      else target[key] = value;
    }
  };
  for (const payload of payloads.slice(1)) {
    for (const item of payload.incremental ?? []) {
      let at = data;
      for (const key of item.path) at = at[key];
      if (item.data) merge(at, item.data);
      errors.push(...(item.errors ?? []));
    }
  }
  return { data, errors };
}

const codeOf = (errors: any[] | undefined) => errors?.[0]?.extensions?.code;

/**
 * A POST to a gateway's port over node:http, its body read as it comes: unlike fetch, it tells
 * a body that ended (`complete`) from a connection cut under it. `agent` false: a connection of
 * its own, closed after the answer (`Connection: close`), so it holds no drain once answered.
 */
function posted(
  port: number,
  accept: string,
  query: string,
  variables: Record<string, unknown> = { id: product },
  agent: Agent | false = false,
) {
  const body = JSON.stringify({ query, variables });
  let text = '';
  const answer = new Promise<{ status: number; connection: string | undefined; complete: boolean }>((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path: '/graphql',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', accept, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        // Ignored: a cut shows as `complete: false` on close.
        res.on('error', () => {});
        res.on('close', () => resolve({ status: res.statusCode!, connection: res.headers.connection, complete: res.complete }));
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', reject);
    req.end(body);
  });
  return {
    answer,
    text: () => text,
    async until(ready: (text: string) => boolean, timeoutMs = 10_000): Promise<void> {
      for (const deadline = Date.now() + timeoutMs; !ready(text);) {
        if (Date.now() > deadline) throw new Error(`not seen within ${timeoutMs} ms: ${text.slice(-800)}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
  };
}

/** Whether a new connection to the port is refused, trying for a bounded while. */
async function refusedWithin(port: number, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline;) {
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
    });
    if (refused) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

describe('@defer through the gateway', () => {
  let supergraph: TestSupergraph;
  let gateway: { url: string; metricsUrl: string | undefined };
  let reviews: Awaited<ReturnType<typeof gateIn>>;
  const servers: Server[] = [];

  beforeAll(async () => {
    supergraph = await startTestSupergraph({ protection: { rateLimit: { enabled: false } } });
    reviews = await gateIn(supergraph.subgraphs.reviews!.url);
    servers.push(reviews.server!);
    gateway = await supergraph.startGateway({
      protection: { rateLimit: { enabled: false } },
      responseCache: false,
      subgraphUrls: { reviews: reviews.url },
    });
  }, 120_000);
  afterAll(async () => {
    reviews?.release();
    await Promise.all(servers.map((server) => closeServer(server)));
    await supergraph?.stop();
  });

  const post = (
    url: string,
    accept: string,
    query: string,
    variables: Record<string, unknown> = { id: product },
    headers: Record<string, string> = {},
  ) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept, ...headers },
      body: JSON.stringify({ query, variables }),
    });

  const whole = async (variables: Record<string, unknown> = { id: product }, query = WHOLE) => {
    const { data, errors } = await supergraph.query(query, variables);
    expect(errors).toBeUndefined();
    return data as Record<string, any>;
  };

  it.each([
    ['multipart', MULTIPART, multipartPayloads, partsSeen(1)],
    ['SSE', SSE, ssePayloads, (text: string) => text.includes('\n\n')],
  ] as const)(
    'delivers the shop query in two parts over %s, the first before reviews answers',
    async (_, accept, payloadsOf, firstSeen) => {
      const expected = await whole();
      reviews.hold();
      const arrivedBefore = reviews.arrived;
      const answeredBefore = reviews.answered;
      const response = await post(gateway.url, accept, SHOP);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain(accept === SSE ? 'text/event-stream' : 'multipart/mixed');
      const stream = reading(response);
      const first = payloadsOf(await stream.until(firstSeen));
      // The first part is out while reviews holds the deferred fetch (asked then, or just after, and not answered).
      expect(reviews.answered).toBe(answeredBefore);
      expect(first).toEqual([{ data: { product: { name: expected.product.name, price: expected.product.price } }, hasNext: true }]);
      for (const deadline = Date.now() + 5_000; reviews.arrived === arrivedBefore && Date.now() < deadline;)
        await new Promise((resolve) => setTimeout(resolve, 10));
      expect(reviews.arrived).toBe(arrivedBefore + 1);
      expect(reviews.answered).toBe(answeredBefore);
      reviews.release();
      const payloads = payloadsOf(await stream.end());
      expect(payloads).toHaveLength(2);
      expect(payloads[1]).toEqual({
        incremental: [{ data: { reviews: expected.product.reviews, averageRating: expected.product.averageRating }, path: ['product'] }],
        hasNext: false,
      });
      expect(merged(payloads)).toEqual({ data: expected, errors: [] });
      // The cost step's extensions come with the first part, as with a whole answer.
      expect(stream.text()).toMatch(/^[^]*?"hasNext":true,"extensions":\{"cost":\{"estimated":\d+/);
      if (accept === SSE) expect(stream.text()).toMatch(/event: complete\n/);
      else expect(stream.text().endsWith('\r\n--graphql--\r\n')).toBe(true);
    },
  );

  it('answers a client that accepts neither with one JSON result, the @defer ignored', async () => {
    const response = await post(gateway.url, 'application/json', SHOP);
    expect(response.headers.get('content-type')).toContain('application/json');
    const answer = (await response.json()) as Record<string, unknown>;
    expect(answer.data).toEqual(await whole());
    expect(answer).not.toHaveProperty('hasNext');
  });

  it('answers a request by persisted-query hash alone incrementally only when its document uses @defer', async () => {
    const byHash = async (query: string, register: boolean) => {
      const persistedQuery = { version: 1, sha256Hash: createHash('sha256').update(query).digest('hex') };
      return fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: MULTIPART },
        body: JSON.stringify({ ...(register && { query }), variables: { id: product }, extensions: { persistedQuery } }),
      });
    };
    const expected = await whole();
    await (await byHash(SHOP, true)).text();
    const deferred = await byHash(SHOP, false);
    expect(deferred.headers.get('content-type')).toContain('multipart/mixed');
    const payloads = multipartPayloads(await reading(deferred).end());
    expect(payloads).toHaveLength(2);
    expect(merged(payloads)).toEqual({ data: expected, errors: [] });
    // Apollo Client asks for multipart on every query: a document without @defer keeps its JSON answer.
    await (await byHash(WHOLE, true)).text();
    const plain = await byHash(WHOLE, false);
    expect(plain.headers.get('content-type')).toContain('application/json');
    expect(((await plain.json()) as { data: unknown }).data).toEqual(expected);
  });

  it('honours @defer(if:) and labels, and merges nested defers on a list to the answer without them', async () => {
    const query = `query($id: ID!, $d: Boolean!) { product(id: $id) { name ... @defer(if: $d, label: "ratings") { averageRating } } }`;
    const off = multipartPayloads(await reading(await post(gateway.url, MULTIPART, query, { id: product, d: false })).end());
    const expected = await whole({ id: product }, 'query($id: ID!) { product(id: $id) { name averageRating } }');
    expect(off).toEqual([{ data: expected, hasNext: false }]);
    const on = multipartPayloads(await reading(await post(gateway.url, MULTIPART, query, { id: product, d: true })).end());
    expect(on).toEqual([
      { data: { product: { name: expected.product.name } }, hasNext: true },
      { incremental: [{ data: { averageRating: expected.product.averageRating }, path: ['product'], label: 'ratings' }], hasNext: false },
    ]);

    const nested = `{ topProducts(first: 3) { name ... @defer(label: "outer") { inStock ... @defer(label: "inner") { reviews(first: 1) { edges { node { body } } } } } } }`;
    const payloads = multipartPayloads(await reading(await post(gateway.url, MULTIPART, nested, {})).end());
    const expectedNested = await whole({}, '{ topProducts(first: 3) { name inStock reviews(first: 1) { edges { node { body } } } } }');
    expect(payloads.length).toBeGreaterThanOrEqual(3);
    expect(payloads[0]!.data.topProducts.every((p: object) => Object.keys(p).join() === 'name')).toBe(true);
    const items = payloads.flatMap((p) => p.incremental ?? []);
    // One item per product and fragment, at the product's index.
    expect(items.filter((i) => i.label === 'outer').map((i) => i.path)).toEqual(
      expectedNested.topProducts.map((_: unknown, i: number) => ['topProducts', i]),
    );
    expect(items.filter((i) => i.label === 'inner')).toHaveLength(expectedNested.topProducts.length);
    expect(payloads.at(-1)!.hasNext).toBe(false);
    expect(payloads.slice(0, -1).every((p) => p.hasNext)).toBe(true);
    expect(merged(payloads)).toEqual({ data: expectedNested, errors: [] });
  });

  it('reports a deferred part’s failure in that part, with its path, after a whole first part', async () => {
    const query = `query($id: ID!) { product(id: $id) { name ... @defer(label: "rating") { averageRating } } }`;
    reviews.fail = true;
    try {
      const payloads = multipartPayloads(await reading(await post(gateway.url, MULTIPART, query)).end());
      expect(payloads[0]).toEqual({ data: { product: { name: expect.any(String) } }, hasNext: true });
      expect(payloads[0]!.errors).toBeUndefined();
      const [item] = payloads[1]!.incremental!;
      expect(item).toMatchObject({ data: { averageRating: null }, path: ['product'], label: 'rating' });
      expect(item!.errors?.[0]?.path).toEqual(['product', 'averageRating']);
      expect(codeOf(item!.errors)).toBe('SUBGRAPH_UNAVAILABLE');
      expect(payloads[1]!.hasNext).toBe(false);
    } finally {
      reviews.fail = false;
    }
  });

  it('holds deferred selections to the shape limits', async () => {
    const limited = await supergraph.startGateway({ protection: { rateLimit: { enabled: false }, maxDepth: 4 } });
    // Depth 3 outside the fragment; the deferred reviews nest to 6.
    const response = await post(limited.url, MULTIPART, SHOP);
    expect(response.status).toBe(400);
    expect(codeOf(((await response.json()) as { errors: any[] }).errors)).toBe('MAX_DEPTH_EXCEEDED');
    const shallow = await post(limited.url, MULTIPART, `query($id: ID!) { product(id: $id) { name ... @defer { averageRating } } }`);
    expect(multipartPayloads(await reading(shallow).end())).toHaveLength(2);
  });

  it('never stores a deferred response in the response cache; a hit answers a @defer request in one part', async () => {
    const cached = await supergraph.startGateway({ protection: { rateLimit: { enabled: false } } });
    const query = `query($id: ID!) { product(id: $id) { name ... @defer { description } } }`;
    const deferred = multipartPayloads(await reading(await post(cached.url, MULTIPART, query)).end());
    expect(deferred).toHaveLength(2);
    const plain = () => post(cached.url, 'application/json', query);
    const first = await plain();
    expect(first.headers.get('x-cache')).toBe('MISS');
    const { extensions: _, ...answer } = (await first.json()) as Record<string, unknown>;
    const second = await plain();
    expect(second.headers.get('x-cache')).toBe('HIT');
    expect(multipartPayloads(await reading(await post(cached.url, MULTIPART, query)).end())).toEqual([
      { ...(answer as object), hasNext: false },
    ]);
  });

  it('ends the last part by the request deadline', async () => {
    const hurried = await supergraph.startGateway({
      protection: { rateLimit: { enabled: false }, requestTimeoutMs: 1_500 },
      responseCache: false,
      subgraphUrls: { reviews: reviews.url },
    });
    reviews.hold();
    try {
      const response = await post(hurried.url, MULTIPART, `query($id: ID!) { product(id: $id) { name ... @defer { averageRating } } }`);
      const payloads = multipartPayloads(await reading(response).end(10_000));
      expect(payloads).toHaveLength(2);
      expect(payloads[1]!.incremental![0]!.data).toEqual({ averageRating: null });
      expect(payloads[1]!.incremental![0]!.errors?.length).toBeGreaterThan(0);
      expect(payloads[1]!.hasNext).toBe(false);
    } finally {
      reviews.release();
    }
  });

  it('counts the parts delivered and the time to the first and last part', async () => {
    const before = await scrape(gateway.metricsUrl!);
    await reading(await post(gateway.url, SSE, SHOP)).end();
    const after = await scrape(gateway.metricsUrl!);
    const parts = (s: typeof before, part: string) => s.value('tessera_gateway_deferred_parts_total', { transport: 'sse', part }) ?? 0;
    expect(parts(after, 'first') - parts(before, 'first')).toBe(1);
    expect(parts(after, 'deferred') - parts(before, 'deferred')).toBe(1);
    const count = (s: typeof before, name: string) => s.value(`${name}_count`, { transport: 'sse' }) ?? 0;
    expect(count(after, 'tessera_gateway_deferred_first_part_seconds') - count(before, 'tessera_gateway_deferred_first_part_seconds')).toBe(
      1,
    );
    expect(count(after, 'tessera_gateway_deferred_last_part_seconds') - count(before, 'tessera_gateway_deferred_last_part_seconds')).toBe(
      1,
    );
  });

  it('reaches Apollo Client over HttpLink: its cache holds the first part, then the deferred one merged', async () => {
    const client = new ApolloClient({
      link: new HttpLink({ uri: gateway.url }),
      cache: new InMemoryCache(),
      incrementalHandler: new Defer20220824Handler(),
    });
    const query = gql`
      query ProductPage($id: ID!) {
        product(id: $id) {
          id
          name
          price {
            amount
          }
          ... @defer {
            reviews(first: 5) {
              edges {
                node {
                  id
                  body
                  author {
                    username
                  }
                }
              }
            }
            averageRating
          }
        }
      }
    `;
    const expected = await whole(
      { id: product },
      `query($id: ID!) { product(id: $id) { id name price { amount } reviews(first: 5) { edges { node { id body author { username } } } } averageRating } }`,
    );
    const results: { data: any; dataState: string }[] = [];
    reviews.hold();
    const subscription = client.watchQuery({ query, variables: { id: product } }).subscribe((result) => void results.push(result as never));
    try {
      const seen = async (ready: () => boolean) => {
        const deadline = Date.now() + 10_000;
        while (!ready()) {
          if (Date.now() > deadline) throw new Error(`not seen: ${JSON.stringify(results).slice(-600)}`);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      };
      await seen(() => results.some((r) => r.dataState === 'streaming'));
      const cached = () => client.cache.extract() as Record<string, Record<string, unknown>>;
      const entity = () => Object.entries(cached()).find(([key]) => key.startsWith('Product:'))?.[1];
      // Before reviews answers: the first part in the cache, nothing of the deferred one.
      expect(results.find((r) => r.dataState === 'streaming')!.data.product).toMatchObject({
        name: expected.product.name,
        price: { amount: expected.product.price.amount },
      });
      expect(entity()).toMatchObject({ name: expected.product.name });
      expect(entity()).not.toHaveProperty('averageRating');
      reviews.release();
      await seen(() => results.some((r) => r.dataState === 'complete'));
      const complete = results.find((r) => r.dataState === 'complete')!;
      expect(JSON.parse(JSON.stringify(complete.data, (key, value) => (key === '__typename' ? undefined : value)))).toEqual(expected);
      expect(entity()).toHaveProperty('averageRating', expected.product.averageRating);
    } finally {
      reviews.release();
      subscription.unsubscribe();
      client.stop();
    }
  });

  it('lets a running incremental response finish on SIGTERM, within the grace', async () => {
    const config = testGatewayConfig(
      Object.values(supergraph.subgraphs).map((s) =>
        s.name === 'reviews' ? { name: s.name, url: reviews.url } : { name: s.name, url: s.url },
      ),
    );
    config.responseCache = { ...config.responseCache, enabled: false };
    // The exit waits out the grace for the client's idle keep-alive connection: kept short here.
    config.shutdown = { ...config.shutdown, graceMs: 5_000 };
    const served = await createGateway({ config, logger: testLogger });
    const signals = new EventEmitter();
    let exited!: (code: number) => void;
    const exit = new Promise<number>((resolve) => (exited = resolve));
    const lifecycle = createLifecycle({ logger: testLogger, ...config.shutdown, signals, exit: exited });
    lifecycle.onShutdown('gateway', () => served.stop());
    const { server, url } = await listen(lifecycle.guard(served.app), '127.0.0.1', 0);
    lifecycle.serving(server);
    reviews.hold();
    try {
      const stream = reading(await post(`${url}/graphql`, MULTIPART, SHOP));
      await stream.until(partsSeen(1));
      signals.emit('SIGTERM', 'SIGTERM');
      expect(lifecycle.state.phase).toBe('draining');
      reviews.release();
      const payloads = multipartPayloads(await stream.end());
      expect(payloads).toHaveLength(2);
      expect(payloads[1]!.hasNext).toBe(false);
      expect(payloads[1]!.incremental![0]!.data.reviews.edges.length).toBeGreaterThan(0);
      expect(stream.text().endsWith('\r\n--graphql--\r\n')).toBe(true);
      expect(await exit).toBe(0);
    } finally {
      reviews.release();
      if (server.listening) await closeServer(server, 1_000);
    }
  });

  /** The built gateway as a process of its own over the test's subgraphs, reviews behind the gate. */
  const gatewayProcess = async (graceMs: number) => {
    await ensureBuilt();
    return startGatewayProcess({
      RATE_LIMIT: '0',
      RESPONSE_CACHE: 'false',
      SHUTDOWN_GRACE_MS: String(graceMs),
      ...Object.fromEntries(
        Object.values(supergraph.subgraphs).map((s) => [`${envPrefix(s.name)}_URL`, s.name === 'reviews' ? reviews.url : s.url]),
      ),
    });
  };

  it('SIGTERM to a gateway process: the held-back deferred part and the closing delimiter still come, new connections are refused, exit 0', async () => {
    const GRACE_MS = 10_000;
    const gateway = await gatewayProcess(GRACE_MS);
    const port = Number(new URL(gateway.origin).port);
    const keptAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // A kept-alive connection, idle when the signal comes: a request on it then is the drain's 503.
      expect((await posted(port, 'application/json', '{ __typename }', {}, keptAlive).answer).status).toBe(200);
      reviews.hold();
      const stream = posted(port, MULTIPART, SHOP);
      await stream.until(partsSeen(1));
      const signalledAt = Date.now();
      gateway.child.kill('SIGTERM');
      await gateway.logged('shutting down: finishing requests in flight');
      expect(await refusedWithin(port, 5_000)).toBe(true);
      const late = posted(port, 'application/json', '{ __typename }', {}, keptAlive);
      expect(await late.answer).toMatchObject({ status: 503, connection: 'close', complete: true });
      expect(codeOf(JSON.parse(late.text()).errors)).toBe('SHUTTING_DOWN');
      keptAlive.destroy();
      // The deferred part is still held: the response is open, the process has not exited.
      expect(multipartPayloads(stream.text())).toHaveLength(1);
      expect(gateway.child.exitCode).toBeNull();
      reviews.release();
      expect(await stream.answer).toMatchObject({ status: 200, complete: true });
      const payloads = multipartPayloads(stream.text());
      expect(payloads).toHaveLength(2);
      expect(payloads[1]!.hasNext).toBe(false);
      expect(payloads[1]!.incremental![0]!.data.reviews.edges.length).toBeGreaterThan(0);
      expect(stream.text().endsWith('\r\n--graphql--\r\n')).toBe(true);
      expect(await gateway.exited).toBe(0);
      // Once the response was done, nothing held the drain to its grace.
      expect(Date.now() - signalledAt).toBeLessThan(GRACE_MS);
    } finally {
      reviews.release();
      keptAlive.destroy();
      gateway.child.kill('SIGKILL');
    }
  }, 180_000);

  it('SIGTERM to a gateway process: a deferred part still held when the grace runs out ends the response, and the process exits 0', async () => {
    const GRACE_MS = 1_500;
    const gateway = await gatewayProcess(GRACE_MS);
    const port = Number(new URL(gateway.origin).port);
    try {
      reviews.hold();
      const stream = posted(port, MULTIPART, SHOP);
      await stream.until(partsSeen(1));
      const signalledAt = Date.now();
      gateway.child.kill('SIGTERM');
      // Cut at the grace's end: the client sees its response end there, without the closing delimiter.
      expect(await stream.answer).toMatchObject({ status: 200, complete: false });
      expect(Date.now() - signalledAt).toBeLessThan(GRACE_MS + 2_000);
      expect(multipartPayloads(stream.text())).toEqual([{ data: { product: expect.any(Object) }, hasNext: true }]);
      expect(stream.text().endsWith('--graphql--\r\n')).toBe(false);
      // The fetch the part waited on does not hold the exit (to the subgraph timeout, past the shutdown step's 5 s).
      expect(await gateway.exited).toBe(0);
      expect(Date.now() - signalledAt).toBeLessThan(GRACE_MS + 4_000);
    } finally {
      reviews.release();
      gateway.child.kill('SIGKILL');
    }
  }, 180_000);
});
