import { EventEmitter } from 'node:events';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { z } from 'zod';
import { inventory } from '../../subgraphs/inventory/index.js';
import { testSubgraphConfig } from '../../test/support/config.js';
import { receiver, testQueues, waitFor, type QueueBackend } from '../../test/support/jobs.js';
import { freshStore } from '../../test/support/postgres.js';
import { testLogger } from '../../test/support/subgraph.js';
import { createLifecycle } from '../lifecycle/lifecycle.js';
import { migrateUp, openStore, type EntityManager, type Orm } from '../store/orm.js';
import { startSubgraph } from '../subgraph/boot.js';
import { storeEntities } from '../subgraph/definition.js';
import type { JobsDeclaration } from './definition.js';
import { MemoryJobQueues } from './memory-queues.js';
import { OutboxMessage } from './outbox.entity.js';
import type { JobQueues } from './queues.js';
import { createJobsRuntime, type JobsRuntime } from './runtime.js';

/** What the fixture's jobs did, in order. */
let runs: { job: string; n: number; attempt: number }[] = [];
/** The `slow` job waits on this until the test opens it. */
let slowGate: { open(): void; opened: Promise<void> };
let slowStarted: number[] = [];

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

const declaration: JobsDeclaration = {
  jobs: {
    record: {
      payload: z.object({ n: z.number().int() }),
      handler: async ({ n }, { attempt }) => void runs.push({ job: 'record', n, attempt }),
    },
    deliver: {
      payload: z.object({ url: z.string() }),
      attempts: 3,
      backoffMs: 150,
      handler: async ({ url }, { attempt }) => {
        const response = await fetch(url, { method: 'POST', headers: { 'x-attempt': String(attempt) }, body: '{}' });
        await response.body?.cancel();
        if (!response.ok) throw new Error(`the receiver answered ${response.status}`);
        runs.push({ job: 'deliver', n: 0, attempt });
      },
    },
    doomed: {
      payload: z.object({}),
      attempts: 3,
      backoffMs: 20,
      handler: async () => {
        throw new Error('the receiver is gone for good');
      },
    },
    slow: {
      payload: z.object({ n: z.number().int() }),
      handler: async ({ n }, { attempt }) => {
        slowStarted.push(n);
        await slowGate.opened;
        runs.push({ job: 'slow', n, attempt });
      },
    },
  },
};

const QUEUE = 'inventory';
const config = { workers: true, concurrency: 2, relayIntervalMs: 0 };

