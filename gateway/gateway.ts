import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { InMemoryLRUCache } from '@apollo/utils.keyvaluecache';
import express, { type Express } from 'express';
import type { DocumentNode } from 'graphql';
import type { Registry } from 'prom-client';
import type { RoutedGatewayConfig } from '../shared/config/config.js';
import type { WithSecrets } from '../shared/config/secrets.js';
import { createFormatError, ErrorCode, ShuttingDownError } from '../shared/errors/errors.js';
import { StartupError } from '../shared/errors/fatal.js';
import { enterRequestScope, graphqlErrorHandler, healthRoutes } from '../shared/http/http.js';
import { requestScope } from '../shared/http/request-scope.js';
import { traceRequests, useTracing } from '../shared/observability/tracing.js';
import { newCacheTags } from '../shared/cache-tags/cache-tags.js';
import { signedRequestHeaders } from '../shared/identity/signed-requests.js';
import { createRedisClient, redisReady, redisState, type RedisClient } from '../shared/redis/redis.js';
import { assertMetricsOffPublicPort, createMetricsRegistry, metricsRoutes } from '../shared/observability/metrics.js';
import { apolloLogger, type Logger } from '../shared/observability/logger.js';
import { authenticatedCaller, createTokenVerifier, type TokenRefusedError, type TokenVerifier } from '../shared/identity/tokens.js';
import type { GatewayContext } from './context.js';
import { withFailuresAtFields } from './subgraph-calls/failures.js';
import { RedisApqCache } from './persisted-documents/redis-apq-cache.js';
import { JOB_BOARD_PATH } from './admin/job-board-path.js';
import { MemoryResponseCacheStore } from './response-cache/memory-store.js';
import { RedisResponseCacheStore } from './response-cache/redis-store.js';
import { corsPolicy, documentCheck, securityHeaders, varyByCaller } from './protection/http-guards.js';
import { jsonBody } from '../shared/http/json-body.js';
import { persistedQueryGuard } from './persisted-documents/apq-guard.js';
import { countQueryPlans, createGatewayMetrics, responseCacheObserver, subscriptionObserver } from './observability/metrics.js';
import { useCallerCheck } from './auth/caller-check.js';
import { useCostLimit } from './protection/cost-limit.js';
import { useMetrics } from './observability/metrics-plugin.js';
import { operationLimitsRule } from './protection/operation-limits.js';
import { deferLabelsRule } from './executor/deferred-document.js';
import { useIntrospection } from './protection/introspection.js';
import { GRAPHIQL_PATH, graphiqlPage, pointingToGraphiql } from './graphiql/graphiql.js';
import { useRateLimit } from './rate-limit/plugin.js';
import { useRequestLogging } from './observability/request-logging.js';
import { MemoryRateLimiter } from './rate-limit/limiter.js';
import { RedisRateLimiter } from './rate-limit/redis-limiter.js';
import { useResponseCache } from './response-cache/plugin.js';
import { subscribeToPurges } from './response-cache/purge-subscriber.js';
import { supervisorHub } from '../shared/ipc/supervisor-hub.js';
import { TesseraGateway, unroutable } from './executor/engine.js';
import { SubscriptionRunner } from './executor/run-subscription.js';
import { createAdmission } from './subscriptions/admission.js';
import { graphqlWsTransport } from './subscriptions/graphql-ws.js';
import { httpSubscriptions } from './subscriptions/http-streams.js';
import { httpIncremental } from './incremental/http-incremental.js';
import { SubscriptionLimits } from './subscriptions/limits.js';
import { answerCacheHits } from './response-cache/fast-path.js';
import { SubgraphDataSource } from './subgraph-calls/data-source.js';
import { createSubgraphClient, type SubgraphClient } from './subgraph-calls/subgraph-client.js';
import { loadTrustedDocuments, trustedDocumentsGuard } from './persisted-documents/trusted-documents.js';
import { composeFromRunning, routingOf } from './supergraph/supergraph.js';
import { reloadableSupergraph, type ReloadableSupergraph } from './supergraph/reload.js';
import { apolloMiddleware } from '../shared/http/apollo-middleware.js';

