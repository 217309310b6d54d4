import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { context, propagation, ROOT_CONTEXT, SpanKind, trace, TraceFlags } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { createGateway, type Gateway } from '../../gateway/gateway.js';
import { closeServer, listen } from '../../shared/http/http.js';
import { startSubgraph, type RunningSubgraph } from '../../shared/subgraph/boot.js';
import { startTracing } from '../../shared/observability/tracing.js';
import { SEED_PASSWORD } from '../../subgraphs/accounts/seed.js';
import { subgraphs } from '../../subgraphs/index.js';
import { testGatewayConfig, testSubgraphConfig, testTracing } from '../support/config.js';
import { freshStore } from '../support/postgres.js';
import { postGraphQL } from '../support/subgraph.js';

import { capturingLogger, type LogLine } from '../support/logger.js';

/** Touches three subgraphs: catalog (topProducts), then inventory (inStock) and reviews. */
const TRACED_QUERY = /* GraphQL */ `
  query TracedTopProducts {
    topProducts(first: 2) {
      name
      inStock
      reviews(first: 2) {
        edges {
          node {
            rating
          }
        }
      }
    }
  }
`;

/** OpenTelemetry keeps its provider, context manager and propagator in globals: leave none behind. */
function disableOpenTelemetry(): void {
  trace.disable();
  context.disable();
  propagation.disable();
}

/** Spans end as responses finish; wait (bounded) for the one the test is about. */
async function finishedSpan(exporter: InMemorySpanExporter, matches: (span: ReadableSpan) => boolean): Promise<ReadableSpan> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const span = exporter.getFinishedSpans().find(matches);
    if (span) return span;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('the span never finished');
}

