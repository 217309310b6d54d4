import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setImmediate } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { context, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { Registry } from 'prom-client';
import { CACHE_EXTENSION, newCacheTags } from '../../shared/cache-tags/cache-tags.js';
import { closeServer } from '../../shared/http/http.js';
import { createRequestScope, runInRequestScope } from '../../shared/http/request-scope.js';
import { MemoryNonceStore } from '../../shared/identity/nonce-store.js';
import { IDENTITY_HEADER, SIGNATURE_HEADER, verifySignedRequest } from '../../shared/identity/signed-requests.js';
import { TEST_SIGNING_SECRET, testIdentity } from '../../test/support/config.js';
import { capturingLogger } from '../../test/support/logger.js';
import { createGatewayMetrics } from '../observability/metrics.js';
import { createSubgraphClient, type SubgraphCaller, type SubgraphClient, type SubgraphClientOptions } from './subgraph-client.js';

const ada = testIdentity('ada');
const CALL = { query: 'query Me { me { id } }', operationName: 'Me', variables: { first: 2 } };
const ANSWER = { data: { me: { id: ada.userId } } };

interface Received {
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** What the fake subgraph does with a request, its body read. */
type Handler = (received: Received, res: ServerResponse) => void;

const json = (res: ServerResponse, body: unknown, headers: Record<string, string> = {}, status = 200) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

describe('the subgraph client', () => {
  const { logger, lines } = capturingLogger('warn');
  let server: Server;
  let url: string;
  let handle: Handler;
  let received: Received[];
  let connections: number;
  /** Requests whose client went away before they were answered. */
  let abandoned: number;
  const clients: SubgraphClient[] = [];
  const clientFor = (options: Partial<SubgraphClientOptions> = {}) => {
    const client = createSubgraphClient({
      name: 'accounts',
      url,
      signingSecret: TEST_SIGNING_SECRET,
      subgraphTimeoutMs: 2_000,
      connections: 4,
      logger,
      ...options,
    });
    clients.push(client);
    return client;
  };
  const inScope = <T>(work: () => Promise<T>, { requestId = 'req-1', timeoutMs }: { requestId?: string; timeoutMs?: number } = {}) =>
    runInRequestScope(createRequestScope({ requestId, logger, timeoutMs, clientIp: '127.0.0.1' }), work);

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const request = { headers: req.headers, body: Buffer.concat(chunks) };
        received.push(request);
        res.on('close', () => {
          if (!res.writableFinished) abandoned++;
        });
        handle(request, res);
      });
    });
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });
  afterAll(async () => {
    await closeServer(server, 1_000);
  });
  const reset = (handler: Handler) => {
    handle = handler;
    received = [];
    connections = 0;
    abandoned = 0;
    lines.length = 0;
  };

  it('posts the call as JSON, signed for the caller and the request id of its scope, and returns the answer', async () => {
    reset((_, res) => json(res, ANSWER));
    const answer = await inScope(() => clientFor().call(CALL, { user: ada }));
    expect(answer).toEqual({ data: ANSWER.data });
    expect(received).toHaveLength(1);
    const [request] = received;
    expect(JSON.parse(request!.body.toString('utf8'))).toEqual(CALL);
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers.accept).toContain('application/json');
    expect(request!.headers['x-request-id']).toBe('req-1');
    const identity = await verifySignedRequest(
      TEST_SIGNING_SECRET,
      {
        identity: request!.headers[IDENTITY_HEADER] as string,
        signature: request!.headers[SIGNATURE_HEADER] as string,
        requestId: request!.headers['x-request-id'] as string,
        body: request!.body,
      },
      { maxAgeMs: 30_000, nonces: new MemoryNonceStore() },
    );
    expect(identity).toEqual(ada);
  });

  it('signs a call outside any request as anonymous, under an id of its own', async () => {
    reset((_, res) => json(res, ANSWER));
    await clientFor().call(CALL, {});
    const [request] = received;
    expect(request!.headers['x-request-id']).toEqual(expect.any(String));
    const identity = await verifySignedRequest(
      TEST_SIGNING_SECRET,
      {
        identity: request!.headers[IDENTITY_HEADER] as string,
        signature: request!.headers[SIGNATURE_HEADER] as string,
        requestId: request!.headers['x-request-id'] as string,
        body: request!.body,
      },
      { maxAgeMs: 30_000, nonces: new MemoryNonceStore() },
    );
    expect(identity).toBeNull();
  });

  it("returns the subgraph's errors with its data, and its Cache-Control header, but not its extensions", async () => {
    const errors = [{ message: 'no such user', path: ['user'], extensions: { code: 'NOT_FOUND' } }];
    reset((_, res) =>
      json(
        res,
        { data: { user: null }, errors, extensions: { [CACHE_EXTENSION]: { entities: [], changed: [] } } },
        {
          'cache-control': 'max-age=60, public',
        },
      ),
    );
    const answer = await clientFor().call(CALL, {});
    expect(answer).toStrictEqual({ data: { user: null }, errors, cacheControl: 'max-age=60, public' });
  });

  it("collects the subgraph's cache tags into the caller's, or notes a subgraph that sent none", async () => {
    reset((_, res) => json(res, { ...ANSWER, extensions: { [CACHE_EXTENSION]: { entities: ['User:1', 'User'], changed: ['User:2'] } } }));
    const caller: SubgraphCaller = { user: null, cacheTags: newCacheTags(), untaggedSubgraphs: new Set() };
    const client = clientFor();
    await client.call(CALL, caller);
    expect(caller.cacheTags).toEqual({ entities: new Set(['User:1', 'User']), changed: new Set(['User:2']) });
    expect(caller.untaggedSubgraphs).toEqual(new Set());

    reset((_, res) => json(res, ANSWER));
    await client.call(CALL, caller);
    expect(caller.untaggedSubgraphs).toEqual(new Set(['accounts']));
    expect(caller.cacheTags!.entities.size).toBe(2);
    // Without tags to collect into (the gateway asking for itself), nothing is noted.
    const untracked: SubgraphCaller = { untaggedSubgraphs: new Set() };
    await client.call(CALL, untracked);
    expect(untracked.untaggedSubgraphs).toEqual(new Set());
  });

  it('reuses one keep-alive connection for calls one after another', async () => {
    reset((_, res) => json(res, ANSWER));
    const client = clientFor();
    // undici frees a connection for the next request a tick after its answer was read: a call
    // made in that same tick opens another (bounded by `connections`).
    await client.call(CALL, {});
    await setImmediate();
    await client.call(CALL, {});
    await setImmediate();
    await client.call(CALL, {});
    expect(received).toHaveLength(3);
    expect(connections).toBe(1);
  });

  it('opens at most `connections` connections, one request on each at a time', async () => {
    reset((_, res) => setTimeout(() => json(res, ANSWER), 50));
    const client = clientFor({ connections: 2 });
    await Promise.all(Array.from({ length: 6 }, () => client.call(CALL, {})));
    expect(received).toHaveLength(6);
    expect(connections).toBe(2);
  });

  it('gives up at the subgraph timeout with GATEWAY_TIMEOUT, and aborts the request', async () => {
    reset(() => {}); // never answers
    const started = Date.now();
    const call = clientFor({ subgraphTimeoutMs: 150 }).call(CALL, {});
    await expect(call).rejects.toMatchObject({ code: 'GATEWAY_TIMEOUT', message: 'The accounts subgraph did not answer in time.' });
    expect(Date.now() - started).toBeLessThan(1_500);
    await waitFor(() => abandoned === 1);
  });

  it("gives up at the request's deadline when it comes before the subgraph timeout", async () => {
    reset(() => {});
    const started = Date.now();
    const call = inScope(() => clientFor({ subgraphTimeoutMs: 10_000 }).call(CALL, {}), { timeoutMs: 150 });
    await expect(call).rejects.toMatchObject({ code: 'GATEWAY_TIMEOUT' });
    expect(Date.now() - started).toBeLessThan(1_500);
    await waitFor(() => abandoned === 1);
  });

  it('fails the calls under way at once when closed with abort (the shutdown after the drain), not at their timeout', async () => {
    reset(() => {});
    const client = clientFor({ subgraphTimeoutMs: 10_000 });
    // Closed here, not again after the test.
    clients.splice(clients.indexOf(client), 1);
    const started = Date.now();
    const call = client.call(CALL, {});
    await waitFor(() => received.length === 1);
    await client.close('abort');
    await expect(call).rejects.toMatchObject({ code: 'SUBGRAPH_UNAVAILABLE' });
    expect(Date.now() - started).toBeLessThan(1_500);
    await waitFor(() => abandoned === 1);
  });

  it('times out a call still queued behind a busy connection, which is then never sent', async () => {
    reset((_, res) => setTimeout(() => json(res, ANSWER), 400)); // holds the one connection 400 ms
    const client = clientFor({ subgraphTimeoutMs: 2_000, connections: 1 });
    const first = client.call(CALL, {});
    await waitFor(() => received.length === 1);
    const started = Date.now();
    await expect(inScope(() => client.call(CALL, {}), { timeoutMs: 100 })).rejects.toMatchObject({ code: 'GATEWAY_TIMEOUT' });
    expect(Date.now() - started).toBeLessThan(350);
    await expect(first).resolves.toMatchObject({ data: ANSWER.data });
    // The connection the first call frees does not carry the timed-out one afterwards.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(received).toHaveLength(1);
  });

  it('times out an answer whose body stops halfway', async () => {
    reset((_, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"data":');
    });
    await expect(clientFor({ subgraphTimeoutMs: 150 }).call(CALL, {})).rejects.toMatchObject({ code: 'GATEWAY_TIMEOUT' });
  });

  it('answers SUBGRAPH_UNAVAILABLE for a refused connection, without the URL, and logs why', async () => {
    reset(() => {});
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await closeServer(closed, 1_000);
    const error = await inScope(() => clientFor({ url: `http://127.0.0.1:${port}/graphql` }).call(CALL, {})).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'SUBGRAPH_UNAVAILABLE', extensions: { code: 'SUBGRAPH_UNAVAILABLE', subgraph: 'accounts' } });
    expect((error as Error).message).toBe('The accounts subgraph is unavailable; try again shortly.');
    expect(lines).toContainEqual(
      expect.objectContaining({
        msg: 'subgraph fetch failed',
        subgraph: 'accounts',
        requestId: 'req-1',
        code: 'SUBGRAPH_UNAVAILABLE',
        err: expect.objectContaining({ code: 'ECONNREFUSED' }),
      }),
    );
  });

  it.each<[string, Handler, number | undefined]>([
    ['an HTTP 500', (_, res) => json(res, { errors: [{ message: 'secret internals' }] }, {}, 500), 500],
    ['a body that is not JSON', (_, res) => res.end('<html>bad gateway</html>'), 200],
    ['JSON that is not a GraphQL response', (_, res) => json(res, {}), 200],
    ['a GraphQL response of the wrong shape', (_, res) => json(res, { data: [1, 2] }), 200],
  ])('answers SUBGRAPH_UNAVAILABLE for %s, and logs the status', async (_, handler, status) => {
    reset(handler);
    const error = await clientFor()
      .call(CALL, {})
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'SUBGRAPH_UNAVAILABLE' });
    expect((error as Error).message).toBe('The accounts subgraph is unavailable; try again shortly.');
    expect(lines).toEqual([expect.objectContaining({ msg: 'subgraph fetch failed', code: 'SUBGRAPH_UNAVAILABLE', status })]);
  });

  it('warns once per interval while a subgraph keeps failing', async () => {
    reset((_, res) => json(res, {}, {}, 503));
    const client = clientFor();
    for (let i = 0; i < 3; i++) await expect(client.call(CALL, {})).rejects.toMatchObject({ code: 'SUBGRAPH_UNAVAILABLE' });
    expect(lines).toHaveLength(1);
  });

  it('keeps the connection after a non-2xx answer', async () => {
    reset((_, res) => json(res, { errors: [{ message: 'down' }] }, {}, 503));
    const client = clientFor();
    await expect(client.call(CALL, {})).rejects.toMatchObject({ code: 'SUBGRAPH_UNAVAILABLE' });
    await setImmediate();
    reset((_, res) => json(res, ANSWER));
    await expect(client.call(CALL, {})).resolves.toEqual({ data: ANSWER.data });
    expect(connections).toBe(0); // no new one: the first call's served the second
  });

  it('times every call and counts the failed ones by reason', async () => {
    const metrics = createGatewayMetrics(new Registry());
    const client = clientFor({ metrics, subgraphTimeoutMs: 150 });
    reset((_, res) => json(res, ANSWER));
    await client.call(CALL, {});
    reset((_, res) => json(res, { data: null, errors: [{ message: 'nope' }] }));
    await client.call(CALL, {});
    reset((_, res) => json(res, {}, {}, 500));
    await expect(client.call(CALL, {})).rejects.toThrow();
    reset(() => {});
    await expect(client.call(CALL, {})).rejects.toThrow();
    reset((_, res) => res.end('not json'));
    await expect(client.call(CALL, {})).rejects.toThrow();

    const errors = (await metrics.subgraphFetchErrors.get()).values.map(({ labels, value }) => [labels.reason, labels.subgraph, value]);
    expect(errors.sort()).toEqual([
      ['graphql', 'accounts', 1],
      ['http', 'accounts', 1],
      ['network', 'accounts', 1],
      ['timeout', 'accounts', 1],
    ]);
    const durations = (await metrics.subgraphFetchDuration.get()).values;
    expect(durations.find((v) => v.metricName?.endsWith('_count'))).toMatchObject({ labels: { subgraph: 'accounts' }, value: 5 });
  });

  describe('traced', () => {
    const exporter = new InMemorySpanExporter();
    const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    beforeAll(() => provider.register({ propagator: new W3CTraceContextPropagator() }));
    afterAll(async () => {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    });

    it("sends the trace context of a client span of the call's own, under the active span", async () => {
      reset((_, res) => json(res, ANSWER));
      const parent = trace.getTracer('test').startSpan('request');
      await context.with(trace.setSpan(context.active(), parent), () => clientFor().call(CALL, {}));
      parent.end();
      const fetchSpan = exporter.getFinishedSpans().find((span) => span.name === 'subgraph accounts');
      expect(fetchSpan?.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
      const { traceId, spanId } = fetchSpan!.spanContext();
      expect(received[0]!.headers.traceparent).toBe(`00-${traceId}-${spanId}-01`);
    });
  });
});

/** Waits (bounded) for what the server sees after the client has gone on. */
async function waitFor(condition: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 100 && !condition(); attempt++) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(condition()).toBe(true);
}
