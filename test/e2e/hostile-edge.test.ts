import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { SignJWT } from 'jose';
import { composeSupergraph } from '../../tooling/compose.js';
import { subgraphs } from '../../subgraphs/index.js';
import { testJwt } from '../support/config.js';
import { postRaw } from '../support/subgraph.js';
import { startTestSupergraph, type TestSupergraph } from '../support/supergraph.js';
import { fanOut } from '../support/hostile-documents.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const nestedPages = (n: string) =>
  `products(first: ${n}) { edges { node { reviews(first: ${n}) { edges { node { author { reviews(first: ${n}) { totalCount } } } } } } } }`;
/** A JSON body as text: a value nested this deep cannot even be serialized by JSON.stringify. */
const deepBody = (field: 'variables' | 'extensions', nested: string) => `{"query":"{ categories { slug } }","${field}":{"deep":${nested}}}`;
const deepArray = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;
const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

interface Hostile {
  shape: string;
  /** A JSON body (serialized as given when a string) and extra headers. */
  body: unknown;
  headers?: Record<string, string>;
  status: number;
  code: string;
}

/**
 * Every shape of issue 11's attacks, several of each, sent to a gateway in production mode
 * (a composed supergraph file, Redis, rate limits): each must be refused with its own code,
 * without a 5xx, a stack trace or a single subgraph fetch, and the gateway must serve after.
 */
function hostileRequests(futureToken: string): Hostile[] {
  const requests: Hostile[] = [];
  const add = (shape: string, status: number, code: string, bodies: unknown[], headers?: Record<string, string>) => {
    for (const body of bodies) requests.push({ shape, body, status, code, headers });
  };
  add(
    'fragment fan-out',
    400,
    'MAX_ROOT_FIELDS_EXCEEDED',
    [
      fanOut(23, 'Query', '__typename', 'query { ...F0 }'),
      fanOut(40, 'Query', '__typename', '{ ...F0 }'),
      fanOut(23, 'Query', 'categories { slug }', 'query Q { ...F0 }'),
    ].map((query) => ({ query })),
  );
  add('aliases through fragments', 400, 'MAX_ALIASES_EXCEEDED', [{ query: fanOut(23, 'Query', 'a: __typename', 'query { ...F0 }') }]);
  add('depth through fragments', 400, 'MAX_DEPTH_EXCEEDED', [
    {
      query: `{ products(first: 1) { ...P } } fragment P on ProductConnection { edges { node { reviews(first: 1) { edges { node { product { reviews(first: 1) { edges { node { product { reviews(first: 1) { edges { node { body } } } } } } } } } } } } } }`,
    },
  ]);
  add('cost through variable defaults', 400, 'COST_LIMIT_EXCEEDED', [
    { query: `query($n: Int! = 100) { ${nestedPages('$n')} }` },
    { query: `query($n: Int = 100) { ...Q } fragment Q on Query { ${nestedPages('$n')} }` },
    { query: `query($n: Int!) { ${nestedPages('$n')} }`, variables: { n: 100 } },
  ]);
  // A nullable variable with a default may stand where `if: Boolean!` is, but not be sent null.
  add('@skip/@include given an explicit null', 400, 'BAD_USER_INPUT', [
    { query: `query($s: Boolean = true) { categories { slug @skip(if: $s) } }`, variables: { s: null } },
    {
      query: `query($i: Boolean = false) { ...C } fragment C on Query { categories { ... @include(if: $i) { slug } } }`,
      variables: { i: null },
    },
    { query: `query($s: Boolean = true) { categories { ...S @skip(if: $s) } } fragment S on Category { slug }`, variables: { s: null } },
  ]);
  add('page size over the cap', 400, 'BAD_USER_INPUT', [
    { query: `{ products(first: 101) { totalCount } }` },
    { query: `query($n: Int!) { products(first: $n) { totalCount } }`, variables: { n: 1_000_000 } },
    { query: `query($n: Int! = 101) { ...P } fragment P on Query { products(first: $n) { totalCount } }` },
    { query: `{ products(first: -1) { totalCount } }` },
    { query: `{ p: topProducts(first: 1) { reviews(first: 500) { totalCount } } }` },
  ]);
  add('variables that do not fit', 400, 'BAD_USER_INPUT', [
    { query: `query($n: Int!) { products(first: $n) { totalCount } }`, variables: { n: 'a lot' } },
    { query: `query($n: Int!) { products(first: $n) { totalCount } }` },
  ]);
  add('deeply nested JSON', 400, 'MAX_JSON_DEPTH_EXCEEDED', [
    deepBody('variables', deepArray(6_000)),
    deepBody('variables', deepObject(3_000)),
    deepBody('extensions', deepArray(200)),
  ]);
  add('APQ hash of another query', 400, 'PERSISTED_QUERY_HASH_MISMATCH', [
    {
      query: '{ categories { slug } }',
      extensions: { persistedQuery: { version: 1, sha256Hash: sha256('{ users { edges { node { email } } } }') } },
    },
  ]);
  add('APQ version', 400, 'PERSISTED_QUERY_VERSION_NOT_SUPPORTED', [
    { query: '{ categories { slug } }', extensions: { persistedQuery: { version: 2, sha256Hash: sha256('{ categories { slug } }') } } },
  ]);
  const multipart = { accept: 'multipart/mixed; deferSpec=20220824, application/json' };
  for (const headers of [undefined, multipart]) {
    add(
      '@defer labels not static or not unique',
      400,
      'GRAPHQL_VALIDATION_FAILED',
      [
        { query: 'query($l: String) { topProducts(first: 1) { name ... @defer(label: $l) { inStock } } }', variables: { l: 'a' } },
        { query: '{ topProducts(first: 1) { ... @defer(label: "a") { name } ... @defer(label: "a") { inStock } } }' },
        {
          query:
            '{ topProducts(first: 1) { ...P ...Q } } fragment P on Product { ... @defer(label: "a") { name } } fragment Q on Product { ... @defer(label: "a") { upc } }',
        },
      ],
      headers,
    );
  }
  add('a token from the future', 401, 'UNAUTHENTICATED', [{ query: '{ categories { slug } }' }, { query: 'mutation { logout }' }], {
    authorization: `Bearer ${futureToken}`,
  });
  add('an oversized header', 431, 'HEADERS_TOO_LARGE', [{ query: '{ categories { slug } }' }], {
    authorization: `Bearer ${'x'.repeat(20_000)}`,
  });
  return requests;
}

