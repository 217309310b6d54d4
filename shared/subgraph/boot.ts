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
import { migrateUp, openStore, type EntityManager, type Orm } from '../store/orm.js';
import { createSubgraphApp } from './app.js';
import { hasStore, storeEntities, type StoreSubgraphDefinition, type SubgraphDefinition } from './definition.js';
import { buildFederatedSchema } from './schema.js';
import { createSubgraphPubSub, type SubgraphPubSub } from './pubsub.js';
import { observeSubscribers } from './metrics.js';
import { createStartupGate, type StartupPhase } from './startup.js';
import { serveSubscriptions } from './subscriptions.js';

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
}

export interface RunningSubgraph {
  url: string;
  /** Undefined for a storeless subgraph. */
  orm: Orm | undefined;
  server: Server;
  registry: Registry;
  /** What its subscriptions listen to and its mutations publish on: in memory, or on Redis when configured. */
  pubSub: SubgraphPubSub;
  /** Where its metrics are scraped; undefined when `METRICS=false`. */
  metricsUrl: string | undefined;
  stop(): Promise<void>;
}

/**
 * Listens, opens the store (when it has one), prepares it, and serves the subgraph: what `bin/subgraph.ts` and end-to-end
 * tests run. It listens first (shared/subgraph/startup.ts), so a first start's long migrations and seed
 * show as `starting` with their phase, not as a subgraph that is not there.
 */
export async function startSubgraph({ definition, config, logger, lifecycle }: StartSubgraphOptions): Promise<RunningSubgraph> {
  const gate = createStartupGate();
  const { server, url } = await listen(lifecycle ? lifecycle.guard(gate.listener) : gate.listener, config.host, config.port);
  logger.info({ url: `${url}/health` }, 'listening while starting');
  let orm: Orm | undefined;
  let redis: ReturnType<typeof createRedisClient> = undefined;
  let pubSub: SubgraphPubSub | undefined;
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
    });
    observeSubscribers(registry, pubSub);
    const subscriptions = serveSubscriptions({ server, schema, createContext, config, nonces, formatError, logger });
    lifecycle?.onDrain('subscriptions', () => subscriptions.close());
    const metricsListener = await listenMetrics(registry, config.metrics);
    if (metricsListener) logger.info({ url: metricsListener.url }, 'metrics listening');
    gate.open(app);
    // Narrowed once, for stop() to close.
    const store = orm;
    const events = pubSub;
    return {
      url: `${url}/graphql`,
      orm: store,
      server,
      registry,
      pubSub: events,
      metricsUrl: metricsListener?.url ?? (config.metrics.enabled ? `${url}/metrics` : undefined),
      async stop() {
        // Its WebSockets first: the server's close waits for every connection, upgraded ones too.
        await subscriptions.close();
        await closeServer(server);
        await metricsListener?.stop();
        await apollo.stop();
        await store?.close();
        await events.close();
        redis?.disconnect();
      },
    };
  } catch (error) {
    await closeServer(server, 0);
    await orm?.close();
    await pubSub?.close();
    redis?.disconnect();
    throw error;
  }
}
