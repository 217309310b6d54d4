import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { seedId } from '../shared/store/seed.js';
import { SEED_PASSWORD } from '../subgraphs/accounts/seed.js';
import {
  BENCH_RATE_LIMIT,
  benchEnv,
  benchGatewayEnv,
  benchSubgraphs,
  formatSettings,
  freePort,
  positiveInt,
  startBenchSubgraphs,
} from './subgraphs.js';

/**
 * `npm run bench -- soak`: a gateway process's memory under mixed load. Starts the subgraphs
 * here, the gateway as its own process (`dist/bin/gateway.js`, in-memory caches unless
 * REDIS_URL is set), then drives BENCH_SOAK_REQUESTS (default 12000) requests,
 * BENCH_CONCURRENCY (default 16) at a time, for at most BENCH_SOAK_SECONDS (default 300): the
 * same query again (cache hits), a new document each time, new variables each time (cache
 * misses), signed-in users, invalid documents, APQ registrations, and mutations that purge.
 * Rate limiting is off. Prints the gateway's RSS and V8 heap (from its /metrics, the heap used
 * right after a full GC) at the start and as it goes.
 */
const SAMPLES = 6;
const USERS = ['ada', 'grace', 'alan', 'edsger', 'barbara'];
const SHOP_FRONT = `{ topProducts(first: 5) { name price { amount currency } inStock averageRating } }`;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The i-th request of the mix, and the user (if any) it is sent as. */
function request(i: number): { body: object; user?: string } {
  switch (i % 8) {
    case 0:
    case 1:
      return { body: { query: SHOP_FRONT } };
    case 2:
      // A document never seen before: parsed, validated, planned and cached anew.
      return {
        body: { query: `query Soak${i} { topProducts(first: ${1 + (i % 5)}) { name n${i}: inStock } }`, operationName: `Soak${i}` },
      };
    case 3:
      // One document, new variables: a response cache miss each time.
      return {
        body: {
          query: `query Search($s: String) { products(first: 3, filter: { search: $s }) { totalCount edges { node { name } } } }`,
          variables: { s: `e${i}` },
        },
      };
    case 4:
      return { body: { query: `{ me { username email } topProducts(first: ${1 + (i % 3)}) { name } }` }, user: USERS[i % USERS.length] };
    case 5:
      // Errors: an unknown field (a new invalid document each time), or a bad id.
      return { body: { query: i % 16 === 5 ? `{ unknown${i} }` : `{ product(id: "not-an-id-${i}") { name } }` } };
    case 6: {
      // An APQ registration: hash and query together.
      const query = `query Persisted${i} { categories { name p${i}: slug } }`;
      return { body: { query, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(query) } } } };
    }
    default:
      return i % 40 === 7
        ? {
            body: { query: `mutation { adjustStock(productId: "${seedId('product', '100000000001')}", delta: 1) { quantity } }` },
            user: 'grace',
          }
        : {
            body: { query: `{ topProducts(first: 2) { name reviews(first: 2) { edges { node { rating } } } } }` },
            user: USERS[i % USERS.length],
          };
  }
}

interface Memory {
  rss: number;
  /** Used, after a full GC: what is retained. */
  heap: number;
  heapTotal: number;
  external: number;
}

