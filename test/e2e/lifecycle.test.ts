import { EventEmitter } from 'node:events';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import type { RequestListener } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createGateway, type Gateway } from '../../gateway/gateway.js';
import { composeSupergraph } from '../../tooling/compose.js';
import { reloadableSupergraph, type ReloadOutcome } from '../../gateway/supergraph/reload.js';
import type { RoutedGatewayConfig } from '../../shared/config/config.js';
import { closeServer, listen } from '../../shared/http/http.js';
import { createSubgraphApp } from '../../shared/subgraph/app.js';
import { buildFederatedSchema } from '../../shared/subgraph/schema.js';
import { createLifecycle } from '../../shared/lifecycle/lifecycle.js';
import type { Logger } from '../../shared/observability/logger.js';
import { subgraphs } from '../../subgraphs/index.js';
import { accounts } from '../../subgraphs/accounts/index.js';
import { testGatewayConfig, testSubgraphConfig } from '../support/config.js';
import { adminQuery } from '../support/postgres.js';
import { DisposableRedis, freePort } from '../support/redis.js';
import { capturingLogger } from '../support/logger.js';
import { postGraphQL, startTestSubgraph, testLogger, type GraphQLResponse } from '../support/subgraph.js';
import { startTestSupergraph, type GatewayOverrides, type TestSupergraph } from '../support/supergraph.js';

const SHOP_FRONT = `{ topProducts(first: 3) { name inStock averageRating } }`;

/** Resolves with the next reload that swapped or failed. */
function nextReload(gateway: Gateway): Promise<ReloadOutcome> {
  return new Promise((resolve) => {
    const off = gateway.supergraph.onReload((outcome) => {
      off();
      resolve(outcome);
    });
  });
}

/** How a deploy replaces the file: written aside, then renamed over it in one step. */
async function replaceFile(path: string, text: string): Promise<void> {
  await writeFile(`${path}.next`, text);
  await rename(`${path}.next`, path);
}