// This suite first: @apollo/gateway takes its tracer when it is imported, and that tracer keeps
// whichever provider was registered first, even after the global one is disabled and replaced.
describe('a traced request through the supergraph', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const { lines, logger } = capturingLogger('debug', { service: 'traced' });
  const running: (RunningSubgraph & { name: string; dbName: string; drop(): Promise<void> })[] = [];
  let gateway: Gateway | undefined;
  let server: Server | undefined;
  let url: string;
  let origin: string;

  beforeAll(async () => {
    // Every service runs in this process, so this one provider sees the whole trace.
    provider.register({ propagator: new W3CTraceContextPropagator() });
    for (const definition of subgraphs) {
      const { store, drop } = freshStore(definition.name);
      // Catalog warns on every operation and statement (slow at 0 ms); the others log SQL at debug.
      const slowMs = definition.name === 'catalog' ? 0 : 60_000;
      const config = testSubgraphConfig(definition.name, store, { slowSqlMs: slowMs, slowOperationMs: slowMs });
      // No relay timer: every statement logged while the traced request runs is then the request's.
      config.jobs = { ...config.jobs, relayIntervalMs: 0 };
      const subgraph = await startSubgraph({ definition, config, logger: logger.child({ subgraph: definition.name }) });
      running.push({ ...subgraph, name: definition.name, dbName: store.kind === 'postgresql' ? store.dbName : '', drop });
    }
    const config = testGatewayConfig(
      running.map((s) => ({ name: s.name, url: s.url })),
      { slowOperationMs: 0 },
    );
    config.responseCache = { ...config.responseCache, enabled: false };
    gateway = await createGateway({ config, logger: logger.child({ subgraph: 'gateway' }) });
    const listening = await listen(gateway.app, '127.0.0.1', 0);
    server = listening.server;
    url = `${listening.url}/graphql`;
    origin = listening.url;
  });

  afterAll(async () => {
    if (server) await closeServer(server);
    await gateway?.stop();
    for (const subgraph of running) {
      await subgraph.stop();
      await subgraph.drop();
    }
    disableOpenTelemetry();
    await provider.shutdown();
  });

  let spans: ReadableSpan[];
  /** What was logged while the traced request ran. */
  let requestLines: LogLine[];
  let root: ReadableSpan;

  beforeAll(async () => {
    exporter.reset();
    lines.splice(0);
    const response = await postGraphQL(url, TRACED_QUERY, undefined, { 'x-request-id': 'traced-request-1' });
    expect(response.errors).toBeUndefined();
    expect(response.data?.topProducts).toHaveLength(2);
    root = await finishedSpan(exporter, (span) => span.kind === SpanKind.SERVER && !span.parentSpanContext);
    spans = exporter.getFinishedSpans();
    requestLines = [...lines];
  });

  const subgraphOf = (span: ReadableSpan) => span.attributes['subgraph.name'];
  const childrenOf = (parent: ReadableSpan) => spans.filter((span) => span.parentSpanContext?.spanId === parent.spanContext().spanId);
  const descendantsOf = (parent: ReadableSpan): ReadableSpan[] => childrenOf(parent).flatMap((child) => [child, ...descendantsOf(child)]);

  it('is one trace, rooted in the gateway server span named after the operation', () => {
    expect(new Set(spans.map((span) => span.spanContext().traceId))).toEqual(new Set([root.spanContext().traceId]));
    expect(root.name).toBe('query TracedTopProducts');
    expect(root.attributes).toMatchObject({
      'graphql.operation.name': 'TracedTopProducts',
      'graphql.operation.type': 'query',
      'tessera.request_id': 'traced-request-1',
      'http.response.status_code': 200,
    });
    expect(subgraphOf(root)).toBeUndefined();
  });

  it('has a client span per subgraph fetch, each the parent of that subgraph server span (traceparent over HTTP)', () => {
    // @apollo/gateway adds spans of its own in between (gateway.request, gateway.plan, gateway.fetch, …).
    expect(childrenOf(root).map((span) => span.name)).toEqual(['gateway.request']);
    const fetches = descendantsOf(root).filter((span) => span.kind === SpanKind.CLIENT && span.name.startsWith('subgraph '));
    expect(new Set(fetches.map(subgraphOf))).toEqual(new Set(['catalog', 'inventory', 'reviews']));
    for (const fetch of fetches) {
      expect(fetch.name).toBe(`subgraph ${subgraphOf(fetch)}`);
      const [served, ...more] = childrenOf(fetch);
      expect(more).toEqual([]);
      expect(served!.kind).toBe(SpanKind.SERVER);
      expect(subgraphOf(served!)).toBe(subgraphOf(fetch));
      // The gateway's query plan names each fetch after the client's operation.
      expect(served!.attributes['graphql.operation.name']).toMatch(/^TracedTopProducts__/);
    }
  });

  it('has a span per SQL statement under each subgraph server span, without the statement values', () => {
    const served = spans.filter((span) => span.kind === SpanKind.SERVER && subgraphOf(span));
    expect(served).toHaveLength(3);
    for (const server of served) {
      const statements = childrenOf(server).filter((span) => span.attributes['db.system.name'] === 'postgresql');
      expect(statements.length).toBeGreaterThan(0);
      const store = running.find((s) => s.name === subgraphOf(server))!;
      for (const statement of statements) {
        expect(statement.attributes['db.namespace']).toBe(store.dbName);
        expect(statement.name).toBe(`${statement.attributes['db.operation.name']} ${statement.attributes['db.collection.name']}`);
        expect(statement.attributes['db.query.text']).toMatch(/^select /);
      }
    }
    const catalogQueries = spans.filter((span) => span.attributes['db.namespace'] === running.find((s) => s.name === 'catalog')!.dbName);
    expect(catalogQueries.map((span) => span.name)).toContain('SELECT product');
    // topProducts(first: 2) limits with a placeholder; the value stays out of the span.
    expect(catalogQueries.map((span) => span.attributes['db.query.text']).join('\n')).not.toMatch(/limit 2\b/);
  });

  it('puts the request id on every SQL line of a mutation, its transaction included', async () => {
    const from = lines.length;
    const { data } = await postGraphQL(
      url,
      'mutation Login($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }',
      { e: 'ada@example.com', p: SEED_PASSWORD },
      { 'x-request-id': 'traced-login' },
    );
    expect(data?.login.accessToken).toEqual(expect.any(String));
    const sql = lines.slice(from).filter((line) => line.msg === 'sql');
    expect(sql.map((line) => line.sql as string)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^begin/),
        expect.stringMatching(/^insert into "refresh_token"/),
        expect.stringMatching(/^commit/),
      ]),
    );
    for (const line of sql) expect(line).toMatchObject({ subgraph: 'accounts', requestId: 'traced-login', traceId: expect.any(String) });
    const statements = exporter
      .getFinishedSpans()
      .filter((span) => span.spanContext().traceId === sql[0]!.traceId && span.attributes['db.system.name']);
    expect(statements.map((span) => span.name)).toEqual(expect.arrayContaining(['BEGIN', 'INSERT refresh_token', 'COMMIT']));
    // The refresh token's hash is a value: it never reaches a span.
    const insert = statements.find((span) => span.name === 'INSERT refresh_token')!;
    expect(insert.attributes['db.query.text']).toMatch(/^insert into "refresh_token" \(.*\) values \(\?(, \?)*\)/);
  });

  it('traces no readiness check: the gateway asks every subgraph, outside any trace', async () => {
    const before = exporter.getFinishedSpans().length;
    const ready = await fetch(`${origin}/ready`);
    expect(await ready.json()).toMatchObject({ ready: true, subgraphs: { catalog: 'up', reviews: 'up' } });
    expect(exporter.getFinishedSpans().length).toBe(before);
  });

  it('logs slow operations at warn with the request id, duration and trace id: at the gateway and in a subgraph', () => {
    const traceId = root.spanContext().traceId;
    const slow = requestLines.filter((line) => line.msg === 'slow graphql request');
    expect(slow).toEqual([
      expect.objectContaining({
        level: 40,
        requestId: 'traced-request-1',
        traceId,
        operationName: 'TracedTopProducts',
        ms: expect.any(Number),
      }),
    ]);
    const slowInSubgraphs = requestLines.filter((line) => line.msg === 'slow graphql operation');
    expect(slowInSubgraphs).toEqual([
      expect.objectContaining({
        level: 40,
        subgraph: 'catalog',
        requestId: 'traced-request-1',
        traceId,
        operationName: 'TracedTopProducts__catalog__0',
        ms: expect.any(Number),
      }),
    ]);
  });

  it('logs slow SQL at warn with the request id and trace id, and other SQL at debug likewise', () => {
    const traceId = root.spanContext().traceId;
    const slowSql = requestLines.filter((line) => line.msg === 'slow sql');
    expect(slowSql.length).toBeGreaterThan(0);
    for (const line of slowSql) {
      expect(line).toMatchObject({ level: 40, subgraph: 'catalog', requestId: 'traced-request-1', traceId, took: expect.any(Number) });
    }
    const debugSql = requestLines.filter((line) => line.msg === 'sql');
    expect(new Set(debugSql.map((line) => line.subgraph))).toEqual(new Set(['inventory', 'reviews']));
    for (const line of debugSql) expect(line).toMatchObject({ level: 20, requestId: 'traced-request-1', traceId });
  });
});

