import type { SubgraphConfig } from '../config/subgraph-config.js';
import { createPurgePublisher } from '../cache-tags/purge-channel.js';
import type { Logger } from '../observability/logger.js';
import { createRedisClient } from '../redis/redis.js';
import { openStore, type Orm } from '../store/orm.js';
import { hasStore, storeEntities, type SubgraphDefinition } from '../subgraph/definition.js';
import { withAuditRetention } from './audit-retention.js';
import { declaresJobs } from './definition.js';
import type { JobQueues } from './queues.js';
import { createJobQueues, createJobsRuntime, type JobsRuntime } from './runtime.js';

export interface RunningWorkers {
  jobs: JobsRuntime;
  /** Takes no more jobs, lets running ones finish within `graceMs`, closes the store and the queues; queued jobs stay queued. */
  stop(graceMs: number): Promise<void>;
}

/**
 * A subgraph's workers without its API (`npm run worker -- <name>`), to scale them apart: its store (migrated
 * by the API processes, not here), its queues, its relay (which also picks up rows an API process left) and schedules.
 */
export async function runWorkers(options: {
  definition: SubgraphDefinition;
  config: SubgraphConfig;
  logger: Logger;
  queues?: JobQueues;
}): Promise<RunningWorkers> {
  const { definition, config, logger } = options;
  let orm: Orm | undefined;
  if (hasStore(definition)) {
    orm = await openStore({
      name: definition.name,
      store: config.store,
      entities: storeEntities(definition),
      logger,
      poolMax: config.jobs.concurrency + 2,
    });
  }
  const queues = options.queues ?? createJobQueues(config.redis, logger);
  if (queues.kind === 'memory') logger.warn('jobs in memory (no REDIS_URL): this worker runs only what this process enqueues');
  const services = definition.createServices?.(config) ?? {};
  // For the response-cache purges its handlers report (the queues have BullMQ's own connections).
  const redis = createRedisClient(config.redis, logger);
  const jobs = createJobsRuntime({
    name: definition.name,
    declaration: withAuditRetention(definition, !!definition.audit, config.auditRetentionDays),
    outbox: declaresJobs(definition),
    orm,
    queues,
    config: { ...config.jobs, workers: true },
    logger,
    services,
    purges: createPurgePublisher(redis, config.redis.prefix),
  });
  await jobs.start();
  logger.info({ queue: queues.kind, concurrency: config.jobs.concurrency }, 'workers running');
  return {
    jobs,
    async stop(graceMs) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<'cut'>((resolve) => (timer = setTimeout(() => resolve('cut'), graceMs)));
      const ended = await Promise.race([jobs.stop().then(() => 'finished' as const), grace]);
      clearTimeout(timer);
      // Cut short, a running job stays active in Redis: BullMQ's stalled check gives it to another worker.
      if (ended === 'cut') logger.warn({ graceMs }, 'jobs still running at the end of the grace period were left to be retried');
      if (!options.queues) await queues.close();
      await orm?.close();
      redis?.disconnect();
    },
  };
}
