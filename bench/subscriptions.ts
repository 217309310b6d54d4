import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { createClient, type Client } from 'graphql-ws';
import { seedId } from '../shared/store/seed.js';
import { subgraphs } from '../subgraphs/index.js';
import { STOCK_CHANGED } from '../subgraphs/inventory/resolvers/stock.resolver.js';
import { startChild, stopChild, waitAnswering, withPeakRss } from './engine/processes.js';
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
import { positiveInts, summarizeFanOut, type FanOutMeasured } from './subscriptions/fan-out.js';

/**
 * `npm run bench -- subscriptions`: event fan-out through a gateway process of its own. For each
 * count of BENCH_SUBSCRIBERS (100, 500, 1000) graphql-ws clients, each on a connection of its
 * own, subscribed to `stockChanged`: BENCH_SUBSCRIPTION_EVENTS (10) events published straight
 * to inventory's PubSub, each once the one before has reached every subscriber, for two
 * selections side by side (inventory's fields only; catalog's joined per event). Prints
 * deliveries per second, the latency from publication to arrival (p50, p99) and the gateway's
 * RSS. Each measurement is bounded by BENCH_SUBSCRIPTION_SECONDS (60).
 */

const PRODUCT = seedId('product', '300000000003');
const SELECTIONS = {
  'inventory only': 'quantity inStock',
  'catalog joined': 'quantity inStock product { name price { amount currency } }',
} as const;
/** Quantities the bench publishes: far from any real stock, each naming its event. */
const FIRST_QUANTITY = 1_000_000;
/** Clients connecting at once: a thousand connects at once overflow the listener's backlog. */
const WAVE = 100;
const START_TIMEOUT_MS = 90_000;

const rssMiB = (pid: number) => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

interface Row extends FanOutMeasured {
  selection: string;
  /** The gateway's RSS once every subscriber is in, and its peak while the events went out, MiB. */
  heldRss: number;
  peakRss: number;
  subscribeMs: number;
  /** Why the row stopped short, if it did. */
  problem?: string;
}

