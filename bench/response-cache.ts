import { randomBytes } from 'node:crypto';
import { createGateway } from '../gateway/gateway.js';
import { loadGatewayConfig, routeSubgraphs } from '../shared/config/config.js';
import { registryDefaults } from '../tooling/compose.js';
import { closeServer, listen } from '../shared/http/http.js';
import { createLogger } from '../shared/observability/logger.js';
import { withSecrets } from '../shared/config/secrets.js';
import { subgraphs } from '../subgraphs/index.js';
import {
  BENCH_RATE_LIMIT,
  benchEnv,
  benchGatewayEnv,
  benchSubgraphs,
  failureOf,
  formatSettings,
  positiveInt,
  startBenchSubgraphs,
} from './subgraphs.js';

/**
 * `npm run bench` (or `npm run bench -- response-cache`): throughput of one shop-front query through the gateway with the response
 * cache on and off, over the same running subgraphs. Stores are in-memory PGlite unless
 * DATABASE_URL is set; the cache is in memory unless REDIS_URL is set; rate limiting is off.
 * BENCH_REQUESTS (default 2000) and BENCH_CONCURRENCY (default 32) size the run.
 */
const QUERY = `{ topProducts(first: 5) { name price { amount currency } inStock shippingEstimate averageRating reviews(first: 3) { edges { node { rating author { username } } } } } }`;
/** Requests before each measured run: query plans, connection pools, and (cache on) the cached entry. */
const WARM_UP = 200;

interface Result {
  perSecond: number;
  p50: number;
  p99: number;
  failures: number;
  /** The first failure's status and code, e.g. `429 RATE_LIMITED`. */
  firstFailure?: string;
}

async function load(url: string, requests: number, concurrency: number): Promise<Result> {
  const latencies: number[] = [];
  let failures = 0;
  let firstFailure: string | undefined;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, requests) }, async () => {
      while (next++ < requests) {
        const t0 = performance.now();
        const failure = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: QUERY }),
        }).then(
          async (response) => failureOf(response.status, (await response.json().catch(() => undefined)) as Parameters<typeof failureOf>[1]),
          (error: unknown) => `no answer (${error instanceof Error ? error.message : String(error)})`,
        );
        if (failure) {
          failures++;
          firstFailure ??= failure;
        }
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return { perSecond: requests / seconds, p50: at(0.5), p99: at(0.99), failures, firstFailure };
}

async function main(): Promise<void> {
  const env = benchEnv();
  const requests = positiveInt(env, 'BENCH_REQUESTS', 2000);
  const concurrency = positiveInt(env, 'BENCH_CONCURRENCY', 32);
  const logger = createLogger('bench', { logLevel: 'silent', env: 'test' });
  const gatewayEnv = { ...env, REDIS_PREFIX: `bench-${randomBytes(3).toString('hex')}:` };
  const cacheStore = env.REDIS_URL ? 'redis' : 'memory';
  console.log(
    formatSettings({
      subgraphs: benchSubgraphs(env),
      query: `one shop-front query (topProducts, 5 products with price, stock, shipping, rating, 3 reviews and authors)`,
      requests: `${requests} per mode after ${WARM_UP} to warm up, ${concurrency} at a time (BENCH_REQUESTS, BENCH_CONCURRENCY)`,
      'response cache': `off, then on (in ${cacheStore === 'redis' ? 'Redis, REDIS_URL' : 'memory'})`,
      'rate limit': BENCH_RATE_LIMIT,
      gateway: 'in this process, NODE_ENV=test, logs off',
    }),
  );
  const { running, urls } = await startBenchSubgraphs(env);
  const benchGateway = benchGatewayEnv(gatewayEnv, urls);
  const gatewayConfig = await withSecrets(
    routeSubgraphs(loadGatewayConfig(benchGateway), benchGateway, registryDefaults(subgraphs)),
    logger,
  );
  const results: Record<string, Result> = {};
  for (const cached of [false, true]) {
    const gateway = await createGateway({
      config: { ...gatewayConfig, responseCache: { ...gatewayConfig.responseCache, enabled: cached } },
      logger,
    });
    const { server, url } = await listen(gateway.app, '127.0.0.1', 0);
    await load(`${url}/graphql`, WARM_UP, concurrency);
    results[cached ? `cached (${cacheStore})` : 'uncached'] = await load(`${url}/graphql`, requests, concurrency);
    await closeServer(server);
    await gateway.stop();
  }
  await Promise.all(running.map((s) => s.stop()));

  console.log(`\n${requests} requests, ${concurrency} at a time, one shop-front query over ${subgraphs.length} subgraphs:\n`);
  console.log('mode              req/s    p50 ms   p99 ms   failures');
  for (const [mode, r] of Object.entries(results)) {
    console.log(
      `${mode.padEnd(16)} ${r.perSecond.toFixed(0).padStart(6)} ${r.p50.toFixed(1).padStart(9)} ${r.p99.toFixed(1).padStart(8)} ${String(r.failures).padStart(10)}`,
    );
  }
  const failed = Object.entries(results).filter(([, r]) => r.failures);
  if (failed.length) {
    // Numbers over failed requests measure the failure path, not the query: say so and fail the run.
    for (const [mode, r] of failed) console.error(`\n${mode}: ${r.failures} of ${requests} requests failed; the first: ${r.firstFailure}.`);
    process.exitCode = 1;
    return;
  }
  const [uncached, cached] = Object.values(results);
  console.log(`\nThe cache serves ${(cached!.perSecond / uncached!.perSecond).toFixed(1)}× the throughput of the uncached gateway.`);
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
