import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { ApolloServer, HeaderMap } from '@apollo/server';
import type { Request } from 'express';
import { buildSchema, Kind } from 'graphql';
import { CACHE_STATUS_HEADER, operationKey, useResponseCache } from './plugin.js';
import { cacheableRequest } from './fast-path.js';
import { MemoryResponseCacheStore } from './memory-store.js';
import type { CachedResponse, ResponseCacheStore } from './store.js';
import type { CostLimit } from '../protection/cost-limit.js';
import type { GatewayContext } from '../context.js';
import type { Identity } from '../../shared/identity/identity.js';
import { testIdentity } from '../../test/support/config.js';
import { gatewayContext } from '../../test/support/in-process-gateway.js';
import { testLogger } from '../../test/support/subgraph.js';

/**
 * What the subgraphs would report, played by resolvers: `product` reads Product:1 (public, a
 * minute), `me` reads the caller (private), `flaky` fails, `uncached` has maxAge 0, `untagged`
 * comes from a subgraph that reports no tags; `rename` changes Product:1.
 */
const schema = buildSchema(`
  enum CacheControlScope { PUBLIC PRIVATE }
  directive @cacheControl(maxAge: Int, scope: CacheControlScope) on FIELD_DEFINITION | OBJECT
  type Query {
    product: String @cacheControl(maxAge: 60)
    me: String @cacheControl(maxAge: 60, scope: PRIVATE)
    flaky: String @cacheControl(maxAge: 60)
    uncached: String @cacheControl(maxAge: 0)
    untagged: String @cacheControl(maxAge: 60)
    echo(n: Int, s: String): String @cacheControl(maxAge: 60)
  }
  type Mutation { rename: String, touchUntagged: String }
`);

let resolved = 0;
const rootValue = {
  product: (_: unknown, context: GatewayContext) => (resolved++, context.cacheTags.entities.add('Product:1'), `product #${resolved}`),
  me: (_: unknown, context: GatewayContext) => (resolved++, `me: ${context.user?.username ?? 'nobody'} #${resolved}`),
  flaky: () => {
    resolved++;
    throw new Error('flaky');
  },
  uncached: () => `uncached #${++resolved}`,
  untagged: (_: unknown, context: GatewayContext) => (resolved++, context.untaggedSubgraphs.add('legacy'), `untagged #${resolved}`),
  echo: ({ n, s }: { n?: number; s?: string }) => `echo ${n} ${s}`,
  rename: (_: unknown, context: GatewayContext) => (context.cacheTags.changed.add('Product:1'), 'renamed'),
  touchUntagged: (_: unknown, context: GatewayContext) => (context.untaggedSubgraphs.add('legacy'), 'touched'),
};

/** The cost step's verdict, played: cost 7, each root field (without fragments) run once. */
const analysisOf: CostLimit['analysisOf'] = ({ operation }) => ({
  cost: 7,
  introspectionCost: 0,
  rootFields: new Map(
    operation!.selectionSet.selections.flatMap((s) => (s.kind === Kind.FIELD ? [[`Query.${s.name.value}`, 1] as const] : [])),
  ),
});

function cachedServer(store: ResponseCacheStore) {
  const seen: string[] = [];
  const observer = { lookup: (status: string) => void seen.push(status), purge: (outcome: string) => void seen.push(`purge ${outcome}`) };
  const plugins = [useResponseCache({ store, logger: testLogger, observer, analysisOf })];
  const apollo = new ApolloServer<GatewayContext>({ schema, rootValue, plugins });
  const execute = async (query: string, user: Identity | null = null) => {
    const response = await apollo.executeOperation({ query }, { contextValue: gatewayContext(user) });
    if (response.body.kind !== 'single') throw new Error('expected a single result');
    return { headers: response.http.headers, data: response.body.singleResult.data as Record<string, string> | null | undefined };
  };
  return { apollo, execute, seen };
}