/** MiB, from the gateway's /metrics (prom-client's process and Node metrics), right after a full GC. */
async function memory(origin: string, pid: number): Promise<Memory> {
  process.kill(pid, 'SIGUSR2');
  await new Promise((resolve) => setTimeout(resolve, 500));
  const text = await (await fetch(`${origin}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) / 2 ** 20;
  return {
    rss: value('process_resident_memory_bytes'),
    heap: value('nodejs_heap_size_used_bytes'),
    heapTotal: value('nodejs_heap_size_total_bytes'),
    external: value('nodejs_external_memory_bytes'),
  };
}

const row = (count: number | string, seconds: number | string, m: Memory, failures: number | string) =>
  [count, seconds, m.rss.toFixed(0), m.heap.toFixed(0), m.heapTotal.toFixed(0), m.external.toFixed(0), failures]
    .map((cell, i) => String(cell).padStart(i ? 10 : 8))
    .join('');

async function main(): Promise<void> {
  const env = benchEnv();
  const requests = positiveInt(env, 'BENCH_SOAK_REQUESTS', 12_000);
  const concurrency = positiveInt(env, 'BENCH_CONCURRENCY', 16);
  const maxSeconds = positiveInt(env, 'BENCH_SOAK_SECONDS', 300);
  const { running, urls } = await startBenchSubgraphs(env);
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const gateway = spawn(
    process.execPath,
    [
      '--expose-gc',
      '--import',
      fileURLToPath(new URL('./collect-on-signal.js', import.meta.url)),
      fileURLToPath(new URL('../bin/gateway.js', import.meta.url)),
    ],
    {
      env: { ...benchGatewayEnv(env, urls), HOST: '127.0.0.1', GATEWAY_PORT: String(port), LOG_LEVEL: 'error', SUPERGRAPH_WATCH: 'false' },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  const exited = new Promise((resolve) => gateway.once('exit', resolve));
  const stop = async () => {
    // The gateway drains first: its requests in flight may still need the subgraphs.
    gateway.kill('SIGTERM');
    await exited;
    await Promise.all(running.map((s) => s.stop()));
  };
  try {
    for (let ready = false; !ready; await new Promise((resolve) => setTimeout(resolve, 300))) {
      if (gateway.exitCode !== null) throw new Error(`the gateway exited (${gateway.exitCode})`);
      ready = await fetch(`${origin}/ready`).then(
        (r) => r.ok,
        () => false,
      );
    }
    const post = async ({ body, user }: { body: object; user?: string }, tokens: Map<string, string>) => {
      const response = await fetch(`${origin}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(user && { authorization: `Bearer ${tokens.get(user)}` }) },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as { data?: Record<string, any> | null; errors?: unknown[] } };
    };
    const tokens = new Map<string, string>();
    for (const user of USERS) {
      const { body } = await post(
        { body: { query: `mutation { login(email: "${user}@example.com", password: "${SEED_PASSWORD}") { accessToken } }` } },
        tokens,
      );
      tokens.set(user, body.data!.login.accessToken);
    }
    // Warm up (plans and pools of the fixed queries), so the start is the gateway at work, not at rest.
    const WARM_UP = 64;
    for (let i = 0; i < WARM_UP; i++) await post(request(i), tokens);

    console.log(
      `\n${formatSettings({
        subgraphs: `${benchSubgraphs(env)}, in the bench's process`,
        requests: `up to ${requests} after ${WARM_UP} to warm up, ${concurrency} at a time, for at most ${maxSeconds} s (BENCH_SOAK_REQUESTS, BENCH_CONCURRENCY, BENCH_SOAK_SECONDS)`,
        mix: 'of 8: 2 repeated shop-front queries (hits), a new document, new variables, a signed-in query, an error (unknown field or bad id), an APQ registration, a signed-in query or a mutation (1 in 40)',
        caches: env.REDIS_URL ? 'Redis (REDIS_URL)' : 'in memory',
        'rate limit': BENCH_RATE_LIMIT,
        gateway: `its own process, pid ${gateway.pid}, NODE_ENV=test`,
      })}`,
    );
    console.log('heap: used right after a full GC (what is retained); of total: the heap V8 has taken.\n');
    console.log(
      ['requests', 'seconds', 'rss MiB', 'heap MiB', 'of total', 'external', 'failures']
        .map((cell, i) => cell.padStart(i ? 10 : 8))
        .join(''),
    );
    const start = await memory(origin, gateway.pid!);
    console.log(row(0, 0, start, 0));
    const started = performance.now();
    const deadline = Date.now() + maxSeconds * 1000;
    let next = WARM_UP;
    let done = 0;
    let failures = 0;
    let sampled = 1;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < WARM_UP + requests && Date.now() < deadline) {
          const { status } = await post(request(next++), tokens).catch(() => ({ status: 0 }));
          // Invalid documents are answered 400 by design; a failure is no answer or a 5xx.
          if (status === 0 || status >= 500) failures++;
          done++;
          if (done >= (sampled * requests) / SAMPLES) {
            sampled++;
            console.log(row(done, ((performance.now() - started) / 1000).toFixed(0), await memory(origin, gateway.pid!), failures));
          }
        }
      }),
    );
    const end = await memory(origin, gateway.pid!);
    console.log(
      `\nAfter ${done} requests: RSS ${start.rss.toFixed(0)} → ${end.rss.toFixed(0)} MiB, heap ${start.heap.toFixed(0)} → ${end.heap.toFixed(0)} MiB.`,
    );
  } finally {
    await stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