async function main(): Promise<void> {
  const env = benchEnv();
  const counts = positiveInts(env, 'BENCH_SUBSCRIBERS', [100, 500, 1000]);
  const events = positiveInt(env, 'BENCH_SUBSCRIPTION_EVENTS', 10);
  const seconds = positiveInt(env, 'BENCH_SUBSCRIPTION_SECONDS', 60);
  const most = Math.max(...counts);
  const cores = cpus();
  console.log(
    formatSettings({
      machine: `${cores.length} cores (${cores[0]?.model ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}`,
      subgraphs: `${benchSubgraphs(env)}, in the bench's process (as are the subscribers)`,
      gateway: `a process of its own, NODE_ENV=test, MALLOC_ARENA_MAX=2, SUBSCRIPTIONS_PER_USER and SUBSCRIPTION_CONNECTIONS_PER_IP=${most} (every subscriber is one anonymous caller on 127.0.0.1)`,
      subscribers: `${counts.join(', ')} (BENCH_SUBSCRIBERS), each a graphql-ws client on a WebSocket of its own, connecting ${WAVE} at a time; each gateway subscription opens its own connection to inventory`,
      events: `${events} a measurement (BENCH_SUBSCRIPTION_EVENTS), published straight to inventory's PubSub, each once the one before reached every subscriber`,
      selections: Object.entries(SELECTIONS)
        .map(([name, selection]) => `${name}: stockChanged { ${selection} }`)
        .join('; '),
      bound: `${seconds} s a measurement, subscribing included (BENCH_SUBSCRIPTION_SECONDS)`,
      'rate limit': BENCH_RATE_LIMIT,
      latency: 'from publication on the PubSub to arrival at the subscriber, over every delivery',
    }),
  );

  const { running, urls } = await startBenchSubgraphs(env);
  const inventory = running[subgraphs.findIndex((definition) => definition.name === 'inventory')];
  if (!inventory) throw new Error('no inventory subgraph to publish stockChanged');
  const port = await freePort();
  const gateway = startChild('the gateway', new URL('../bin/gateway.js', import.meta.url), [], {
    ...benchGatewayEnv(env, urls),
    HOST: '127.0.0.1',
    GATEWAY_PORT: String(port),
    METRICS: 'false',
    LOG_LEVEL: 'warn',
    MALLOC_ARENA_MAX: '2',
    SUPERGRAPH_WATCH: 'false',
    SUBSCRIPTIONS_PER_USER: String(most),
    SUBSCRIPTION_CONNECTIONS_PER_IP: String(most),
  });
  const url = `http://127.0.0.1:${port}/graphql`;
  const rows: Row[] = [];
  try {
    await waitAnswering(url, gateway, START_TIMEOUT_MS);
    const pid = gateway.process.pid!;
    const idleRss = rssMiB(pid);
    // Plans, code and pools warmed by a small measurement of each selection, not reported.
    for (const selection of Object.keys(SELECTIONS) as (keyof typeof SELECTIONS)[])
      await measure({ url, pid, inventory, selection, subscribers: Math.min(50, most), events: 2, seconds });
    console.log(`\nGateway RSS at rest, warmed: ${idleRss.toFixed(0)} MiB before the warm-up, ${rssMiB(pid).toFixed(0)} after.\n`);
    const header = ['subscribers', 'selection', 'deliveries/s', 'p50 ms', 'p99 ms', 'subscribe s', 'RSS held', 'RSS peak', 'missing'];
    const widths = [11, 15, 13, 8, 8, 12, 9, 9, 8];
    const line = (cells: string[]) => cells.map((cell, i) => (i === 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(' ');
    console.log(line(header));
    for (const subscribers of counts) {
      for (const selection of Object.keys(SELECTIONS) as (keyof typeof SELECTIONS)[]) {
        const row = await measure({ url, pid, inventory, selection, subscribers, events, seconds });
        rows.push(row);
        const summary = summarizeFanOut(row);
        console.log(
          line([
            String(subscribers),
            selection,
            summary.perSecond.toFixed(0),
            summary.p50.toFixed(0),
            summary.p99.toFixed(0),
            (row.subscribeMs / 1000).toFixed(1),
            row.heldRss.toFixed(0),
            row.peakRss.toFixed(0),
            String(summary.missing),
          ]),
        );
        if (row.problem) console.error(`  !! ${row.problem}`);
      }
    }
    console.log(
      `\nGateway RSS after every subscriber left: ${rssMiB(pid).toFixed(0)} MiB (MiB throughout; RSS held: all subscribed, before the events).`,
    );
  } finally {
    await stopChild(gateway);
    await Promise.all(running.map((subgraph) => subgraph.stop()));
  }
  const short = rows.filter((row) => row.problem || summarizeFanOut(row).missing);
  if (short.length) {
    // Numbers over missing deliveries measure a failure, not the fan-out: say so and fail the run.
    console.error(`\n${short.length} measurement(s) missed deliveries; see the !! lines above.`);
    process.exitCode = 1;
  }
}

interface MeasureOrder {
  url: string;
  pid: number;
  inventory: { pubSub: { publish(topic: string, payload: unknown): void; subscriberCount(topic: string): number } };
  selection: keyof typeof SELECTIONS;
  subscribers: number;
  events: number;
  seconds: number;
}

/** One measurement: `subscribers` clients in, `events` events out one after the other, every client gone. */
async function measure({ url, pid, inventory, selection, subscribers, events, seconds }: MeasureOrder): Promise<Row> {
  const deadline = Date.now() + seconds * 1000;
  const query = `subscription($ids: [ID!]) { stockChanged(productIds: $ids) { ${SELECTIONS[selection]} } }`;
  const clients: Client[] = [];
  const publishedAt: number[] = [];
  const arrived = Array.from({ length: events }, () => 0);
  const latencies: number[] = [];
  let problem: string | undefined;
  let wake = () => {};
  const row = (heldRss: number, peakRss: number, subscribeMs: number, elapsedMs: number): Row => ({
    selection,
    subscribers,
    events,
    latencies,
    elapsedMs,
    heldRss,
    peakRss,
    subscribeMs,
    problem,
  });
  const started = Date.now();
  try {
    for (let wave = 0; wave < subscribers && !problem; wave += WAVE) {
      const connected: Promise<void>[] = [];
      for (let i = wave; i < Math.min(subscribers, wave + WAVE); i++) {
        let onConnected = () => {};
        connected.push(new Promise<void>((resolve) => (onConnected = resolve)));
        const client = createClient({
          url: url.replace(/^http/, 'ws'),
          webSocketImpl: WebSocket,
          retryAttempts: 0,
          lazy: true,
          on: {
            connected: () => onConnected(),
            error: () => {
              problem ??= `a subscriber's connection failed (${selection}, ${subscribers} subscribers)`;
              onConnected();
            },
          },
        });
        clients.push(client);
        client.subscribe<{ stockChanged: { quantity: number } }>(
          { query, variables: { ids: [PRODUCT] } },
          {
            next: (result) => {
              const k = (result.data?.stockChanged.quantity ?? -1) - FIRST_QUANTITY;
              if (result.errors?.length || publishedAt[k] === undefined)
                problem ??= `an event came ${result.errors?.length ? `with errors: ${JSON.stringify(result.errors).slice(0, 200)}` : 'that was not published'}`;
              else {
                latencies.push(performance.now() - publishedAt[k]);
                arrived[k]!++;
              }
              wake();
            },
            error: (error) => {
              problem ??= `a subscription ended with ${JSON.stringify(error).slice(0, 200)}`;
              wake();
            },
            complete: () => undefined,
          },
        );
      }
      await Promise.all(connected);
    }
    while (!problem && inventory.pubSub.subscriberCount(STOCK_CHANGED) < subscribers && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    const subscribeMs = Date.now() - started;
    if (inventory.pubSub.subscriberCount(STOCK_CHANGED) < subscribers) {
      problem ??= `only ${inventory.pubSub.subscriberCount(STOCK_CHANGED)} of ${subscribers} subscriptions reached inventory within ${seconds} s`;
      return row(rssMiB(pid), rssMiB(pid), subscribeMs, 0);
    }
    const heldRss = rssMiB(pid);
    const { result: elapsedMs, rssMiB: peakRss } = await withPeakRss(pid, async () => {
      const first = performance.now();
      for (let k = 0; k < events && !problem; k++) {
        publishedAt[k] = performance.now();
        inventory.pubSub.publish(STOCK_CHANGED, { productId: PRODUCT, quantity: FIRST_QUANTITY + k });
        while (arrived[k]! < subscribers && !problem && Date.now() < deadline)
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, 50);
          });
        if (arrived[k]! < subscribers) problem ??= `event ${k + 1} reached ${arrived[k]} of ${subscribers} subscribers within the bound`;
      }
      return performance.now() - first;
    });
    return row(heldRss, peakRss, subscribeMs, elapsedMs);
  } finally {
    await Promise.all(clients.map((client) => client.dispose()));
    const leaving = Date.now() + 15_000;
    while (inventory.pubSub.subscriberCount(STOCK_CHANGED) > 0 && Date.now() < leaving)
      await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
