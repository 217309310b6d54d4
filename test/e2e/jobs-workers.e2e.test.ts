import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { repoRoot } from '../../shared/config/paths.js';
import { migrateUp, openStore, type EntityManager, type Orm } from '../../shared/store/orm.js';
import { storeEntities } from '../../shared/subgraph/definition.js';
import { OutboxWriter } from '../../shared/jobs/outbox.js';
import { inventory } from '../../subgraphs/inventory/index.js';
import { webhookSignature } from '../../subgraphs/inventory/stock-low.js';
import { ensureBuilt } from '../support/built.js';
import { TEST_JWT_SECRET, TEST_SIGNING_SECRET } from '../support/config.js';
import { deleteKeys, receiver, testRedisUrl, waitFor } from '../support/jobs.js';
import { freshStore } from '../support/postgres.js';
import { testLogger } from '../support/subgraph.js';

/*
 * `npm run worker -- inventory`, twice, on one BullMQ queue: 200 deliveries of StockLow, each made exactly
 * once, shared between the two processes (each relays the outbox too: a row both relay is queued once).
 */

const WORKER_MAIN = join(repoRoot, 'dist/bin/worker.js');
const JOBS = 200;
const SECRET = 'stock-webhook-secret-0123456789abcdef-0123';

interface Worker {
  child: ChildProcess;
  /** Messages it logged, in order. */
  messages: string[];
  exited: Promise<number | NodeJS.Signals | null>;
}

function spawnWorker(env: NodeJS.ProcessEnv): Worker {
  const child = spawn(process.execPath, [WORKER_MAIN, 'inventory'], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      SUBGRAPH_SIGNING_SECRET: TEST_SIGNING_SECRET,
      JWT_SECRET: TEST_JWT_SECRET,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const messages: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      messages.push(String((JSON.parse(line) as { msg?: unknown }).msg));
    } catch {
      // not a log line
    }
  });
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  return { child, messages, exited };
}

describe('two worker processes', () => {
  const { store, drop } = freshStore('inventory');
  const prefix = `test-jobs-${randomUUID()}:`;
  let orm: Orm;

  beforeAll(async () => {
    await ensureBuilt();
    orm = await openStore({ name: 'inventory', store, entities: storeEntities(inventory), logger: testLogger });
    await migrateUp(orm);
  }, 300_000);

  afterAll(async () => {
    await orm.close();
    await drop();
    await deleteKeys(prefix);
  });

  it(`never run the same job twice (${JOBS} deliveries, each made once)`, async () => {
    // Each answer takes a while, so that neither process drains the queue before the other has started.
    const hook = await receiver([200], 30);
    if (store.kind !== 'postgresql') throw new Error('the test stores are on PostgreSQL');
    const databaseUrl = new URL(store.clientUrl);
    databaseUrl.pathname = `/${store.dbName}`;
    const env = {
      INVENTORY_DATABASE_URL: databaseUrl.toString(),
      REDIS_URL: testRedisUrl,
      REDIS_PREFIX: prefix,
      STOCK_WEBHOOK_URL: hook.url,
      STOCK_WEBHOOK_SECRET: SECRET,
      JOBS_CONCURRENCY: '4',
      JOBS_RELAY_INTERVAL_MS: '200',
    };
    const workers = [spawnWorker(env), spawnWorker(env)];
    try {
      await waitFor('both workers running', () => workers.every((worker) => worker.messages.includes('workers running')), 30_000);
      const em = orm.em.fork() as EntityManager;
      const writer = new OutboxWriter('inventory', inventory, em);
      const products = Array.from({ length: JOBS }, () => randomUUID());
      for (const productId of products) writer.enqueue('deliverStockLow', { productId, quantity: 1 });
      await em.flush();

      await waitFor(`${JOBS} deliveries`, () => hook.received.length >= JOBS, 60_000);
      // Room for a duplicate to arrive.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(hook.received).toHaveLength(JOBS);
      const deliveries = new Set(hook.received.map((request) => request.headers['x-tessera-delivery']));
      expect(deliveries.size).toBe(JOBS);
      expect(new Set(hook.received.map((request) => (JSON.parse(request.body) as { productId: string }).productId))).toEqual(
        new Set(products),
      );
      for (const request of hook.received) expect(request.headers['x-tessera-signature']).toBe(webhookSignature(SECRET, request.body));
      // Both took their share.
      for (const worker of workers) expect(worker.messages.filter((message) => message === 'StockLow delivered').length).toBeGreaterThan(0);

      for (const worker of workers) worker.child.kill('SIGTERM');
      expect(await Promise.all(workers.map((worker) => worker.exited))).toEqual([0, 0]);
    } finally {
      for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
      await hook.close();
    }
  }, 120_000);
});
