import type { Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { SubgraphConfig } from '../config/subgraph-config.js';
import type { WithSecrets } from '../config/secrets.js';
import { closeServer, listen } from '../http/http.js';
import { MemoryNonceStore, RedisNonceStore } from '../identity/nonce-store.js';
import type { Lifecycle } from '../lifecycle/lifecycle.js';
import type { Logger } from '../observability/logger.js';
import { listenMetrics } from '../observability/metrics.js';
import { createRedisClient, redisReady } from '../redis/redis.js';
import { createPurgePublisher } from '../cache-tags/purge-channel.js';
import { supervisorHub } from '../ipc/supervisor-hub.js';
import { migrateUp, openStore, type EntityManager, type Orm } from '../store/orm.js';
import { createSubgraphApp } from './app.js';
import { hasStore, storeEntities, type StoreSubgraphDefinition, type SubgraphDefinition } from './definition.js';
import { buildFederatedSchema } from './schema.js';
import { createSubgraphPubSub, type SubgraphPubSub } from './pubsub.js';
import { observeSubscribers } from './metrics.js';
import { createStartupGate, type StartupPhase } from './startup.js';
import { serveSubscriptions } from './subscriptions.js';
import { withAuditRetention } from '../jobs/audit-retention.js';
import { declaresJobs } from '../jobs/definition.js';
import { createJobMetrics } from '../jobs/metrics.js';
import type { JobQueues, RunListener } from '../jobs/queues.js';
import { createJobQueues, createJobsRuntime, type JobsRuntime } from '../jobs/runtime.js';

/** True when none of the subgraph's tables holds a row. */
async function isEmpty(definition: StoreSubgraphDefinition, orm: Orm): Promise<boolean> {
  const em = orm.em.fork();
  for (const entity of definition.entities) {
    if ((await em.count(entity as never, {})) > 0) return false;
  }
  return true;
}

export interface PrepareStoreOptions {
  definition: StoreSubgraphDefinition;
  orm: Orm;
  config: Pick<SubgraphConfig, 'migrateOnStart' | 'seedOnStart'>;
  logger: Logger;
  /** The definition's services, which its seed may use. */
  services: object;
  /** Hears each step as it starts. */
  onPhase?: (phase: StartupPhase) => void;
}

/** Applies migrations and inserts seed data into an empty store, as configured; says what it did. */
export async function prepareStore(options: PrepareStoreOptions): Promise<{ migrations: string[]; seeded: boolean }> {
  const { definition, orm, config, logger, services, onPhase = () => undefined } = options;
  if (config.migrateOnStart) onPhase('migrating');
  const migrations = config.migrateOnStart ? await migrateUp(orm) : [];
  if (migrations.length) logger.info({ migrations }, 'migrations applied');
  const { seed } = definition;
  const seeded = config.seedOnStart && !!seed && (await isEmpty(definition, orm));
  if (seeded) {
    onPhase('seeding');
    await orm.em.fork().transactional((em) => seed(em as EntityManager, services));
    logger.info('seed data inserted into the empty store');
  }
  return { migrations, seeded };
}

export interface StartSubgraphOptions {
  definition: SubgraphDefinition;
  config: WithSecrets<SubgraphConfig>;
  logger: Logger;
  /** The process's lifecycle, which refuses requests once shutdown begins; none in tests that start a subgraph in process. */
  lifecycle?: Lifecycle;
  /** The queues; by default the process's (BullMQ with `REDIS_URL`, else in memory). */
  queues?: JobQueues;
  /** For tests: a process that stops between a commit and its relay (shared/jobs/runtime.ts). */
  haltBeforeRelay?: boolean;
}

export interface RunningSubgraph {
  url: string;
  /** Undefined for a storeless subgraph. */
  orm: Orm | undefined;
  server: Server;
  registry: Registry;
  /** What its subscriptions listen to and its mutations publish on: in memory, or on Redis when configured. */
  pubSub: SubgraphPubSub;
  /** Its jobs: the outbox relay, its workers (unless `JOBS_WORKERS=false`), its schedules. */
  jobs: JobsRuntime;
  /** Where its metrics are scraped; undefined when `METRICS=false`. */
  metricsUrl: string | undefined;
  stop(): Promise<void>;
}

/**
 * Listens, opens the store (when it has one), prepares it, and serves the subgraph: what `bin/subgraph.ts` and end-to-end
 * tests run. It listens first (shared/subgraph/startup.ts), so a first start's long migrations and seed
 * show as `starting` with their phase, not as a subgraph that is not there.
 */
export async function startSubgraph(options: StartSubgraphOptions): Promise<RunningSubgraph> {
  const { definition, config, logger, lifecycle } = options;
  const gate = createStartupGate();
  const { server, url } = await listen(lifecycle ? lifecycle.guard(gate.listener) : gate.listener, config.host, config.port);
  logger.info({ url: `${url}/health` }, 'listening while starting');
  let orm: Orm | undefined;
  let redis: ReturnType<typeof createRedisClient> = undefined;
  let pubSub: SubgraphPubSub | undefined;
  let queues: JobQueues | undefined;
  let jobs: JobsRuntime | undefined;
  try {
    // A storeless subgraph opens nothing: no database, no migrations, no seed.
    if (hasStore(definition)) {
      const entities = storeEntities(definition);
      orm = await openStore({ name: definition.name, store: config.store, entities, logger, slowSqlMs: config.slowSqlMs });
    }
    redis = createRedisClient(config.redis, logger);
    const services = definition.createServices?.(config) ?? {};
    if (orm && hasStore(definition)) {
      await prepareStore({ definition, orm, config, logger, services, onPhase: (phase) => gate.phase(phase) });
    }
    // Without Redis, a child of `npm start` reaches the other children's queues and gateway over the supervisor's hub.
    const hub = config.redis.url ? undefined : supervisorHub(config.supervised);
    queues = options.queues ?? createJobQueues(config.redis, logger, hub);
    // Filled in once the registry exists (the app's); the workers look its methods up at each run.
    const jobMetrics: RunListener = {};
    jobs = createJobsRuntime({
      name: definition.name,
      declaration: withAuditRetention(definition, !!definition.audit, config.auditRetentionDays),
      outbox: declaresJobs(definition),
      orm,
      queues,
      config: config.jobs,
      logger,
      services,
      haltBeforeRelay: options.haltBeforeRelay,
      listener: jobMetrics,
      purges: createPurgePublisher(redis, config.redis.prefix, hub),
    });
    if (declaresJobs(definition) || definition.audit) {
      logger.info(
        { queue: queues.kind, workers: config.jobs.workers, concurrency: config.jobs.concurrency },
        queues.kind === 'bullmq' ? 'jobs on BullMQ (Redis)' : 'jobs in memory, in this process (no REDIS_URL): queued jobs end with it',
      );
      await jobs.start();
    }
    gate.phase('building schema');
    pubSub = createSubgraphPubSub({ name: definition.name, redis, prefix: config.redis.prefix, logger });
    const schema = await buildFederatedSchema(definition, pubSub);
    if (redis && !(await redisReady(redis, 3_000)))
      logger.warn('redis is not reachable yet; replayed signatures are refused by this process alone until it is');
    const nonces = redis ? new RedisNonceStore(redis, config.redis.prefix, logger) : new MemoryNonceStore();
    const { app, apollo, registry, createContext, formatError } = await createSubgraphApp({
      definition,
      schema,
      orm,
      config,
      logger,
      services,
      nonces,
      outbox: jobs.writer,
    });
    observeSubscribers(registry, pubSub);
    Object.assign(jobMetrics, createJobMetrics(registry, queues, definition.name));
    const subscriptions = serveSubscriptions({ server, schema, createContext, config, nonces, formatError, logger });
    lifecycle?.onDrain('subscriptions', () => subscriptions.close());
    const runtime = jobs;
    // From the first moment of the drain no job is taken; running ones get the grace period.
    lifecycle?.onGrace('jobs', () => runtime.stopWorkers());
    const metricsListener = await listenMetrics(registry, config.metrics);
    if (metricsListener) logger.info({ url: metricsListener.url }, 'metrics listening');
    gate.open(app);
    // Narrowed once, for stop() to close.
    const store = orm;
    const events = pubSub;
    const jobQueues = queues;
    return {
      url: `${url}/graphql`,
      orm: store,
      server,
      registry,
      pubSub: events,
      jobs: runtime,
      metricsUrl: metricsListener?.url ?? (config.metrics.enabled ? `${url}/metrics` : undefined),
      async stop() {
        // Its WebSockets first: the server's close waits for every connection, upgraded ones too.
        await subscriptions.close();
        await closeServer(server);
        await runtime.stop();
        // The process's memory queues outlive one subgraph (tests start several in one process); BullMQ's connection is this one's.
        if (!options.queues && jobQueues.kind === 'bullmq') await jobQueues.close();
        await metricsListener?.stop();
        await apollo.stop();
        await store?.close();
        await events.close();
        redis?.disconnect();
      },
    };
  } catch (error) {
    await closeServer(server, 0);
    await jobs?.stop();
    if (!options.queues && queues?.kind === 'bullmq') await queues.close();
    await orm?.close();
    await pubSub?.close();
    redis?.disconnect();
    throw error;
  }
}
