import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createClient, type Client } from 'graphql-ws';
import { envPrefix } from '../../shared/config/config.js';
import { repoRoot } from '../../shared/config/paths.js';
import { seedId } from '../../shared/store/seed.js';
import { SEED_PASSWORD } from '../../subgraphs/accounts/seed.js';
import { subgraphs } from '../../subgraphs/index.js';
import { STOCK_CHANGED } from '../../subgraphs/inventory/resolvers/stock.resolver.js';
import { ensureBuilt } from '../support/built.js';
import { TEST_JWT_SECRET, TEST_SIGNING_SECRET } from '../support/config.js';
import { startTestSubgraph, type TestSubgraph } from '../support/subgraph.js';
import { subscribersOf } from '../support/subscriptions.js';

/*
 * Issue 16's scale rule: 1,000 concurrent WebSocket subscriptions on one gateway process (a
 * real child process, so its RSS is its own), every one receiving the event one adjustStock
 * publishes, with catalog's `name` joined per event, and the gateway's memory back near where it
 * was once they have all closed. Each gateway subscription holds a connection of its own to
 * inventory (the signed `connection_init` covers one operation): 2,000 sockets in the gateway,
 * well under this machine's 20,000 descriptors (`ulimit -n`).
 */

const GATEWAY_MAIN = join(repoRoot, 'dist/bin/gateway.js');
/** Preloaded into the gateway (with `--expose-gc`): SIGUSR2 runs a full GC, so what is read next is what is retained. */
const COLLECT_ON_SIGNAL = join(repoRoot, 'dist/bench/collect-on-signal.js');
const SUBSCRIBERS = 1_000;
const PRODUCT = seedId('product', '300000000003');
const ADJUST = `mutation($id: ID!, $delta: Int!) { adjustStock(productId: $id, delta: $delta) { quantity } }`;
const STOCK = `subscription($ids: [ID!]) { stockChanged(productIds: $ids) { quantity inStock product { name } } }`;
/** Bounds of one round: subscribing all, the event reaching all, and all of them leaving. */
const SUBSCRIBE_MS = 30_000;
const DELIVER_MS = 20_000;
const LEAVE_MS = 15_000;
/** Clients connecting at once. */
const WAVE = 100;
/** How long the gateway's memory may take to settle once every subscriber has left. */
const SETTLE_MS = 10_000;

/** File descriptors the process holds: its sockets, each client's and each upstream one. */
const fdsOf = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
const rssMiB = (pid: number) => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/** A failure as a line: a close event's code and reason, an error event's message, or GraphQL errors. */
function describeFailure(failure: unknown): string {
  if (Array.isArray(failure)) return JSON.stringify(failure);
  const { code, reason, message, type } = failure as { code?: number; reason?: string; message?: string; type?: string };
  return [type, code, reason, message].filter((part) => part !== undefined && part !== '').join(' ');
}

interface Gateway {
  child: ChildProcess;
  url: string;
}

/** `node dist/bin/gateway.js` over the test's subgraphs; resolves once it listens. */
async function spawnGateway(running: TestSubgraph[]): Promise<Gateway> {
  for (const built of [GATEWAY_MAIN, COLLECT_ON_SIGNAL])
    if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` first`);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    GATEWAY_PORT: '0',
    METRICS: 'true',
    RATE_LIMIT: '0',
    // Every client of this test is one anonymous caller on one address: the per-caller limit (500 by default) would refuse half.
    SUBSCRIPTIONS_PER_USER: String(SUBSCRIBERS),
    SUBSCRIPTION_CONNECTIONS_PER_IP: String(SUBSCRIBERS),
    // As `npm start` runs it: fewer malloc arenas, so RSS follows what the process holds rather than per-thread slack.
    MALLOC_ARENA_MAX: '2',
    SUBGRAPH_SIGNING_SECRET: TEST_SIGNING_SECRET,
    JWT_SECRET: TEST_JWT_SECRET,
    ...Object.fromEntries(running.map((subgraph) => [`${envPrefix(subgraph.name)}_URL`, subgraph.url])),
  };
  const child = spawn(process.execPath, ['--expose-gc', '--import', COLLECT_ON_SIGNAL, GATEWAY_MAIN], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const entry = JSON.parse(line) as { msg?: string; url?: string };
      if (entry.msg === 'gateway listening') resolve(entry.url!);
    });
    void exited.then((code) => reject(new Error(`the gateway exited (${code}) before listening: ${stderr}`)));
  });
  return { child, url };
}