describe('the edge in production under hostile documents', () => {
  let supergraph: TestSupergraph;
  let url: string;
  let dir: string;
  let redis: Redis;
  const prefix = `tessera-test-${randomUUID()}:`;

  beforeAll(async () => {
    const { supergraphSdl, errors } = await composeSupergraph(
      subgraphs,
      new Map(subgraphs.map((s) => [s.name, `http://${s.name}.invalid/graphql`])),
    );
    expect(errors).toEqual([]);
    dir = await mkdtemp(join(tmpdir(), 'tessera-hostile-'));
    const supergraphPath = join(dir, 'supergraph.graphql');
    await writeFile(supergraphPath, supergraphSdl!);
    redis = new Redis(REDIS_URL);
    supergraph = await startTestSupergraph({
      env: 'production',
      supergraphPath,
      routeToRunning: true,
      redis: { url: REDIS_URL, prefix },
      protection: { rateLimit: { enabled: true, limit: 1_000, operationLimits: { 'Mutation.login': 5 } } },
    });
    ({ url } = supergraph);
  });
  afterAll(async () => {
    await supergraph?.stop();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await rm(dir, { recursive: true, force: true });
  });

  async function send(body: unknown, headers: Record<string, string> = {}) {
    supergraph.resetRequests();
    const { status, text, body: parsed } = await postRaw(url, body, headers);
    return { status, text, body: parsed, fetches: supergraph.subgraphRequests() };
  }

  it('refuses every shape with its own code, no 5xx, no stack trace and no subgraph fetch, then serves', async () => {
    const futureToken = await new SignJWT({ username: 'ada', roles: ['admin'], scope: '' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(randomUUID())
      .setIssuer(testJwt.issuer)
      .setAudience(testJwt.audience)
      .setIssuedAt(Math.floor(Date.now() / 1000) + 3_600)
      .setExpirationTime('2h')
      .sign(new TextEncoder().encode(testJwt.secret));
    const requests = hostileRequests(futureToken);
    const shapes = new Set(requests.map((r) => r.shape));
    expect(shapes.size).toBeGreaterThanOrEqual(10);

    const wrong: string[] = [];
    for (const request of requests) {
      const started = performance.now();
      const answer = await send(request.body, request.headers);
      const ms = Math.round(performance.now() - started);
      const code = answer.body.errors?.[0]?.extensions?.code;
      const problems = [
        answer.status !== request.status && `status ${answer.status}`,
        code !== request.code && `code ${String(code)}`,
        answer.fetches !== 0 && `${answer.fetches} subgraph fetches`,
        /stacktrace|\n\s+at |\.ts:\d+/.test(answer.text) && 'a stack trace',
        answer.body.data !== undefined && answer.body.data !== null && 'data',
        ms > 2_000 && `${ms} ms`,
      ].filter(Boolean);
      if (problems.length) wrong.push(`${request.shape}: ${problems.join(', ')} — ${answer.text.slice(0, 160)}`);
    }
    expect(wrong).toEqual([]);

    const { status, data, errors } = await supergraph.query(`{ topProducts(first: 2) { name inStock averageRating } }`);
    expect(errors).toBeUndefined();
    expect(status).toBe(200);
    expect((data as { topProducts: unknown[] }).topProducts).toHaveLength(2);
  });

  it('limits a sensitive root field however the operation is named or aliased', async () => {
    const attempt = (i: number) =>
      send({
        query: `mutation x${i}($e: String!) { ${i % 2 ? 'a: ' : ''}login(email: $e, password: "wrong password") { accessToken } }`,
        variables: { e: 'grace@example.com' },
      });
    const codes: unknown[] = [];
    for (let i = 1; i <= 5; i++) codes.push((await attempt(i)).body.errors?.[0]?.extensions?.code);
    expect(codes.every((code) => code === 'UNAUTHENTICATED')).toBe(true);
    for (let i = 6; i <= 8; i++) {
      const refused = await attempt(i);
      expect(refused.status).toBe(429);
      expect(refused.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
      expect(refused.fetches).toBe(0);
    }
    // Many logins in one request count one each.
    const many = await send({
      query: `mutation { ${Array.from({ length: 6 }, (_, i) => `l${i}: login(email: "alan@example.com", password: "x") { accessToken }`).join(' ')} }`,
    });
    expect(many.status).toBe(429);
    expect(many.fetches).toBe(0);
  });
});