describe.each<QueueBackend>(['memory', 'bullmq'])('jobs through the outbox on %s queues', (backend) => {
  const { store, drop } = freshStore('inventory');
  let orm: Orm;
  let queues: JobQueues;
  let disposeQueues: () => Promise<void>;
  const runtimes: JobsRuntime[] = [];

  function runtime(options: { haltBeforeRelay?: boolean; workers?: boolean; concurrency?: number } = {}): JobsRuntime {
    const started = createJobsRuntime({
      name: QUEUE,
      declaration,
      orm,
      queues,
      config: { ...config, workers: options.workers ?? true, concurrency: options.concurrency ?? config.concurrency },
      logger: testLogger,
      services: {},
      haltBeforeRelay: options.haltBeforeRelay,
    });
    runtimes.push(started);
    return started;
  }

  /** Requests a job in a transaction of its own that commits. */
  async function commitJob(jobs: JobsRuntime, name: string, payload: unknown): Promise<void> {
    const em = orm.em.fork() as EntityManager;
    const writer = jobs.writer(em);
    writer.enqueue(name, payload);
    await em.flush();
    writer.committed();
  }

  beforeAll(async () => {
    orm = await openStore({ name: 'inventory', store, entities: storeEntities(inventory), logger: testLogger });
    await migrateUp(orm);
  });

  beforeEach(async () => {
    runs = [];
    slowStarted = [];
    slowGate = gate();
    ({ queues, dispose: disposeQueues } = testQueues(backend));
    await orm.em.fork().nativeDelete(OutboxMessage, {});
  });

  afterEach(async () => {
    slowGate.open();
    await Promise.all(runtimes.splice(0).map((jobs) => jobs.stop()));
    await disposeQueues();
  });

  afterAll(async () => {
    await orm.close();
    await drop();
  });

  it('runs a job requested in a committed transaction once, after the commit; one rolled back never', async () => {
    const jobs = runtime();
    await jobs.start();
    await orm.em.fork().transactional(async (em) => {
      jobs.writer(em as EntityManager).enqueue('record', { n: 1 });
      await em.flush();
      // Not committed yet: the relay, on a connection of its own, does not see the row.
      expect(await jobs.relay()).toBe(0);
    });
    await jobs.relay();
    await waitFor('the committed job', () => runs.length === 1);

    await expect(
      orm.em.fork().transactional(async (em) => {
        jobs.writer(em as EntityManager).enqueue('record', { n: 2 });
        await em.flush();
        throw new Error('the write fails after enqueueing');
      }),
    ).rejects.toThrow('the write fails');
    expect(await jobs.relay()).toBe(0);
    expect(await orm.em.fork().count(OutboxMessage, {})).toBe(1);
    // Room for a wrongly queued second job to run.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(runs).toEqual([{ job: 'record', n: 1, attempt: 1 }]);
  });

  it('relays on restart what a process stopped between commit and relay left, once, however often it is relayed', async () => {
    const killed = runtime({ haltBeforeRelay: true });
    await killed.start();
    await commitJob(killed, 'record', { n: 7 });
    expect(await killed.relay()).toBe(0);
    await killed.stop();
    expect(await orm.em.fork().count(OutboxMessage, { relayedAt: null })).toBe(1);

    const restarted = runtime();
    await restarted.start();
    await waitFor('the job left in the outbox', () => runs.length === 1);
    // A relay that queued the row but died before marking it: the row is relayed again, under the same id.
    await orm.em.fork().nativeUpdate(OutboxMessage, {}, { relayedAt: null });
    expect(await restarted.relay()).toBe(1);
    const second = runtime();
    await second.start();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(runs).toEqual([{ job: 'record', n: 7, attempt: 1 }]);
    expect((await queues.counts(QUEUE)).completed).toBe(1);
  });

  it('retries a failing delivery with exponential backoff: three attempts, one success', async () => {
    const hook = await receiver([500, 503, 200]);
    try {
      const jobs = runtime();
      await jobs.start();
      await commitJob(jobs, 'deliver', { url: hook.url });
      await waitFor('the successful delivery', () => runs.length === 1);
      expect(hook.received.map((request) => request.headers['x-attempt'])).toEqual(['1', '2', '3']);
      expect(runs).toEqual([{ job: 'deliver', n: 0, attempt: 3 }]);
      const [first, second, third] = hook.received.map((request) => request.at);
      // 150 ms before the first retry, 300 before the second (less a little for clock granularity).
      expect(second! - first!).toBeGreaterThanOrEqual(140);
      expect(third! - second!).toBeGreaterThanOrEqual(290);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(hook.received).toHaveLength(3);
      expect(await queues.failed(QUEUE)).toEqual([]);
    } finally {
      await hook.close();
    }
  });

  it('puts a job that always fails in the failed set with its error, after its attempts', async () => {
    const jobs = runtime();
    await jobs.start();
    await commitJob(jobs, 'doomed', {});
    await waitFor('the failed job', async () => (await queues.failed(QUEUE)).length === 1);
    expect(await queues.failed(QUEUE)).toEqual([
      expect.objectContaining({ name: 'doomed', attemptsMade: 3, error: 'the receiver is gone for good' }),
    ]);
  });

  it('on stopping, takes no more jobs, lets the running one finish, and leaves the queued ones for the next start', async () => {
    const jobs = runtime({ concurrency: 1 });
    await jobs.start();
    for (const n of [1, 2, 3]) await commitJob(jobs, 'slow', { n });
    await waitFor('the first job running', () => slowStarted.length === 1);
    let stopped = false;
    const stopping = jobs.stopWorkers().then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(stopped).toBe(false);
    slowGate.open();
    await stopping;
    expect(runs.map((run) => run.n)).toEqual([slowStarted[0]]);
    expect(slowStarted).toHaveLength(1);
    expect((await queues.counts(QUEUE)).waiting).toBe(2);

    const next = runtime();
    await next.start();
    await waitFor('the queued jobs', () => runs.length === 3);
    expect(runs.map((run) => run.n).sort()).toEqual([1, 2, 3]);
  });

  it('a SIGTERM to the subgraph lets its running job finish within the grace and leaves the queued ones', async () => {
    const signals = new EventEmitter();
    const exits: number[] = [];
    const lifecycle = createLifecycle({ logger: testLogger, graceMs: 10_000, delayMs: 0, signals, exit: (code) => void exits.push(code) });
    const definition = { ...inventory, jobs: { ...inventory.jobs, ...declaration.jobs } };
    const subgraphConfig = testSubgraphConfig('inventory', store, { seedOnStart: false, jobs: { ...config, concurrency: 1 } });
    const running = await startSubgraph({ definition, config: subgraphConfig, logger: testLogger, lifecycle, queues });
    lifecycle.onShutdown('subgraph', running.stop);
    lifecycle.serving(running.server);
    for (const n of [1, 2, 3]) await commitJob(running.jobs, 'slow', { n });
    await waitFor('the first job running', () => slowStarted.length === 1);
    signals.emit('SIGTERM', 'SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(exits).toEqual([]);
    slowGate.open();
    await waitFor('the exit', () => exits.length === 1);
    expect(exits).toEqual([0]);
    expect(runs).toHaveLength(1);
    expect(await orm.em.fork().count(OutboxMessage, { relayedAt: null })).toBe(0);
    expect((await queues.counts(QUEUE)).waiting).toBe(2);
  });

  it('leaves jobs queued in a process without workers (JOBS_WORKERS=false) for a worker process', async () => {
    const api = runtime({ workers: false });
    await api.start();
    await commitJob(api, 'record', { n: 3 });
    await waitFor('the job queued', async () => (await queues.counts(QUEUE)).waiting === 1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(runs).toEqual([]);
    const worker = runtime();
    await worker.start();
    await waitFor('the worker to run it', () => runs.length === 1);
  });

  it("copies an event onto each consumer's own queue, once, whichever of them runs it", async () => {
    const heard: { consumer: string; productId: string; jobId: string }[] = [];
    const consumer = (name: string) =>
      createJobsRuntime({
        name,
        declaration: {
          events: {
            consumes: {
              'inventory.StockLow': {
                payload: z.object({ productId: z.string(), quantity: z.number() }),
                handler: async ({ productId }, { jobId }) => void heard.push({ consumer: name, productId, jobId }),
              },
            },
          },
        },
        orm,
        outbox: false,
        queues,
        config,
        logger: testLogger,
        services: {},
      });
    const consumers = [consumer('catalog'), consumer('reviews')];
    runtimes.push(...consumers);
    for (const started of consumers) await started.start();
    const publisher = createJobsRuntime({ name: QUEUE, declaration: inventory, orm, queues, config, logger: testLogger, services: {} });
    runtimes.push(publisher);
    await publisher.start();
    const em = orm.em.fork() as EntityManager;
    const writer = publisher.writer(em);
    const productId = '7b0c1f52-8f1e-4c43-9d43-2d1f6f0a0201';
    writer.emit('StockLow', { productId, quantity: 2 });
    await em.flush();
    writer.committed();
    await waitFor('both consumers', () => heard.length === 2);
    // Relayed again: still once each.
    await orm.em.fork().nativeUpdate(OutboxMessage, {}, { relayedAt: null });
    await publisher.relay();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(heard.map((event) => event.consumer).sort()).toEqual(['catalog', 'reviews']);
    expect(new Set(heard.map((event) => event.jobId)).size).toBe(1);
    expect(() => writer.emit('StockHigh', { productId })).toThrow('inventory publishes no event StockHigh');
  });

  it('fires a schedule', async () => {
    const jobs = createJobsRuntime({
      name: QUEUE,
      declaration: { ...declaration, schedules: { tick: { job: 'record', payload: { n: 5 }, everyMs: 300 } } },
      orm,
      queues,
      config,
      logger: testLogger,
      services: {},
    });
    runtimes.push(jobs);
    await jobs.start();
    await waitFor('two ticks', () => runs.length >= 2, 10_000);
    expect(runs.slice(0, 2)).toEqual([
      { job: 'record', n: 5, attempt: 1 },
      { job: 'record', n: 5, attempt: 1 },
    ]);
  });
});

describe('a cron schedule on a fake clock (memory queues)', () => {
  afterEach(() => void jest.useRealTimers());

  it('enqueues at the next 03:00 of its time zone, and the day after', async () => {
    // 00:59:50 UTC on 1 January: 01:59:50 in Paris (UTC+1 in winter); the job is due at 03:00 Paris, 02:00 UTC.
    jest.useFakeTimers({ now: Date.UTC(2026, 0, 1, 0, 59, 50), doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const fired: number[] = [];
    const queues = new MemoryJobQueues();
    const jobs = createJobsRuntime({
      name: 'clock',
      declaration: {
        jobs: { purge: { payload: z.object({}), handler: async () => void fired.push(Date.now()) } },
        schedules: { nightly: { job: 'purge', payload: {}, cron: '0 3 * * *', timeZone: 'Europe/Paris' } },
      },
      orm: undefined,
      queues,
      config,
      logger: testLogger,
      services: {},
    });
    await jobs.start();
    await jest.advanceTimersByTimeAsync(60 * 60_000);
    expect(fired).toEqual([]);
    await jest.advanceTimersByTimeAsync(20_000);
    expect(fired).toEqual([Date.UTC(2026, 0, 1, 2, 0, 0)]);
    await jest.advanceTimersByTimeAsync(24 * 3600_000);
    expect(fired).toEqual([Date.UTC(2026, 0, 1, 2, 0, 0), Date.UTC(2026, 0, 2, 2, 0, 0)]);
    await jobs.stop();
    await queues.close();
  });
});
