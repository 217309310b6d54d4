import { randomBytes } from 'node:crypto';
import { createGateway } from '../gateway/index.js';
import { loadGatewayConfig } from '../shared/config.js';
import { closeServer, listen } from '../shared/http.js';
import { createLogger } from '../shared/logger.js';
import { subgraphs } from '../subgraphs/index.js';
import { benchEnv, startBenchSubgraphs } from './subgraphs.js';

/**
 * `npm run bench` (or `npm run bench -- response-cache`): throughput of one shop-front query through the gateway with the response
 * cache on and off, over the same running subgraphs. Stores are in-memory PGlite unless
 * DATABASE_URL is set; the cache is in memory unless REDIS_URL is set.
 * BENCH_REQUESTS (default 2000) and BENCH_CONCURRENCY (default 32) size the run.
 */
const QUERY = `{ topProducts(first: 5) { name price { amount currency } inStock shippingEstimate averageRating reviews(first: 3) { edges { node { rating author { username } } } } } }`;
const requests = Number(process.env.BENCH_REQUESTS ?? 2000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32);

async function load(url: string): Promise<{ perSecond: number; p50: number; p99: number; failures: number }> {
  const latencies: number[] = [];
  let failures = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < requests) {
        const t0 = performance.now();
        const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: QUERY }) });
        const body = (await response.json()) as { errors?: unknown };
        if (!response.ok || body.errors) failures++;
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return { perSecond: requests / seconds, p50: at(0.5), p99: at(0.99), failures };
}

async function main(): Promise<void> {
  const env = benchEnv();
  const logger = createLogger('bench', { logLevel: 'silent', env: 'test' });
  const { running, urls } = await startBenchSubgraphs(env);
  const gatewayConfig = loadGatewayConfig(subgraphs, { ...env, ...urls, REDIS_PREFIX: `bench-${randomBytes(3).toString('hex')}:` });
  const results: Record<string, Awaited<ReturnType<typeof load>>> = {};
  for (const cached of [false, true]) {
    const gateway = await createGateway({ config: { ...gatewayConfig, responseCache: { ...gatewayConfig.responseCache, enabled: cached } }, logger });
    const { server, url } = await listen(gateway.app, '127.0.0.1', 0);
    await load(`${url}/graphql`); // warm up: plans, pools, and (when on) the cache entry
    results[cached ? `cached (${gatewayConfig.redis.url ? 'redis' : 'memory'})` : 'uncached'] = await load(`${url}/graphql`);
    await closeServer(server);
    await gateway.stop();
  }
  await Promise.all(running.map((s) => s.stop()));

  console.log(`\n${requests} requests, ${concurrency} at a time, one shop-front query over 4 subgraphs:\n`);
  console.log('mode              req/s    p50 ms   p99 ms   failures');
  for (const [mode, r] of Object.entries(results)) {
    console.log(`${mode.padEnd(16)} ${r.perSecond.toFixed(0).padStart(6)} ${r.p50.toFixed(1).padStart(9)} ${r.p99.toFixed(1).padStart(8)} ${String(r.failures).padStart(10)}`);
  }
  const [uncached, cached] = Object.values(results);
  console.log(`\nThe cache serves ${(cached!.perSecond / uncached!.perSecond).toFixed(1)}× the throughput of the uncached gateway.`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
