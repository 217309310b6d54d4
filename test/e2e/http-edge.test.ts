import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { createGateway } from '../../gateway/gateway.js';
import { createSubgraphApp } from '../../shared/subgraph/app.js';
import { startSubgraph } from '../../shared/subgraph/boot.js';
import { buildFederatedSchema } from '../../shared/subgraph/schema.js';
import { catalog } from '../../subgraphs/catalog/index.js';
import { testGatewayConfig, testSubgraphConfig } from '../support/config.js';
import { APOLLO_SERVER_CHOICES, auditShortfalls } from '../support/http-audit.js';
import { capturingLogger, type LogLine } from '../support/logger.js';
import { adminQuery, freshStore } from '../support/postgres.js';
import { postGraphQL, postRaw, rawAnswer, type RawAnswer } from '../support/subgraph.js';
import { supergraphForSuite } from '../support/supergraph.js';

const post = (url: string, body: string, headers: Record<string, string> = {}) => postRaw(url, body, headers);
const get = async (url: string, params: Record<string, string>) =>
  rawAnswer(await fetch(`${url}?${new URLSearchParams(params)}`, { headers: { 'apollo-require-preflight': 'true' } }));

/** A refusal as every refusal must look: its status and code, an error body, no data, no stack trace. */
function expectRefused(response: RawAnswer, status: number, code: string): void {
  expect({ status: response.status, code: response.body.errors?.[0]?.extensions?.code }).toEqual({ status, code });
  expect(response.body.data).toBeUndefined();
  expect(response.text).not.toMatch(/stacktrace| {4}at |RangeError/);
}