interface GatewayOptions {
  config: WithSecrets<
    Pick<
      RoutedGatewayConfig,
      | 'env'
      | 'supergraphPath'
      | 'supergraphReload'
      | 'subgraphs'
      | 'subgraphUrlOverrides'
      | 'signingSecret'
      | 'jwt'
      | 'redis'
      | 'responseCache'
      | 'apqTtlSeconds'
      | 'operationCacheMaxEntries'
      | 'protection'
      | 'metrics'
      | 'trustedDocuments'
      | 'slowOperationMs'
      | 'identitySubgraph'
      | 'subgraphConnections'
      | 'executionConcurrency'
      | 'graphiql'
      | 'introspection'
      | 'executor'
      | 'subscriptions'
      | 'supervised'
    >
  >;
  logger: Logger;
  /** Verifies bearer tokens; by default built from `config.jwt`. */
  verifier?: TokenVerifier;
  /** Where the gateway's metrics go; by default a registry of its own (see `Gateway.registry`). */
  registry?: Registry;
}

export interface Gateway {
  app: Express;
  apollo: ApolloServer<GatewayContext>;
  /** The gateway's metrics, for `/metrics` on `app` or on a listener of its own (`listenMetrics`). */
  registry: Registry;
  /** The supergraph being served, and its live reload. */
  supergraph: ReloadableSupergraph;
  /** Subscriptions over WebSocket: the listening server's `upgrade` event goes here. */
  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Shutdown's first step: every subscription ends with `SHUTTING_DOWN`, and its connection closes. */
  endSubscriptions(): Promise<void>;
  stop(): Promise<void>;
}

/** The response cache's store and the persisted-query cache: on Redis when configured. */
function operationCaches(config: GatewayOptions['config'], redis: RedisClient | undefined) {
  if (!redis) {
    return {
      store: new MemoryResponseCacheStore(config.responseCache.maxEntries),
      apq: new InMemoryLRUCache<string>({ max: config.operationCacheMaxEntries }),
    };
  }
  return { store: new RedisResponseCacheStore(redis, config.redis.prefix), apq: new RedisApqCache(redis, `${config.redis.prefix}apq:`) };
}

/** The rate limiter's counters: on Redis when configured. */
function rateLimiter(config: GatewayOptions['config'], redis: RedisClient | undefined) {
  return redis ? new RedisRateLimiter(redis, config.redis.prefix) : new MemoryRateLimiter();
}

const SUBGRAPH_PROBE_TIMEOUT_MS = 2000;

/**
 * What a subgraph answered a trivial (signed) query with. `starting`: it is at work on its
 * store (shared/subgraph/startup.ts) and says in which phase; `refusing`: it answers, but not with
 * data (a wrong signing secret, its store down); `busy`: no answer in time (PGlite's
 * migrations hold a subgraph's event loop for seconds at a time); `unreachable`: nothing there.
 */
type SubgraphState =
  | { state: 'up' }
  | { state: 'starting'; phase: string }
  | { state: 'refusing'; reason: string }
  | { state: 'busy'; reason: string }
  | { state: 'unreachable'; reason: string };

async function subgraphState(url: string, signingSecret: string, timeoutMs = SUBGRAPH_PROBE_TIMEOUT_MS): Promise<SubgraphState> {
  let response: Response;
  try {
    const body = JSON.stringify({ query: '{ __typename }' });
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signedRequestHeaders(signingSecret, body) },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    if ((error as Error).name === 'TimeoutError') return { state: 'busy', reason: `no answer within ${timeoutMs} ms` };
    // fetch says only "fetch failed"; the socket's own code (ECONNREFUSED) is in its cause.
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { state: 'unreachable', reason: cause?.code ?? cause?.message ?? (error as Error).message };
  }
  if (response.ok) {
    await response.body?.cancel();
    return { state: 'up' };
  }
  const answer = (await response.json().catch(() => undefined)) as
    { errors?: { extensions?: { code?: string; phase?: string } }[] } | undefined;
  const extensions = answer?.errors?.[0]?.extensions;
  if (extensions?.code === ErrorCode.STARTING) return { state: 'starting', phase: extensions.phase ?? 'starting' };
  return { state: 'refusing', reason: `HTTP ${response.status}${extensions?.code ? ` ${extensions.code}` : ''}` };
}

const describeState = (state: Exclude<SubgraphState, { state: 'up' }>) =>
  state.state === 'starting' ? `starting (${state.phase})` : `${state.state} (${state.reason})`;

/**
 * Polls until every subgraph answers. A subgraph that reports it is starting (migrating,
 * seeding: a first start on a busy machine takes a while) is waited for as long as it keeps
 * saying so, or is too busy to answer after saying so; one that does not answer, or refuses,
 * is given up on after `subgraphWaitMs` without progress, and the error names it, its state
 * and the variable to raise. The wait is logged at most every `logEveryMs`.
 */