describe('the response cache', () => {
  let cache: ReturnType<typeof cachedServer>;
  beforeAll(async () => {
    cache = cachedServer(new MemoryResponseCacheStore(100));
    await cache.apollo.start();
  });
  afterAll(async () => {
    await cache?.apollo.stop();
  });
  beforeEach(async () => {
    // Every test starts from an empty cache: purge what any of them may have stored.
    await cache.execute(`mutation { rename touchUntagged }`);
  });

  it('serves a public answer from the cache, with its age and what is left of its max-age', async () => {
    const first = await cache.execute(`{ product }`);
    expect(first.headers.get(CACHE_STATUS_HEADER)).toBe('MISS');
    const second = await cache.execute(`{ product }`);
    expect(second.headers.get(CACHE_STATUS_HEADER)).toBe('HIT');
    expect(second.data).toEqual(first.data);
    expect(second.headers.get('age')).toBe('0');
    expect(second.headers.get('cache-control')).toBe('max-age=60, public');
  });

  it('keeps a private answer for its caller only, and stores none for an anonymous caller', async () => {
    const [ada, alan] = [testIdentity('ada'), testIdentity('alan')];
    expect((await cache.execute(`{ me }`, ada)).headers.get(CACHE_STATUS_HEADER)).toBe('MISS');
    const again = await cache.execute(`{ me }`, ada);
    expect(again.headers.get(CACHE_STATUS_HEADER)).toBe('HIT');
    expect(again.data?.me).toMatch(/^me: ada/);
    const other = await cache.execute(`{ me }`, alan);
    expect(other.headers.get(CACHE_STATUS_HEADER)).toBe('MISS');
    expect(other.data?.me).toMatch(/^me: alan/);
    await cache.execute(`{ me }`);
    expect((await cache.execute(`{ me }`)).headers.get(CACHE_STATUS_HEADER)).toBe('MISS');
  });

  it('stores no answer with errors, none with max-age 0, and never a mutation', async () => {
    for (const query of [`{ flaky }`, `{ uncached }`]) {
      await cache.execute(query);
      expect((await cache.execute(query)).headers.get(CACHE_STATUS_HEADER)).toBe('MISS');
    }
    expect((await cache.execute(`mutation { rename }`)).headers.get(CACHE_STATUS_HEADER)).toBeUndefined();
  });

  it("purges what a mutation's subgraphs report it changed, before its response goes out", async () => {
    await cache.execute(`{ product }`);
    expect((await cache.execute(`{ product }`)).headers.get(CACHE_STATUS_HEADER)).toBe('HIT');
    await cache.execute(`mutation { rename }`);
    expect((await cache.execute(`{ product }`)).headers.get(CACHE_STATUS_HEADER)).toBe('MISS');
  });

  it('purges every answer from a subgraph that reports no tags when a mutation reaches that subgraph', async () => {
    await cache.execute(`{ untagged }`);
    expect((await cache.execute(`{ untagged }`)).headers.get(CACHE_STATUS_HEADER)).toBe('HIT');
    await cache.execute(`mutation { rename }`);
    expect((await cache.execute(`{ untagged }`)).headers.get(CACHE_STATUS_HEADER)).toBe('HIT');
    await cache.execute(`mutation { touchUntagged }`);
    expect((await cache.execute(`{ untagged }`)).headers.get(CACHE_STATUS_HEADER)).toBe('MISS');
  });

  it('runs identical misses in flight at once only once', async () => {
    const before = resolved;
    const answers = await Promise.all(Array.from({ length: 5 }, () => cache.execute(`{ product }`)));
    expect(resolved - before).toBe(1);
    expect(new Set(answers.map((answer) => answer.data?.product)).size).toBe(1);
    expect(answers.map((answer) => answer.headers.get(CACHE_STATUS_HEADER)).sort()).toEqual(['HIT', 'HIT', 'HIT', 'HIT', 'MISS']);
  });

  it('tells its observer each lookup and purge', async () => {
    cache.seen.splice(0);
    await cache.execute(`{ product }`);
    await cache.execute(`{ product }`);
    await cache.execute(`mutation { rename }`);
    expect(cache.seen).toEqual(['MISS', 'HIT', 'purge done']);
  });
});

/** A store that records the keys looked up and the entries stored. */
function recordingStore() {
  const inner = new MemoryResponseCacheStore(100);
  const looked: string[][] = [];
  const stored: { key: string; entry: CachedResponse }[] = [];
  const store: ResponseCacheStore = {
    lookup: (keys) => (looked.push(keys), inner.lookup(keys)),
    store: (key, entry, tags, epoch) => (stored.push({ key, entry }), inner.store(key, entry, tags, epoch)),
    purge: (tags) => inner.purge(tags),
    available: () => true,
  };
  return { store, looked, stored };
}