const CATEGORIES = '{ categories { slug } }';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('the HTTP edge', () => {
  const supergraph = supergraphForSuite({ responseCache: false });
  const gateways: Record<'production' | 'development', { url: string; origin: string; metricsUrl: string | undefined; lines: LogLine[] }> =
    {} as never;

  beforeAll(async () => {
    for (const env of ['production', 'development'] as const) {
      const { logger, lines } = capturingLogger();
      gateways[env] = { ...(await supergraph.startGateway({ env, responseCache: false, logger })), lines };
    }
  });

  const stillServes = async (url: string) => {
    const { status, data, errors } = await postGraphQL(url, CATEGORIES);
    expect(errors).toBeUndefined();
    expect(status).toBe(200);
    expect(data?.categories.length).toBeGreaterThan(0);
  };

  describe('JSON nested too deep', () => {
    const arrays = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const objects = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

    it('refuses arrays nested 6,000 deep in the variables (12 KB) with 400 MAX_JSON_DEPTH_EXCEEDED, and keeps serving', async () => {
      const body = `{"query":"${CATEGORIES}","variables":{"v":${arrays(6_000)}}}`;
      expect(body.length).toBeLessThan(13_000);
      for (const env of ['production', 'development'] as const) {
        supergraph.resetRequests();
        const response = await post(gateways[env].url, body);
        expectRefused(response, 400, 'MAX_JSON_DEPTH_EXCEEDED');
        expect(response.body.errors![0]!.extensions).toMatchObject({ limit: 64 });
        expect(supergraph.subgraphRequests()).toBe(0);
        await stillServes(gateways[env].url);
      }
    });

    it('refuses deep objects, deep extensions and deep batches alike', async () => {
      const { url } = gateways.production;
      for (const body of [
        `{"query":"${CATEGORIES}","variables":{"v":${objects(6_000)}}}`,
        `{"query":"${CATEGORIES}","extensions":${objects(65)}}`,
        `[${arrays(64)}]`,
      ]) {
        expectRefused(await post(url, body), 400, 'MAX_JSON_DEPTH_EXCEEDED');
      }
      await stillServes(url);
    });

    it('lets through what legitimate variables nest (the body at 64 levels)', async () => {
      // The body's own object is level 1, `variables` 2, `v`'s arrays 3 and on: 62 of them reach level 64.
      const response = await post(gateways.production.url, `{"query":"${CATEGORIES}","variables":{"v":${arrays(62)}}}`);
      expect(response.body.errors).toBeUndefined();
      expect(response.status).toBe(200);
    });

    it('counts brackets inside strings as text, not nesting', async () => {
      const response = await post(
        gateways.production.url,
        JSON.stringify({ query: CATEGORIES, variables: { text: `${'['.repeat(5_000)}"{\\` } }),
      );
      expect(response.status).toBe(200);
    });

    it("refuses a GET's variables and extensions nested too deep", async () => {
      const { url } = gateways.production;
      supergraph.resetRequests();
      // 1,500 deep: URL-encoded, more would pass the 16 KB a request's head may have (see below).
      expectRefused(await get(url, { query: CATEGORIES, variables: `{"v":${arrays(1_500)}}` }), 400, 'MAX_JSON_DEPTH_EXCEEDED');
      expectRefused(await get(url, { query: CATEGORIES, extensions: `{"x":${objects(100)}}` }), 400, 'MAX_JSON_DEPTH_EXCEEDED');
      expect(supergraph.subgraphRequests()).toBe(0);
      const shallow = await get(url, { query: CATEGORIES, variables: `{"v":${arrays(10)}}` });
      expect(shallow.status).toBe(200);
    });

    it('is refused by the subgraphs too, before anything reads the body', async () => {
      const subgraph = supergraph.subgraphs.catalog!;
      expectRefused(
        await post(subgraph.url, `{"query":"${CATEGORIES}","variables":{"v":${arrays(6_000)}}}`),
        400,
        'MAX_JSON_DEPTH_EXCEEDED',
      );
      expect((await subgraph.query(CATEGORIES)).errors).toBeUndefined();
    });
  });

  describe('bodies that are not one JSON object', () => {
    it('refuses another content type with 415, and JSON that does not parse or is a scalar with 400, each saying which', async () => {
      const { url } = gateways.production;
      for (const [contentType, body] of [
        ['application/x-www-form-urlencoded', 'query=%7B__typename%7D'],
        ['application/xml', '<query/>'],
        ['text/plain', CATEGORIES],
      ]) {
        const response = await post(url, body!, { 'content-type': contentType!, 'apollo-require-preflight': 'true' });
        expectRefused(response, 415, 'BAD_REQUEST');
        expect(response.body.errors![0]!.message).toBe('Send the operation as JSON, with Content-Type: application/json.');
      }
      const broken = await post(url, '{"query": ');
      expectRefused(broken, 400, 'BAD_REQUEST');
      expect(broken.body.errors![0]!.message).toBe('The request body is not valid JSON.');
      for (const scalar of ['null', '"{ categories { slug } }"', '42']) {
        const response = await post(url, scalar);
        expectRefused(response, 400, 'BAD_REQUEST');
        expect(response.body.errors![0]!.message).toBe('The request body is JSON but not an object (or an array, for a batch).');
      }
      await stillServes(url);
    });
  });

  it('refuses a method other than GET and POST with 405 and Allow, at the gateway and at a subgraph', async () => {
    for (const url of [gateways.production.url, supergraph.subgraphs.catalog!.url]) {
      for (const method of ['OPTIONS', 'PUT', 'DELETE']) {
        const response = await rawAnswer(await fetch(url, { method }));
        expectRefused(response, 405, 'BAD_REQUEST');
        expect(response.headers.get('allow')).toBe('GET, POST');
      }
    }
    await stillServes(gateways.production.url);
  });

  describe('automatic persisted queries that cannot be honoured', () => {
    const apq = (persistedQuery: unknown, query?: string) => JSON.stringify({ query, extensions: { persistedQuery } });

    it.each(['production', 'development'] as const)('answer 400 with stable codes and no stack trace, logged at info (%s)', async (env) => {
      const { url, lines } = gateways[env];
      const cases: [string, string][] = [
        [apq({ version: 1, sha256Hash: sha256('{ categories { name } }') }, CATEGORIES), 'PERSISTED_QUERY_HASH_MISMATCH'],
        [apq({ version: 2, sha256Hash: sha256(CATEGORIES) }, CATEGORIES), 'PERSISTED_QUERY_VERSION_NOT_SUPPORTED'],
        [apq({ sha256Hash: sha256(CATEGORIES) }), 'PERSISTED_QUERY_VERSION_NOT_SUPPORTED'],
        [apq({ version: 1, sha256Hash: 42 }, CATEGORIES), 'BAD_REQUEST'],
        [apq({ version: 1, sha256Hash: sha256(CATEGORIES).toUpperCase() }, CATEGORIES), 'BAD_REQUEST'],
        [apq({ version: 1 }), 'BAD_REQUEST'],
        [apq('a string'), 'BAD_REQUEST'],
        [apq([1, sha256(CATEGORIES)]), 'BAD_REQUEST'],
      ];
      lines.splice(0);
      supergraph.resetRequests();
      for (const [body, code] of cases) expectRefused(await post(url, body), 400, code);
      expectRefused(
        await get(url, { query: CATEGORIES, extensions: JSON.stringify({ persistedQuery: { version: 1, sha256Hash: sha256('{ x }') } }) }),
        400,
        'PERSISTED_QUERY_HASH_MISMATCH',
      );
      expect(supergraph.subgraphRequests()).toBe(0);
      expect(lines.filter((line) => line.level >= 50)).toEqual([]);
      expect(lines.filter((line) => line.msg === 'persisted query refused').map((line) => [line.level, line.code])).toEqual([
        ...cases.map(([, code]) => [30, code]),
        [30, 'PERSISTED_QUERY_HASH_MISMATCH'],
      ]);

      // The protocol itself still works: unknown hash, registration, then by hash alone.
      const query = `{ categories { slug name } }`;
      const extension = { version: 1, sha256Hash: sha256(query) };
      expect((await post(url, apq(extension))).body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
      expect((await post(url, apq(extension, query))).status).toBe(200);
      const byHash = await post(url, apq(extension));
      expect(byHash.status).toBe(200);
      expect(byHash.body.data).toMatchObject({ categories: expect.any(Array) });
    });
  });

  describe('headers too large', () => {
    it('answers a 20 KB Authorization with 431 HEADERS_TOO_LARGE as a GraphQL error, at the gateway and at a subgraph', async () => {
      const authorization = `Bearer ${'x'.repeat(20_000)}`;
      for (const url of [gateways.production.url, supergraph.subgraphs.catalog!.url]) {
        const response = await post(url, JSON.stringify({ query: CATEGORIES }), { authorization });
        expectRefused(response, 431, 'HEADERS_TOO_LARGE');
        expect(response.body.errors![0]!.message).toMatch(/URL and headers are larger than the 16384 bytes/);
      }
      await stillServes(gateways.production.url);
    });

    it('answers a GET whose query string is over the limit alike (Node counts the request line with the headers)', async () => {
      const response = await get(gateways.production.url, { query: `{ categories { slug } }${' '.repeat(20_000)}` });
      expectRefused(response, 431, 'HEADERS_TOO_LARGE');
      expect(response.body.errors![0]!.message).toMatch(/a query string, token or cookie too long/);
      await stillServes(gateways.production.url);
    });

    it('answers a malformed request line with 400 BAD_REQUEST as a GraphQL error', async () => {
      const { connect } = await import('node:net');
      const { port } = new URL(gateways.production.origin);
      const raw = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1', () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
        const chunks: Buffer[] = [];
        socket.on('data', (chunk) => chunks.push(chunk));
        socket.on('end', () => resolve(Buffer.concat(chunks).toString()));
        socket.on('error', reject);
      });
      expect(raw).toMatch(/^HTTP\/1\.1 400 /);
      expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toEqual({
        errors: [{ message: 'The request is not valid HTTP.', extensions: { code: 'BAD_REQUEST' } }],
      });
    });
  });

  describe('the GraphQL over HTTP audit (graphql-http, what compliance suites run)', () => {
    // In production introspection is off, and these audits query `__type`.
    const INTROSPECTION_OFF = { BF61: 'error', '28B9': 'error', '2EA1': 'warn' };

    it('passes every MUST in development, and falls short only where Apollo Server chooses to', async () => {
      expect(await auditShortfalls(gateways.development.url)).toEqual(APOLLO_SERVER_CHOICES);
    });

    it('falls short in production only where introspection is off besides', async () => {
      expect(await auditShortfalls(gateways.production.url)).toEqual({ ...APOLLO_SERVER_CHOICES, ...INTROSPECTION_OFF });
      await stillServes(gateways.production.url);
    });
  });

  describe('/metrics in production', () => {
    it('is never served on the public port; it is on a listener of its own', async () => {
      const { origin, metricsUrl } = gateways.production;
      expect((await fetch(`${origin}/metrics`)).status).toBe(404);
      expect(metricsUrl).toBeDefined();
      expect(new URL(metricsUrl!).port).not.toBe(new URL(origin).port);
      expect(await (await fetch(metricsUrl!)).text()).toMatch(/tessera_gateway_operations_total/);
    });

    it('refuses to build a production gateway or subgraph whose metrics would be on the public port', async () => {
      const config = testGatewayConfig([], { env: 'production', metrics: { enabled: true, port: undefined, host: '127.0.0.1' } });
      await expect(createGateway({ config, logger: pino({ level: 'silent' }) })).rejects.toThrow(
        /In production \/metrics is not served on the public port/,
      );
      const subgraphConfig = testSubgraphConfig(
        'catalog',
        { kind: 'pglite', dataDir: 'memory://' },
        { env: 'production', metrics: { enabled: true, port: undefined, host: '127.0.0.1' } },
      );
      const schema = await buildFederatedSchema(catalog);
      // Refused before the store is touched.
      await expect(
        createSubgraphApp({ definition: catalog, schema, orm: {} as never, config: subgraphConfig, logger: pino({ level: 'silent' }) }),
      ).rejects.toThrow(/In production \/metrics is not served on the public port/);
    });
  });
});

describe("a subgraph's readiness with its store down", () => {
  it('reports store: down without what the driver said, and logs that (once per interval)', async () => {
    const { store, drop } = freshStore('catalog');
    const { logger, lines } = capturingLogger();
    const config = testSubgraphConfig('catalog', store, { seedOnStart: false });
    const running = await startSubgraph({ definition: catalog, config, logger });
    const origin = running.url.replace(/\/graphql$/, '');
    try {
      expect((await fetch(`${origin}/ready`)).status).toBe(200);
      const dbName = running.orm!.config.get('dbName')!;
      // Its database gone (connections cut): what a store that stopped answering looks like.
      await adminQuery(`drop database "${dbName}" with (force)`);
      for (let i = 0; i < 3; i++) {
        const response = await fetch(`${origin}/ready`);
        const text = await response.text();
        expect(response.status).toBe(503);
        expect(JSON.parse(text)).toEqual({ status: 'not ready', ready: false, store: 'down' });
        expect(text).not.toContain(dbName);
      }
      const warnings = lines.filter((line) => line.msg === 'readiness: store down');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ level: 40, err: { message: expect.any(String) } });
    } finally {
      await running.stop();
      await drop();
    }
  });
});