describe('health, shutdown and supergraph reload', () => {
  let supergraph: TestSupergraph;
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    supergraph = await startTestSupergraph({ responseCache: false });
  });
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await supergraph?.stop();
  });

  const routes = (): RoutedGatewayConfig['subgraphs'] => Object.values(supergraph.subgraphs).map((s) => ({ name: s.name, url: s.url }));

  /** A gateway of the test's own over the running subgraphs. */
  const startGateway = (overrides: GatewayOverrides, logger: Logger = testLogger) =>
    supergraph.startGateway({ responseCache: false, ...overrides, logger });

  describe('shutdown', () => {
    it('finishes a request in flight, refuses new ones, closes the gateway and exits 0', async () => {
      // Catalog behind a proxy that holds the shop-front query until the test lets it go.
      const catalog = supergraph.subgraphs.catalog!;
      let arrived!: () => void;
      const held = new Promise<void>((resolve) => (arrived = resolve));
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const proxy: RequestListener = async (req, res) => {
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        const body = Buffer.concat(chunks).toString();
        if (body.includes('topProducts')) {
          arrived();
          await released;
        }
        const headers = Object.fromEntries(
          Object.entries(req.headers).filter(([name]) => !['host', 'connection', 'content-length'].includes(name)),
        ) as Record<string, string>;
        const answer = await fetch(catalog.url, { method: 'POST', headers, body });
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
        res.end(await answer.text());
      };
      const proxied = await listen(proxy, '127.0.0.1', 0);
      cleanups.push(() => closeServer(proxied.server, 1_000));

      const config = testGatewayConfig(routes().map((s) => (s.name === 'catalog' ? { ...s, url: `${proxied.url}/graphql` } : s)));
      const gateway = await createGateway({ config, logger: testLogger });
      const signals = new EventEmitter();
      let exited!: (code: number) => void;
      const exit = new Promise<number>((resolve) => (exited = resolve));
      const lifecycle = createLifecycle({ logger: testLogger, ...config.shutdown, signals, exit: exited });
      const steps: string[] = [];
      lifecycle.onShutdown('gateway', async () => {
        await gateway.stop();
        steps.push('gateway stopped');
      });
      const { server, url } = await listen(lifecycle.guard(gateway.app), '127.0.0.1', 0);
      lifecycle.serving(server);

      // One connection carries the slow request and, once shutdown has begun, a second one.
      const socket = connect((server.address() as { port: number }).port, '127.0.0.1');
      const received: Buffer[] = [];
      socket.on('data', (chunk) => received.push(chunk));
      const closed = new Promise((resolve) => socket.on('close', resolve));
      const request = (query: string) => {
        const body = JSON.stringify({ query });
        return `POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
      };
      socket.write(request(SHOP_FRONT));
      await held;

      signals.emit('SIGTERM', 'SIGTERM');
      expect(lifecycle.state.phase).toBe('draining');
      await expect(fetch(url + '/graphql', { method: 'POST' })).rejects.toThrow();
      socket.write(request('{ categories { name } }'));
      release();

      expect(await exit).toBe(0);
      await closed;
      const text = Buffer.concat(received).toString();
      const [first, second] = text.split(/(?=HTTP\/1\.1 )/);
      expect(first).toMatch(/^HTTP\/1\.1 200/);
      expect(JSON.parse(first!.slice(first!.indexOf('\r\n\r\n') + 4)).data.topProducts).toHaveLength(3);
      expect(second).toMatch(/^HTTP\/1\.1 503/);
      expect(second).toMatch(/\r\nconnection: close\r\n/i);
      expect(JSON.parse(second!.slice(second!.indexOf('\r\n\r\n') + 4)).errors[0].extensions.code).toBe('SHUTTING_DOWN');
      expect(steps).toEqual(['gateway stopped']);
      expect(server.listening).toBe(false);
    });
  });

  describe('supergraph reload', () => {
    let dir: string;
    let path: string;
    let original: string;
    let dearerTopProducts: string;

    beforeAll(async () => {
      const { supergraphSdl, errors } = await composeSupergraph(subgraphs, new Map(routes().map((s) => [s.name, s.url])));
      expect(errors).toEqual([]);
      original = supergraphSdl!;
      // The same supergraph but for one demand-control directive: topProducts sized 40, whatever `first` says.
      dearerTopProducts = original.replace(
        /(topProducts\(first: Int! = 5\): \[Product!\]! @join__field\(graph: CATALOG\)) @listSize\(slicingArguments: \["first"\]\)/,
        '$1 @listSize(assumedSize: 40)',
      );
      expect(dearerTopProducts).not.toBe(original);
      dir = await mkdtemp(join(tmpdir(), 'tessera-reload-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      path = join(dir, 'supergraph.graphql');
    });

    it('swaps the supergraph under continuous load without losing a request; costs follow the swap', async () => {
      await writeFile(path, original);
      const { gateway, url } = await startGateway({ supergraphPath: path, supergraphReload: { pollIntervalMs: 0, watch: true } });

      // Four clients asking without pause until told to stop; the test moves on as answers arrive.
      const answers: Omit<GraphQLResponse, 'headers'>[] = [];
      const progress = new EventEmitter();
      let stop = false;
      const clients = Array.from({ length: 4 }, async () => {
        while (!stop) {
          answers.push(await postGraphQL(url, SHOP_FRONT).catch((error: Error) => ({ status: 0, errors: [{ message: error.message }] })));
          progress.emit('answer');
        }
      });
      const atLeast = (count: number) =>
        new Promise<void>((resolve) => {
          const check = () => {
            if (answers.length < count) return;
            progress.off('answer', check);
            resolve();
          };
          progress.on('answer', check);
          check();
        });

      await atLeast(8);
      const toDearer = nextReload(gateway);
      await replaceFile(path, dearerTopProducts);
      expect(await toDearer).toMatchObject({ outcome: 'reloaded', version: 2 });
      await atLeast(answers.length + 8);
      const back = nextReload(gateway);
      await replaceFile(path, original);
      expect(await back).toMatchObject({ outcome: 'reloaded', version: 3 });
      await atLeast(answers.length + 8);
      stop = true;
      await Promise.all(clients);

      for (const answer of answers) {
        expect(answer).toMatchObject({ status: 200, data: { topProducts: expect.any(Array) } });
        expect(answer.errors).toBeUndefined();
      }
      // Both supergraphs answered (at most four requests were in flight at each swap): first: 3
      // costs 3, the reloaded @listSize(assumedSize: 40) 40.
      const costs = new Set(answers.map((answer) => answer.extensions?.cost?.estimated));
      expect(costs).toEqual(new Set([3, 40]));
      expect((await postGraphQL(url, SHOP_FRONT)).extensions?.cost?.estimated).toBe(3);
      expect(gateway.supergraph.current()?.version).toBe(3);
    });

    it('keeps serving the previous supergraph when the new one does not load, with an error in the log', async () => {
      await writeFile(path, original);
      const { logger, lines } = capturingLogger();
      const { gateway, url, origin } = await startGateway(
        { supergraphPath: path, supergraphReload: { pollIntervalMs: 0, watch: true } },
        logger,
      );
      const servedHash = gateway.supergraph.current()!.hash;

      const broken = nextReload(gateway);
      await replaceFile(path, original.replace('type Query', 'type Query {'));
      expect(await broken).toMatchObject({ outcome: 'failed', error: expect.stringMatching(/Syntax Error/) });
      expect(lines).toContainEqual(
        expect.objectContaining({ level: 50, msg: 'supergraph reload failed; still serving the previous one', servingHash: servedHash }),
      );
      const during = await postGraphQL(url, SHOP_FRONT);
      expect(during).toMatchObject({ status: 200, data: { topProducts: expect.any(Array) }, extensions: { cost: { estimated: 3 } } });
      expect(await (await fetch(`${origin}/ready`)).json()).toMatchObject({ ready: true, supergraph: { hash: servedHash, version: 1 } });

      // Fixed: the next good file is taken up.
      const fixed = nextReload(gateway);
      await replaceFile(path, dearerTopProducts);
      expect(await fixed).toMatchObject({ outcome: 'reloaded', previousHash: servedHash, version: 2 });
      expect(lines).toContainEqual(expect.objectContaining({ level: 30, msg: 'supergraph reloaded', version: 2 }));
      expect(await postGraphQL(url, SHOP_FRONT)).toMatchObject({ status: 200, extensions: { cost: { estimated: 40 } } });
    });
  });

  // Last: the Redis outage leaves the subgraphs idle for a while.
  describe('readiness', () => {
    it('a subgraph whose store does not answer is not ready', async () => {
      const subgraph = await startTestSubgraph(accounts, { seed: false });
      const origin = subgraph.url.replace(/\/graphql$/, '');
      expect((await fetch(`${origin}/ready`)).status).toBe(200);
      // Its database gone (connections cut): what a store that stopped answering looks like.
      await adminQuery(`drop database "${subgraph.orm.config.get('dbName')}" with (force)`);
      try {
        const response = await fetch(`${origin}/ready`);
        expect(response.status).toBe(503);
        // What the driver said is logged, not shown (test/e2e/http-edge.test.ts).
        expect(await response.json()).toEqual({ status: 'not ready', ready: false, store: 'down' });
      } finally {
        await subgraph.stop();
      }
    });

    it('reports each subgraph, the supergraph, and Redis; without Redis the gateway is degraded, not down', async () => {
      const redis = new DisposableRedis(await freePort());
      await redis.start();
      cleanups.push(() => redis.kill());
      const { origin } = await startGateway({
        redis: { url: `redis://127.0.0.1:${redis.port}`, clusterNodes: undefined, prefix: 'lifecycle:' },
      });

      const up = await fetch(`${origin}/ready`);
      expect(up.status).toBe(200);
      expect(await up.json()).toEqual({
        status: 'ready',
        ready: true,
        supergraph: { state: 'loaded', hash: expect.stringMatching(/^[0-9a-f]{16}$/), version: 1 },
        subgraphs: Object.fromEntries(subgraphs.map((subgraph) => [subgraph.name, 'up'])),
        redis: 'up',
      });

      await redis.kill();
      const degraded = await fetch(`${origin}/ready`);
      expect(degraded.status).toBe(200);
      expect(await degraded.json()).toMatchObject({ status: 'degraded', ready: true, redis: 'down' });
      expect((await fetch(`${origin}/health`)).status).toBe(200);

      // The client reconnects by itself; readiness says so once it has.
      await redis.start();
      for (let attempt = 0; attempt < 50; attempt++) {
        const report = (await (await fetch(`${origin}/ready`)).json()) as { status: string; redis: string };
        if (report.redis === 'up') {
          expect(report.status).toBe('ready');
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      throw new Error('readiness did not see Redis come back');
    });
  });
});