export async function waitForSubgraphs(
  { subgraphs, signingSecret, subgraphWaitMs }: WithSecrets<Pick<RoutedGatewayConfig, 'subgraphs' | 'signingSecret' | 'subgraphWaitMs'>>,
  logger: Logger,
  { pollMs = 500, logEveryMs = 5_000 }: { pollMs?: number; logEveryMs?: number } = {},
): Promise<void> {
  const startedAt = Date.now();
  // When each subgraph last showed progress; its wait runs from there.
  const progressAt = new Map(subgraphs.map((subgraph) => [subgraph.name, startedAt]));
  const saidStarting = new Set<string>();
  let loggedAt: number | undefined;
  let waiting = subgraphs;
  for (;;) {
    const states = await Promise.all(waiting.map((subgraph) => subgraphState(subgraph.url, signingSecret)));
    const now = Date.now();
    const pending = waiting.flatMap((subgraph, i) => {
      const state = states[i]!;
      if (state.state === 'up') return [];
      if (state.state === 'starting') saidStarting.add(subgraph.name);
      else if (state.state !== 'busy') saidStarting.delete(subgraph.name);
      if (saidStarting.has(subgraph.name)) progressAt.set(subgraph.name, now);
      return [{ subgraph, state }];
    });
    if (!pending.length) {
      if (loggedAt !== undefined) logger.info({ waitedMs: now - startedAt }, 'every subgraph answers');
      return;
    }
    const overdue = pending.filter(({ subgraph }) => now - progressAt.get(subgraph.name)! >= subgraphWaitMs);
    if (overdue.length) {
      const named = overdue.map(({ subgraph, state }) => `${subgraph.name} at ${subgraph.url}: ${describeState(state)}`).join('; ');
      throw new StartupError(
        `gave up waiting for subgraphs after ${subgraphWaitMs} ms without progress (${named}); is it running? Raise SUBGRAPH_WAIT_MS to wait longer`,
        ['SUBGRAPH_WAIT_MS'],
        { subgraphs: Object.fromEntries(overdue.map(({ subgraph, state }) => [subgraph.name, { url: subgraph.url, ...state }])) },
      );
    }
    if (loggedAt === undefined || now - loggedAt >= logEveryMs) {
      logger.info(
        {
          waitedMs: now - startedAt,
          waitingFor: Object.fromEntries(pending.map(({ subgraph, state }) => [subgraph.name, describeState(state)])),
        },
        'waiting for subgraphs',
      );
      loggedAt = now;
    }
    waiting = pending.map(({ subgraph }) => subgraph);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

async function composeOrExplain(subgraphs: RoutedGatewayConfig['subgraphs'], signingSecret: string): Promise<string> {
  const { supergraphSdl, errors } = await composeFromRunning(subgraphs, signingSecret);
  if (!supergraphSdl) throw new Error(`The subgraphs do not compose:\n${errors.map((e) => `  - ${e}`).join('\n')}`);
  return supergraphSdl;
}

/**
 * Builds the gateway: the supergraph (a file composed ahead of time, or composed now from the
 * configured subgraphs), Apollo Server with Tessera's plugins, and the Express app serving
 * `/graphql`, `/health`, `/ready` and `/metrics`. Opens no port; `main.ts` and tests decide where it listens.
 */
export async function createGateway({ config, logger, verifier, registry = createMetricsRegistry() }: GatewayOptions): Promise<Gateway> {
  const development = config.env === 'development';
  const { signingSecret } = config;
  assertMetricsOffPublicPort(config.env, config.metrics);
  const tokens = verifier ?? createTokenVerifier(config.jwt);
  const { protection } = config;
  // Read before anything is started: a missing or invalid manifest stops the gateway here.
  const { trustedDocuments } = config;
  const trustedDocumentsGuards =
    trustedDocuments.mode === 'off'
      ? []
      : [trustedDocumentsGuard({ mode: trustedDocuments.mode, documents: await loadTrustedDocuments(trustedDocuments), logger })];
  const { supergraphPath } = config;
  const supergraph = reloadableSupergraph({
    source: supergraphPath ?? 'composed from subgraphs',
    load: supergraphPath ? () => readFile(supergraphPath, 'utf8') : () => composeOrExplain(config.subgraphs, signingSecret),
    watchPath: config.supergraphReload.watch ? supergraphPath : undefined,
    pollIntervalMs: config.supergraphReload.pollIntervalMs,
    logger,
  });
  const redis = createRedisClient(config.redis, logger);
  if (redis && !(await redisReady(redis, 3_000)))
    logger.warn('redis is not reachable yet; starting with caches and rate limits stepping aside');
  const { store, apq } = operationCaches(config, redis);
  const limiter = rateLimiter(config, redis);
  const metrics = createGatewayMetrics(registry);
  const costLimit = useCostLimit(protection);
  const rateLimit = protection.rateLimit.enabled
    ? useRateLimit({
        ...protection.rateLimit,
        analysisOf: costLimit.analysisOf,
        limiter,
        logger,
        onRefusal: (limit) => metrics.rateLimited.inc({ limit }),
      })
    : undefined;
  // Routed where the supergraph says (`@join__graph(url:)`: the URLs composition used), unless
  // `<NAME>_URL` is set for that name. The registry's defaults never win: a supergraph composed
  // elsewhere may name a subgraph of its own like one of ours.
  const routeOf = (name: string, url: string | undefined) => config.subgraphUrlOverrides[name] ?? url ?? '';
  // The subgraphs of the supergraph being served, read again only when it changes.
  let served: { hash: string; subgraphs: { name: string; url: string }[] } | undefined;
  const servedSubgraphs = () => {
    const { hash, sdl } = supergraph.current()!;
    if (served?.hash !== hash) served = { hash, subgraphs: routingOf(sdl).map(({ name, url }) => ({ name, url: routeOf(name, url) })) };
    return served.subgraphs;
  };
  // For what the gateway asks a subgraph itself (the caller check): one client per served
  // subgraph, made when first asked for and again when the subgraph's route changes.
  const clients = new Map<string, SubgraphClient>();
  const clientOf = (name: string): SubgraphClient | undefined => {
    const url = servedSubgraphs().find((s) => s.name === name)?.url;
    if (!url) return undefined;
    let client = clients.get(name);
    if (client?.url !== url) {
      // Closing lets the calls it has under way finish.
      void client?.close().catch((error: unknown) => logger.warn({ subgraph: name, err: error }, 'closing a subgraph client failed'));
      client = createSubgraphClient({
        name,
        url,
        signingSecret,
        subgraphTimeoutMs: protection.subgraphTimeoutMs,
        connections: config.subgraphConnections,
        logger,
        metrics,
      });
      clients.set(name, client);
    }
    return client;
  };
  const gateway = new ApolloGateway({
    supergraphSdl: supergraph,
    buildService: ({ name, url }) => {
      const source = new SubgraphDataSource({
        name,
        url: routeOf(name, url),
        signingSecret,
        subgraphTimeoutMs: protection.subgraphTimeoutMs,
        metrics,
      });
      return withFailuresAtFields(name, source, logger);
    },
    experimental_didResolveQueryPlan: countQueryPlans(metrics),
    // Bounded by count too (see `operationCacheMaxEntries`): its own bound, 30 MiB of JSON, let
    // a client sending new documents grow the heap by hundreds of MiB.
    queryPlannerConfig: { cache: new InMemoryLRUCache({ max: config.operationCacheMaxEntries }) },
    logger: apolloLogger(logger),
  });
  const subscriptionEvents = subscriptionObserver(metrics);
  const subscriptions = new SubscriptionRunner({
    clientOf: (name) => clientOf(name) ?? unroutable(name),
    signingSecret,
    queueMax: config.subscriptions.queueMax,
    keepAliveMs: config.subscriptions.keepAliveMs,
    requestTimeoutMs: protection.requestTimeoutMs,
    observer: subscriptionEvents,
  });
  const engine = new TesseraGateway({
    apollo: gateway,
    executor: config.executor,
    clientOf,
    planCacheMaxEntries: config.operationCacheMaxEntries,
    executionConcurrency: config.executionConcurrency,
    metrics,
    subscriptions,
  });
  const apollo = new ApolloServer<GatewayContext>({
    gateway: engine,
    formatError: createFormatError({ mask: !development, logger }),
    includeStacktraceInErrorResponses: development,
    // The process's own SIGTERM/SIGINT handler shuts down in order (and flushes traces); Apollo's
    // would stop the server and re-raise the signal, killing the process halfway through that.
    stopOnTerminationSignals: false,
    introspection: config.introspection,
    // No "Did you mean …?" in production: it would describe the schema to whoever probes it.
    hideSchemaDetailsFromClientErrors: config.env === 'production',
    allowBatchedHttpRequests: protection.maxBatch > 1,
    logger: apolloLogger(logger),
    persistedQueries: { ttl: config.apqTtlSeconds, cache: apq },
    // Parsed and validated documents, bounded like the query plans.
    documentStore: new InMemoryLRUCache<DocumentNode>({ max: config.operationCacheMaxEntries }),
    // Shape limits run with validation, before any plugin: a refused shape is neither costed nor charged.
    validationRules: [operationLimitsRule(protection), deferLabelsRule],
    plugins: [
      development
        ? config.graphiql
          ? pointingToGraphiql(ApolloServerPluginLandingPageLocalDefault({ embed: true }), GRAPHIQL_PATH)
          : ApolloServerPluginLandingPageLocalDefault({ embed: true })
        : ApolloServerPluginLandingPageDisabled(),
      useRequestLogging({ slowMs: config.slowOperationMs }),
      useMetrics({ metrics }),
      useTracing(),
      // Cost, then rate limits: the limiter asks the cost step for its verdict and charges only
      // what it admitted (by its estimate when charging by cost). Cached answers count too.
      costLimit,
      ...(rateLimit ? [rateLimit] : []),
      // A signed-in caller's mutation, once admitted, is checked against the identity subgraph (one fetch).
      ...(config.identitySubgraph
        ? [
            useCallerCheck({
              subgraph: config.identitySubgraph,
              analysisOf: costLimit.analysisOf,
              client: () => clientOf(config.identitySubgraph!),
              logger,
            }),
          ]
        : []),
      useIntrospection(),
      ...(config.responseCache.enabled
        ? [useResponseCache({ store, logger, observer: responseCacheObserver(metrics), analysisOf: costLimit.analysisOf })]
        : []),
    ],
  });
  // What subgraph jobs change reaches this gateway's cache on a channel of its own: a job has no response to carry it.
  const jobPurges = config.responseCache.enabled
    ? subscribeToPurges({
        store,
        redis,
        redisPrefix: config.redis.prefix,
        hub: redis ? undefined : supervisorHub(config.supervised),
        schema: () => (engine.loaded ? engine.apiSchema : undefined),
        logger,
        observer: responseCacheObserver(metrics),
      })
    : undefined;
  try {
    await apollo.start();
    // Bounded like the first Redis connection: a gateway whose Redis is away starts anyway, and subscribes once it is back.
    await Promise.race([jobPurges?.ready, new Promise((resolve) => setTimeout(resolve, 3_000).unref())]);
  } catch (error) {
    jobPurges?.close();
    redis?.disconnect();
    throw error;
  }
  logger.info(
    {
      source: config.supergraphPath ?? 'composed from subgraphs',
      hash: supergraph.current()?.hash,
      subgraphs: servedSubgraphs().map((s) => s.name),
    },
    'supergraph loaded',
  );

  /** The GraphQL context of a request: its caller (the token verified once per request scope) and what the subgraphs report. */
  const contextFor = async (authorization: string | undefined): Promise<GatewayContext> => {
    try {
      return { user: await authenticatedCaller(authorization, tokens), cacheTags: newCacheTags(), untaggedSubgraphs: new Set<string>() };
    } catch (error) {
      requestScope().logger.info({ reason: (error as TokenRefusedError).reason }, 'access token refused');
      throw error;
    }
  };
  // What every operation passes after its body is parsed, over HTTP and WebSocket alike.
  const operationGuards = [documentCheck(protection), persistedQueryGuard(), ...trustedDocumentsGuards];
  const admit = createAdmission({ apollo, contextFor, logger, guards: operationGuards, maxJsonDepth: protection.maxJsonDepth });
  const subscriptionLimits = new SubscriptionLimits(config.subscriptions);

  const app = express();
  app.disable('x-powered-by');
  // Express's ETag hashes every body sent; GraphQL answers get theirs over GET only (shared/http/apollo-middleware.ts).
  app.set('etag', false);
  // An upgrade request's client address, as Express tells it for a request (trusted proxies honoured).
  const clientIpOf = (request: IncomingMessage) =>
    Object.assign(Object.create(app.request) as express.Request, {
      app,
      headers: request.headers,
      socket: request.socket,
      connection: request.socket,
    }).ip ??
    request.socket.remoteAddress ??
    'unknown';
  const graphqlWs = graphqlWsTransport({
    admit,
    tokens,
    limits: subscriptionLimits,
    perConnection: config.subscriptions.perConnection,
    idleTimeoutMs: config.subscriptions.idleTimeoutMs,
    keepAliveMs: config.subscriptions.keepAliveMs,
    maxMessageBytes: protection.maxDocumentBytes * 2,
    schema: () => engine.apiSchema,
    clientIpOf,
    observer: subscriptionEvents,
    logger,
  });
  // X-Forwarded-For is believed only from these (req.ip then is the client's address).
  app.set('trust proxy', protection.trustedProxies.length ? protection.trustedProxies : false);
  // The deadline runs from the request's arrival: subgraph fetches stop by then.
  app.use(enterRequestScope({ logger, timeoutMs: protection.requestTimeoutMs }), securityHeaders(config.env), corsPolicy(config));
  healthRoutes(app, async () => {
    // The subgraphs of the supergraph being served, where requests go: not the registry's.
    const [states, redisNow] = await Promise.all([
      Promise.all(
        servedSubgraphs().map(async (s) => {
          const { state } = await subgraphState(s.url, signingSecret);
          return [s.name, state === 'up' || state === 'starting' ? state : 'down'] as const;
        }),
      ),
      redis ? redisState(redis) : undefined,
    ]);
    const ready = states.every(([, state]) => state === 'up');
    const { hash, version } = supergraph.current()!;
    return {
      ready,
      // Without Redis the gateway still serves (caches and limits step aside): degraded, not down.
      ...(ready && redisNow === 'down' && { status: 'degraded' }),
      supergraph: { state: 'loaded', hash, version },
      subgraphs: Object.fromEntries(states),
      ...(redisNow && { redis: redisNow }),
    };
  });
  metricsRoutes(app, registry, config.metrics);
  if (config.graphiql) app.get(GRAPHIQL_PATH, graphiqlPage('/graphql'));
  // Loaded only with Redis (BullMQ brings ioredis): without it the queues are each subgraph process's own memory.
  const jobs = config.redis.url
    ? (await import('./admin/job-board.js')).jobBoard({
        redis: config.redis,
        subgraphNames: () => servedSubgraphs().map((s) => s.name),
        tokens,
        logger,
      })
    : undefined;
  if (jobs) app.use(JOB_BOARD_PATH, jobs.router);
  app.use(
    ['/graphql', '/'],
    traceRequests(),
    varyByCaller(),
    // The body's depth is counted on its bytes, before JSON.parse; the guards after it walk parsed values.
    jsonBody({ limit: protection.bodyLimitBytes, maxDepth: protection.maxJsonDepth }),
    ...operationGuards,
    // Subscriptions over SSE and multipart HTTP: past every HTTP guard, never cached.
    httpSubscriptions({
      admit,
      tokens,
      limits: subscriptionLimits,
      keepAliveMs: config.subscriptions.keepAliveMs,
      observer: subscriptionEvents,
    }),
    // @defer to a client that accepts incremental delivery: past every HTTP guard, before the cache's fast path.
    httpIncremental({ apollo, contextFor, metrics, persistedQueries: apq }),
    ...(config.responseCache.enabled
      ? [
          answerCacheHits({
            store,
            persistedQueries: apq,
            tokens,
            rateLimit: rateLimit?.charger,
            observer: responseCacheObserver(metrics),
            metrics,
            slowMs: config.slowOperationMs,
            logger,
          }),
        ]
      : []),
    apolloMiddleware(apollo, ({ req }) => contextFor(req.get('authorization'))),
  );
  app.use(graphqlErrorHandler(logger));
  return {
    app,
    apollo,
    registry,
    supergraph,
    upgrade: (request, socket, head) => graphqlWs.handleUpgrade(request, socket, head),
    async endSubscriptions() {
      subscriptions.endAll(new ShuttingDownError().toJSON());
      await graphqlWs.close('The gateway is shutting down');
    },
    async stop() {
      subscriptions.endAll(new ShuttingDownError().toJSON());
      await graphqlWs.close('The gateway is shutting down');
      await apollo.stop();
      // After the drain, what is still under way belongs to requests whose connections were cut at
      // the grace's end (a deferred part waiting on a subgraph, say): waiting for it would only
      // hold the exit to the subgraph timeout.
      await Promise.all([...clients.values()].map((client) => client.close('abort')));
      await jobs?.close();
      jobPurges?.close();
      redis?.disconnect();
    },
  };
}