async function post(url: string, query: string, variables: Record<string, unknown>, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: Record<string, any>; errors?: unknown[] };
}

describe('1,000 WebSocket subscriptions on one gateway process', () => {
  let running: TestSubgraph[];
  let gateway: Gateway;
  let staff: Record<string, string>;

  beforeAll(async () => {
    await ensureBuilt();
    running = await Promise.all(subgraphs.map((definition) => startTestSubgraph(definition)));
    gateway = await spawnGateway(running);
    const login = await post(gateway.url, `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`, {
      e: 'grace@example.com',
      p: SEED_PASSWORD,
    });
    staff = { authorization: `Bearer ${login.data!.login.accessToken}` };
  }, 120_000);
  afterAll(async () => {
    gateway?.child.kill('SIGKILL');
    await Promise.all((running ?? []).map((subgraph) => subgraph.stop()));
  });

  const inventoryPubSub = () => running.find((s) => s.name === 'inventory')!.pubSub;

  /** One round: SUBSCRIBERS clients subscribe, one adjustStock reaches every one, all leave. */
  async function round(): Promise<{
    received: number;
    subscribedMs: number;
    deliveredMs: number;
    catalogRequests: number;
    heldRss: number;
    heldFds: number;
  }> {
    const clients: Client[] = [];
    const received: (number | undefined)[] = Array.from({ length: SUBSCRIBERS }, () => undefined);
    const failures: unknown[] = [];
    let wake = () => {};
    const t0 = Date.now();
    try {
      // In waves, as clients arrive: a thousand connects at once overflow the listener's backlog (511), and the kernel resets the rest.
      for (let wave = 0; wave < SUBSCRIBERS; wave += WAVE) {
        const connected: Promise<void>[] = [];
        for (let i = wave; i < Math.min(SUBSCRIBERS, wave + WAVE); i++) {
          let onConnected = () => {};
          connected.push(new Promise<void>((resolve) => (onConnected = resolve)));
          const client = createClient({
            url: gateway.url.replace(/^http/, 'ws'),
            webSocketImpl: WebSocket,
            retryAttempts: 0,
            lazy: true,
            on: { connected: () => onConnected(), error: (error) => void (failures.push(error), onConnected()) },
          });
          clients.push(client);
          client.subscribe<Record<string, any>>(
            { query: STOCK, variables: { ids: [PRODUCT] } },
            {
              next: (event) => {
                if (event.errors) failures.push(event.errors);
                received[i] ??= event.data?.stockChanged?.quantity;
                wake();
              },
              error: (error) => void failures.push(error),
              complete: () => undefined,
            },
          );
        }
        await Promise.all(connected);
      }
      // Every subscription has reached inventory, through the gateway: only then is an event bound to reach all.
      const subscribing = Date.now() + SUBSCRIBE_MS;
      while (inventoryPubSub().subscriberCount(STOCK_CHANGED) < SUBSCRIBERS && failures.length === 0 && Date.now() < subscribing)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(failures.slice(0, 3).map(describeFailure)).toEqual([]);
      expect(inventoryPubSub().subscriberCount(STOCK_CHANGED)).toBe(SUBSCRIBERS);
      const subscribedMs = Date.now() - t0;
      const catalog = running.find((s) => s.name === 'catalog')!;
      catalog.resetRequests();
      const t1 = Date.now();
      const { data, errors } = await post(gateway.url, ADJUST, { id: PRODUCT, delta: -1 }, staff);
      expect(errors).toBeUndefined();
      const quantity = data!.adjustStock.quantity as number;
      const deadline = Date.now() + DELIVER_MS;
      const count = () => received.filter((q) => q !== undefined).length;
      while (count() < SUBSCRIBERS && failures.length === 0 && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 100);
        });
      }
      expect(failures.slice(0, 3).map(describeFailure)).toEqual([]);
      return {
        received: received.filter((q) => q === quantity).length,
        subscribedMs,
        deliveredMs: Date.now() - t1,
        catalogRequests: catalog.requests(),
        heldRss: rssMiB(gateway.child.pid!),
        heldFds: fdsOf(gateway.child.pid!),
      };
    } finally {
      await Promise.all(clients.map((client) => client.dispose()));
      await subscribersOf(inventoryPubSub(), STOCK_CHANGED, 0, LEAVE_MS);
    }
  }

  /**
   * The gateway's memory once a full GC has run (SIGUSR2, bench/collect-on-signal.ts): VmRSS, and
   * the heap V8 still holds (`nodejs_heap_size_used_bytes` of its /metrics), in MiB.
   */
  async function collected(): Promise<{ rss: number; heap: number; fds: number }> {
    gateway.child.kill('SIGUSR2');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const metrics = await (await fetch(gateway.url.replace(/\/graphql$/, '/metrics'))).text();
    const heap = Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(metrics)![1]) / 2 ** 20;
    return { rss: rssMiB(gateway.child.pid!), heap, fds: fdsOf(gateway.child.pid!) };
  }

  /**
   * The memory once it has settled: right after the last subscriber left, a full GC still found
   * 20–50 MiB of their heap alive (closings under way); a second later, and from then on, the
   * floor. So: collected every half second until the heap stops falling, for at most SETTLE_MS.
   */
  async function settled(): Promise<{ rss: number; heap: number; fds: number }> {
    const deadline = Date.now() + SETTLE_MS;
    let last = await collected();
    for (;;) {
      const next = await collected();
      if (next.heap > last.heap - 1 || Date.now() > deadline) return next;
      last = next;
    }
  }

  it('delivers one adjustStock to every subscriber, and gives the memory back once they leave', async () => {
    const started = await settled();
    // A warm-up round first: its code compiled, V8's heap and glibc's arenas grown to their working size.
    const warmUp = await round();
    expect(warmUp.received).toBe(SUBSCRIBERS);
    const baseline = await settled();
    const measured = await round();
    expect(measured.received).toBe(SUBSCRIBERS);
    const after = await settled();
    console.log(
      `${SUBSCRIBERS} subscriptions on the gateway (MiB after a full GC): ` +
        `RSS ${started.rss.toFixed(0)} at start, ${warmUp.heldRss.toFixed(0)} holding them, ${baseline.rss.toFixed(0)} after the warm-up, ` +
        `${measured.heldRss.toFixed(0)} holding them again, ${after.rss.toFixed(0)} after; heap ${started.heap.toFixed(0)}, ${baseline.heap.toFixed(0)}, ${after.heap.toFixed(0)}. ` +
        `File descriptors ${baseline.fds}, ${measured.heldFds} holding them, ${after.fds} after. ` +
        `Subscribed in ${measured.subscribedMs} ms, the event reached all in ${measured.deliveredMs} ms, ` +
        `joined with ${measured.catalogRequests} catalog fetches.`,
    );
    // The subscriptions are alike: they share a join while one is under way, so the event costs
    // catalog a few fetches, not one per subscriber (which, on a busy machine, took catalog past
    // SUBGRAPH_TIMEOUT_MS: GATEWAY_TIMEOUT at stockChanged.product.name).
    expect(measured.catalogRequests).toBeLessThan(SUBSCRIBERS / 10);
    /*
     * "Near", from measurements on this 2-core machine (shared with other work), each figure
     * after a full GC, six rounds in a row: RSS went 210 MiB at start, 354 after the first round
     * and 369–379 after each of the next five. Neither V8 nor glibc gives the pages of a first
     * peak back to the system, so the start itself is out of reach; growth stops after the
     * first round. The heap V8 retains went 57 at start, then 55–63 after every round, while
     * the thousand subscriptions held about 30 MiB of it. So, against the warm-up's figures:
     * the heap within 16 MiB (a leak of half of what each subscription holds would exceed it),
     * RSS within 64 MiB (2.5 times the largest growth seen after the first round), and every
     * socket closed (two a subscription while held: the client's and the one to inventory).
     */
    // (Keep-alive sockets to the subgraphs may close meanwhile: counted from the fewer either side.)
    expect(measured.heldFds).toBeGreaterThanOrEqual(Math.min(baseline.fds, after.fds) + 2 * SUBSCRIBERS);
    expect(after.fds).toBeLessThan(baseline.fds + 20);
    expect(after.heap).toBeLessThan(baseline.heap + 16);
    expect(after.rss).toBeLessThan(baseline.rss + 64);
  }, 120_000);
});