describe('the supergraph source (what development re-composes through)', () => {
  it('polls, swaps only what changed, and keeps the previous supergraph when loading or updating fails, logging each new failure once', async () => {
    let sdl = 'first';
    let loadFails: string | undefined;
    const { logger, lines } = capturingLogger();
    const source = reloadableSupergraph({
      source: 'memory',
      load: async () => {
        if (loadFails) throw new Error(loadFails);
        return sdl;
      },
      pollIntervalMs: 5,
      logger,
    });
    const updates: string[] = [];
    const { supergraphSdl, cleanup } = await source.initialize({
      update: (next) => {
        // What @apollo/gateway does with an SDL it cannot build: throw, changing nothing.
        if (next === 'not a supergraph') throw new Error('Syntax Error: Unexpected Name "not"');
        updates.push(next);
      },
      healthCheck: async () => undefined,
      getDataSource: () => {
        throw new Error('not used');
      },
    });
    const outcomes: ReloadOutcome[] = [];
    const progress = new EventEmitter();
    source.onReload((outcome) => {
      outcomes.push(outcome);
      progress.emit('outcome');
    });
    const until = (count: number) =>
      new Promise<void>((resolve) => {
        const check = () => outcomes.length >= count && (progress.off('outcome', check), resolve());
        progress.on('outcome', check);
        check();
      });
    try {
      expect(supergraphSdl).toBe('first');
      sdl = 'second';
      await until(1);
      expect(outcomes[0]).toMatchObject({ outcome: 'reloaded', version: 2 });

      loadFails = 'accounts (http://127.0.0.1:4001/graphql) did not answer';
      await until(4);
      expect(outcomes.slice(1, 4)).toEqual(Array(3).fill({ outcome: 'failed', error: loadFails }));

      loadFails = undefined;
      sdl = 'not a supergraph';
      await until(7);
      expect(outcomes.slice(4, 7)).toEqual(Array(3).fill({ outcome: 'failed', error: 'Syntax Error: Unexpected Name "not"' }));

      expect(updates).toEqual(['second']);
      expect(source.current()).toMatchObject({ version: 2 });
      expect(lines.filter((line) => line.level === 50).map((line) => line.err)).toEqual([
        'accounts (http://127.0.0.1:4001/graphql) did not answer',
        'Syntax Error: Unexpected Name "not"',
      ]);
    } finally {
      await cleanup!();
    }
  });
});

