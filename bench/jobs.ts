import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { z } from 'zod';
import { loadSubgraphConfig, type StoreConfig } from '../shared/config/subgraph-config.js';
import type { JobsDeclaration } from '../shared/jobs/definition.js';
import { OutboxMessage } from '../shared/jobs/outbox.entity.js';
import { createJobQueues, createJobsRuntime, type JobsRuntime } from '../shared/jobs/runtime.js';
import { createLogger } from '../shared/observability/logger.js';
import { migrateUp, openStore, type EntityManager } from '../shared/store/orm.js';
import { storeEntities } from '../shared/subgraph/definition.js';
import { inventory } from '../subgraphs/inventory/index.js';
import { benchEnv, formatSettings, positiveInt } from './subgraphs.js';

/**
 * `npm run bench -- jobs`: jobs per second from the outbox to done, through the relay and the queue (BullMQ with
 * REDIS_URL, else in memory), with 1 and then BENCH_JOB_WORKERS workers (each BENCH_JOB_CONCURRENCY at a time).
 * BENCH_JOBS jobs per run, written in transactions of 100; the store is inventory's (in-memory PGlite unless DATABASE_URL).
 * Each job is a trivial handler: what is measured is the machinery around it.
 */
const BATCH = 100;

async function main(): Promise<void> {
  const env = benchEnv();
  const jobs = positiveInt(env, 'BENCH_JOBS', 2000);
  const maxWorkers = positiveInt(env, 'BENCH_JOB_WORKERS', 4);
  const concurrency = positiveInt(env, 'BENCH_JOB_CONCURRENCY', 8);
  const logger = createLogger('bench-jobs', { logLevel: 'silent', env: 'test' });
  const config = loadSubgraphConfig('inventory', 0, env);
  const store: StoreConfig = config.store.kind === 'postgresql' ? config.store : { kind: 'pglite', dataDir: 'memory://' };
  const prefix = `${config.redis.prefix}bench-${randomBytes(4).toString('hex')}:`;
  console.log(
    formatSettings({
      queues: config.redis.url ? `BullMQ (REDIS_URL), keys under ${prefix}` : 'in memory (no REDIS_URL)',
      store: store.kind === 'postgresql' ? `PostgreSQL database ${store.dbName}` : 'in-memory PGlite',
      jobs: `${jobs} per run, written ${BATCH} per transaction`,
      workers: `1 and ${maxWorkers}, each running ${concurrency} at a time`,
    }),
  );
  const orm = await openStore({ name: 'inventory', store, entities: storeEntities(inventory), logger, poolMax: maxWorkers + 4 });
  await migrateUp(orm);
  let done = 0;
  const declaration: JobsDeclaration = { jobs: { tick: { payload: z.object({ n: z.number() }), handler: async () => void done++ } } };
  try {
    for (const workers of [...new Set([1, maxWorkers])]) {
      const queue = `bench-${workers}-${randomBytes(3).toString('hex')}`;
      const queues = createJobQueues({ url: config.redis.url, prefix }, logger);
      const runtimes: JobsRuntime[] = Array.from({ length: workers }, () =>
        createJobsRuntime({
          name: queue,
          declaration,
          orm,
          queues,
          config: { workers: true, concurrency, relayIntervalMs: 0 },
          logger,
          services: {},
        }),
      );
      for (const runtime of runtimes) await runtime.start();
      done = 0;
      const started = performance.now();
      for (let written = 0; written < jobs; written += BATCH) {
        const em = orm.em.fork() as EntityManager;
        const writer = runtimes[0]!.writer(em);
        for (let n = written; n < Math.min(jobs, written + BATCH); n++) writer.enqueue('tick', { n });
        await em.flush();
        writer.committed();
      }
      // Bounded: a run that stalls for a minute is reported as such.
      const deadline = Date.now() + 60_000;
      while (done < jobs && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      const seconds = (performance.now() - started) / 1000;
      console.log(
        `${String(workers).padStart(2)} worker${workers === 1 ? ' ' : 's'}: ${done}/${jobs} jobs in ${seconds.toFixed(2)} s, ${Math.round(done / seconds)} jobs/s`,
      );
      for (const runtime of runtimes) await runtime.stop();
      await queues.close();
      await orm.em.fork().nativeDelete(OutboxMessage, {});
      if (done < jobs) process.exitCode = 1;
    }
  } finally {
    await orm.close();
    if (config.redis.url) await deleteKeys(config.redis.url, prefix);
  }
}

/** The run's keys: BullMQ keeps done jobs for days, a bench's are of no use after it. */
async function deleteKeys(url: string, prefix: string): Promise<void> {
  const { Redis } = createRequire(import.meta.url)('ioredis') as typeof import('ioredis');
  const redis = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