/** A stand-in OpenTelemetry collector: records each export and answers with `status`. */
async function startCollector(status: number) {
  const received: { url?: string; headers: Record<string, unknown>; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push({ url: req.url, headers: req.headers, body });
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

describe('startTracing', () => {
  afterAll(disableOpenTelemetry);

  it('registers nothing without OTEL_EXPORTER_OTLP_ENDPOINT: spans are the no-op kind', async () => {
    const stop = await startTracing({ tracing: testTracing }, 'tessera-test', capturingLogger('info', { service: 'traced' }).logger);
    expect(trace.getTracer('tessera').startSpan('nothing').isRecording()).toBe(false);
    await stop();
  });

  it('exports spans over OTLP/HTTP to the endpoint, under the service name, with the configured headers, sampled', async () => {
    const collector = await startCollector(200);
    try {
      const { lines, logger } = capturingLogger('info', { service: 'traced' });
      const stop = await startTracing(
        { tracing: { ...testTracing, otlpEndpoint: collector.endpoint, otlpHeaders: { 'x-api-key': 'k1' }, sampleRatio: 0 } },
        'tessera-test',
        logger,
      );
      const tracer = trace.getTracer('tessera');
      // Ratio 0 drops traces started here, but follows a caller that sampled its trace.
      tracer.startSpan('dropped').end();
      const sampledCaller = trace.setSpanContext(ROOT_CONTEXT, {
        traceId: 'a'.repeat(32),
        spanId: 'b'.repeat(16),
        traceFlags: TraceFlags.SAMPLED,
        isRemote: true,
      });
      tracer.startSpan('exported', {}, sampledCaller).end();
      // Shutting down flushes what the batch processor holds.
      await stop();
      expect(collector.received).toHaveLength(1);
      const [request] = collector.received;
      expect(request!.url).toBe('/v1/traces');
      expect(request!.headers['x-api-key']).toBe('k1');
      const { resourceSpans } = JSON.parse(request!.body) as {
        resourceSpans: {
          resource: { attributes: { key: string; value: { stringValue?: string } }[] };
          scopeSpans: { spans: { name: string }[] }[];
        }[];
      };
      const serviceName = resourceSpans[0]!.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue;
      expect(serviceName).toBe('tessera-test');
      expect(resourceSpans[0]!.scopeSpans[0]!.spans.map((s) => s.name)).toEqual(['exported']);
      expect(lines).toEqual([]);
    } finally {
      await collector.close();
      disableOpenTelemetry();
    }
  });

  it('warns when the collector refuses the spans, and still shuts down', async () => {
    const collector = await startCollector(400);
    try {
      const { lines, logger } = capturingLogger('info', { service: 'traced' });
      const stop = await startTracing({ tracing: { ...testTracing, otlpEndpoint: collector.endpoint } }, 'tessera-test', logger);
      trace.getTracer('tessera').startSpan('refused').end();
      await expect(stop()).resolves.toBeUndefined();
      expect(collector.received).toHaveLength(1);
      expect(lines).toEqual([
        expect.objectContaining({ level: 40, collector: collector.endpoint, msg: 'the last traces could not be exported' }),
      ]);
    } finally {
      await collector.close();
    }
  });
});

describe('the pino mixin', () => {
  const provider = new NodeTracerProvider();
  beforeAll(() => provider.register());
  afterAll(async () => {
    disableOpenTelemetry();
    await provider.shutdown();
  });

  it("writes the active span's trace and span ids on each line, and none outside a span", () => {
    const { lines, logger } = capturingLogger('info', { service: 'traced' });
    logger.info('outside');
    trace.getTracer('test').startActiveSpan('inside', (span) => {
      logger.child({ requestId: 'r1' }).info('inside');
      span.end();
    });
    const [outside, inside] = lines;
    expect(outside).not.toHaveProperty('traceId');
    expect(inside).toMatchObject({ requestId: 'r1' });
    expect(inside!.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(inside!.spanId).toMatch(/^[0-9a-f]{16}$/);
  });
});