describe('Apollo Server and termination signals', () => {
  it('installs no SIGTERM/SIGINT handler of its own outside tests (it would stop Apollo before the drain and re-raise the signal)', async () => {
    const before = { term: process.listenerCount('SIGTERM'), int: process.listenerCount('SIGINT') };
    const nodeEnv = process.env.NODE_ENV;
    // Apollo Server installs its handlers unless NODE_ENV is `test` (as Jest sets it).
    process.env.NODE_ENV = 'development';
    const dir = await mkdtemp(join(tmpdir(), 'tessera-signals-'));
    let subgraph: Awaited<ReturnType<typeof createSubgraphApp>> | undefined;
    let gateway: Gateway | undefined;
    try {
      // Neither opens a connection while being built: the store and the subgraphs are not asked.
      subgraph = await createSubgraphApp({
        definition: accounts,
        schema: await buildFederatedSchema(accounts),
        orm: {} as never,
        config: testSubgraphConfig('accounts', { kind: 'pglite', dataDir: 'memory://' }),
        logger: testLogger,
      });
      const { supergraphSdl } = await composeSupergraph(subgraphs, new Map());
      await writeFile(join(dir, 'supergraph.graphql'), supergraphSdl!);
      gateway = await createGateway({
        config: testGatewayConfig([], { supergraphPath: join(dir, 'supergraph.graphql') }),
        logger: testLogger,
      });
      expect({ term: process.listenerCount('SIGTERM'), int: process.listenerCount('SIGINT') }).toEqual(before);
    } finally {
      process.env.NODE_ENV = nodeEnv;
      await subgraph?.apollo.stop();
      await gateway?.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