describe('the response cache over HTTP, and its fast path', () => {
  const recording = recordingStore();
  const cache = cachedServer(recording.store);
  beforeAll(async () => {
    await cache.apollo.start();
  });
  afterAll(async () => {
    await cache.apollo.stop();
  });

  /** What Apollo Server answers an HTTP request with, in the anonymous caller's context. */
  async function overHttp(method: 'GET' | 'POST', search: string, body: unknown) {
    const headers = new HeaderMap([
      ['content-type', 'application/json'],
      ['apollo-require-preflight', 'true'],
    ]);
    if (method === 'GET') headers.delete('content-type');
    const response = await cache.apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method, headers, search, body },
      context: async () => gatewayContext(null),
    });
    if (response.body.kind !== 'complete') throw new Error('expected a complete body');
    return { status: response.status ?? 200, body: response.body.string };
  }

  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
  const registered = '{ echo(n: 3) }';
  const sent: [name: string, method: 'GET' | 'POST', search: string, body: unknown][] = [
    ['a document', 'POST', '', { query: '{ product }' }],
    ['a named operation of several', 'POST', '', { query: 'query A { product } query B { echo(n: 1) }', operationName: 'B' }],
    [
      'variables, in the order sent',
      'POST',
      '',
      { query: 'query($n: Int, $s: String) { echo(n: $n, s: $s) }', variables: { s: 'x', n: 2 }, operationName: null },
    ],
    ['null variables and extensions', 'POST', '', { query: '{ echo(n: 5) }', variables: null, extensions: null }],
    ['a GET', 'GET', `?${new URLSearchParams({ query: 'query($n: Int) { echo(n: $n) }', variables: '{"n":4}' })}`, {}],
    ['a persisted query by its hash alone', 'POST', '', { extensions: { persistedQuery: { version: 1, sha256Hash: sha256(registered) } } }],
  ];

  it.each(sent)('keys %s as the plugin does', async (_name, method, search, body) => {
    if (_name.startsWith('a persisted query')) {
      // Registered first (the text with its hash), which the fast path leaves to Apollo Server.
      const registration = { query: registered, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(registered) } } };
      expect(cacheableRequest({ method: 'POST', url: '/graphql', body: registration } as Request)).toBeUndefined();
      expect((await overHttp('POST', '', registration)).status).toBe(200);
    }
    recording.looked.length = 0;
    const answered = await overHttp(method, search, body);
    expect(answered.status).toBe(200);
    const request = cacheableRequest({ method, url: `/graphql${search}`, body } as Request);
    expect(request).toBeDefined();
    expect(recording.looked).toEqual([[`public:${operationKey(request!.queryHash, request!.operationName, request!.variables)}`]]);
  });

  it('stores the body exactly as Apollo Server sent it, with what a hit is charged', async () => {
    recording.stored.length = 0;
    const query = '{ hello: echo(n: 9, s: "é\\u2028") product }';
    const answered = await overHttp('POST', '', { query });
    expect(recording.stored).toHaveLength(1);
    const { entry } = recording.stored[0]!;
    expect(entry.body.toString()).toBe(answered.body);
    expect(entry.charge).toEqual({
      operationName: null,
      cost: 7,
      rootFields: [
        ['Query.echo', 1],
        ['Query.product', 1],
      ],
    });
    expect(entry).toMatchObject({ maxAge: 60, scope: 'PUBLIC' });
  });

  it('leaves to Apollo Server what it would not take as sent', () => {
    const post = (body: unknown) => cacheableRequest({ method: 'POST', url: '/graphql', body } as Request);
    for (const body of [
      {},
      { query: '' },
      { query: 1 },
      { query: '{ product }', variables: '{}' },
      { query: '{ product }', variables: [1] },
      { query: '{ product }', extensions: 'x' },
      { query: '{ product }', operationName: 3 },
    ])
      expect(post(body)).toBeUndefined();
    const get = (search: string) => cacheableRequest({ method: 'GET', url: `/graphql?${search}`, body: {} } as Request);
    expect(get('query=%7B%20product%20%7D&query=%7B%20me%20%7D')).toBeUndefined();
    expect(get('query=%7B%20product%20%7D&variables=nope')).toBeUndefined();
    expect(get('query=%7B%20product%20%7D&variables=%5B%5D')).toBeUndefined();
    expect(get('query=%7B%20product%20%7D')).toMatchObject({ queryHash: sha256('{ product }'), byHashOnly: false });
    expect(cacheableRequest({ method: 'PUT', url: '/graphql', body: { query: '{ product }' } } as Request)).toBeUndefined();
  });
});

describe('the response cache when its store is down', () => {
  it('serves uncached (BYPASS) and owns up to a purge it could not make', async () => {
    const down: ResponseCacheStore = {
      lookup: () => Promise.reject(new Error('redis down')),
      store: () => Promise.reject(new Error('redis down')),
      purge: () => Promise.reject(new Error('redis down')),
      available: () => true,
    };
    const cache = cachedServer(down);
    await cache.apollo.start();
    try {
      expect((await cache.execute(`{ product }`)).headers.get(CACHE_STATUS_HEADER)).toBe('BYPASS');
      await cache.execute(`mutation { rename }`);
      expect(cache.seen).toEqual(['BYPASS', 'purge deferred']);
      down.available = () => false;
      const answer = await cache.execute(`{ product }`);
      expect(answer.headers.get(CACHE_STATUS_HEADER)).toBe('BYPASS');
      expect(answer.data?.product).toMatch(/^product/);
    } finally {
      await cache.apollo.stop();
    }
  });
});
