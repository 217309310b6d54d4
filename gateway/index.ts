import { readFile } from 'node:fs/promises';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type Express } from 'express';
import type { GatewayConfig } from '../shared/config.js';
import { createFormatError } from '../shared/errors.js';
import { graphqlErrorHandler, healthRoutes, requestId } from '../shared/http.js';
import { newCacheTags } from '../shared/cache-tags.js';
import { signedRequestHeaders } from '../shared/identity.js';
import { createRedisClient, redisReady, type RedisClient } from '../shared/redis.js';
import type { Logger } from '../shared/logger.js';
import { authenticate, createTokenVerifier, type TokenRefusedError, type TokenVerifier } from './authentication.js';
import type { GatewayContext } from './context.js';
import { withFailuresAtFields } from './subgraph-failures.js';
import { RedisApqCache } from './cache/apq-cache.js';
import { MemoryResponseCacheStore } from './cache/memory-store.js';
import { RedisResponseCacheStore } from './cache/redis-store.js';
import { corsPolicy, documentGuards, securityHeaders } from './http-guards.js';
import { useCostLimit } from './plugins/useCostLimit.js';
import { useOperationLimits } from './plugins/useOperationLimits.js';
import { useRateLimit } from './plugins/useRateLimit.js';
import { useRequestLogging } from './plugins/useRequestLogging.js';
import { MemoryRateLimiter } from './rate-limit/limiter.js';
import { RedisRateLimiter } from './rate-limit/redis-limiter.js';
import { useResponseCache } from './plugins/useResponseCache.js';
import { SubgraphDataSource } from './subgraph-data-source.js';
import { composeFromRunning, forApolloGateway } from './supergraph.js';

export interface GatewayOptions {
  config: Pick<GatewayConfig, 'env' | 'supergraphPath' | 'subgraphs' | 'signingSecret' | 'jwt' | 'redis' | 'responseCache' | 'apqTtlSeconds' | 'protection'>;
  logger: Logger;
  /** Verifies bearer tokens; by default built from `config.jwt`. */
  verifier?: TokenVerifier;
}

export interface Gateway {
  app: Express;
  apollo: ApolloServer<GatewayContext>;
  stop(): Promise<void>;
}

/** The response cache's store, the persisted-query cache and the rate limiter: on Redis when configured. */
function stores(config: GatewayOptions['config'], redis: RedisClient | undefined) {
  if (!redis) return { store: new MemoryResponseCacheStore(config.responseCache.maxEntries), apq: undefined, limiter: new MemoryRateLimiter() };
  return {
    store: new RedisResponseCacheStore(redis, config.redis.prefix),
    apq: new RedisApqCache(redis, `${config.redis.prefix}apq:`),
    limiter: new RedisRateLimiter(redis, config.redis.prefix),
  };
}

const SUBGRAPH_PROBE_TIMEOUT_MS = 2000;

/** Whether a subgraph answers a trivial (signed) query: what the gateway's readiness reports. */
export async function probeSubgraph(url: string, signingSecret: string, timeoutMs = SUBGRAPH_PROBE_TIMEOUT_MS): Promise<boolean> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signedRequestHeaders(signingSecret) },
      body: JSON.stringify({ query: '{ __typename }' }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return response.ok;
  } catch {
    return false;
  }
}

/** Polls until every subgraph answers, or the deadline passes (then names the ones that did not). */
export async function waitForSubgraphs(
  { subgraphs, signingSecret, subgraphWaitMs: timeoutMs }: Pick<GatewayConfig, 'subgraphs' | 'signingSecret' | 'subgraphWaitMs'>,
  logger: Logger,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let waiting = subgraphs;
  for (;;) {
    const answers = await Promise.all(waiting.map((subgraph) => probeSubgraph(subgraph.url, signingSecret!)));
    waiting = waiting.filter((_, i) => !answers[i]);
    if (!waiting.length) return;
    if (Date.now() >= deadline) {
      throw new Error(`Subgraphs did not answer within ${timeoutMs} ms: ${waiting.map((s) => `${s.name} (${s.url})`).join(', ')}`);
    }
    logger.info({ waitingFor: waiting.map((s) => s.name) }, 'waiting for subgraphs');
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function composeOrExplain(subgraphs: GatewayConfig['subgraphs'], signingSecret: string): Promise<string> {
  const { supergraphSdl, errors } = await composeFromRunning(subgraphs, signingSecret);
  if (!supergraphSdl) throw new Error(`The subgraphs do not compose:\n${errors.map((e) => `  - ${e}`).join('\n')}`);
  return supergraphSdl;
}

/**
 * Builds the gateway: the supergraph (a file composed ahead of time, or composed now from the
 * configured subgraphs), Apollo Server with Tessera's plugins, and the Express app serving
 * `/graphql`, `/health` and `/ready`. Opens no port; `main.ts` and tests decide where it listens.
 */
export async function createGateway({ config, logger, verifier }: GatewayOptions): Promise<Gateway> {
  const development = config.env === 'development';
  const signingSecret = config.signingSecret;
  if (!signingSecret) throw new Error('The gateway needs its subgraph signing secret resolved before it serves.');
  const tokens = verifier ?? createTokenVerifier(config.jwt);
  const { protection } = config;
  const supergraphSdl = forApolloGateway(
    config.supergraphPath ? await readFile(config.supergraphPath, 'utf8') : await composeOrExplain(config.subgraphs, signingSecret),
  );
  const redis = createRedisClient(config.redis, logger);
  if (redis && !(await redisReady(redis, 3_000))) logger.warn('redis is not reachable yet; starting with caches and rate limits stepping aside');
  const { store, apq, limiter } = stores(config, redis);
  // The gateway routes by its own configuration, whatever routing URL a supergraph file records.
  const configuredUrl = new Map(config.subgraphs.map((subgraph) => [subgraph.name, subgraph.url]));
  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ name, url }) =>
      withFailuresAtFields(name, new SubgraphDataSource({ name, url: configuredUrl.get(name) ?? url!, signingSecret, subgraphTimeoutMs: protection.subgraphTimeoutMs })),
    logger,
  });
  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    formatError: createFormatError({ mask: !development, logger }),
    includeStacktraceInErrorResponses: development,
    introspection: config.env !== 'production',
    // No "Did you mean …?" in production: it would describe the schema to whoever probes it.
    hideSchemaDetailsFromClientErrors: config.env === 'production',
    allowBatchedHttpRequests: protection.maxBatch > 1,
    logger,
    persistedQueries: { ttl: config.apqTtlSeconds, ...(apq && { cache: apq }) },
    plugins: [
      development ? ApolloServerPluginLandingPageLocalDefault({ embed: true }) : ApolloServerPluginLandingPageDisabled(),
      useRequestLogging(),
      // Shape, then cost (rate limits may charge by it), then rate limits (cached answers count too).
      useOperationLimits(protection),
      useCostLimit(supergraphSdl, protection),
      ...(protection.rateLimit.enabled ? [useRateLimit({ ...protection.rateLimit, limiter, logger })] : []),
      ...(config.responseCache.enabled ? [useResponseCache({ store, logger })] : []),
    ],
  });
  try {
    await apollo.start();
  } catch (error) {
    redis?.disconnect();
    throw error;
  }
  logger.info(
    { source: config.supergraphPath ?? 'composed from subgraphs', subgraphs: config.subgraphs.map((s) => s.name) },
    'supergraph loaded',
  );

  const app = express();
  app.disable('x-powered-by');
  // X-Forwarded-For is believed only from these (req.ip then is the client's address).
  app.set('trust proxy', protection.trustedProxies.length ? protection.trustedProxies : false);
  app.use(requestId(), securityHeaders(config.env), corsPolicy(config));
  healthRoutes(app, async () => {
    const states = await Promise.all(config.subgraphs.map(async (s) => [s.name, (await probeSubgraph(s.url, signingSecret)) ? 'up' : 'down'] as const));
    return { ready: states.every(([, state]) => state === 'up'), supergraph: 'loaded', subgraphs: Object.fromEntries(states) };
  });
  app.use(
    ['/graphql', '/'],
    ...documentGuards(protection),
    expressMiddleware(apollo, {
      context: async ({ req, res }) => {
        const id = res.locals.requestId as string;
        const requestLogger = logger.child({ requestId: id });
        try {
          return {
            requestId: id,
            logger: requestLogger,
            user: await authenticate(req.get('authorization'), tokens),
            cacheTags: newCacheTags(),
            clientIp: req.ip ?? req.socket.remoteAddress ?? 'unknown',
            deadline: Date.now() + protection.requestTimeoutMs,
          };
        } catch (error) {
          requestLogger.info({ reason: (error as TokenRefusedError).reason }, 'access token refused');
          throw error;
        }
      },
    }),
  );
  app.use(graphqlErrorHandler(logger));
  return {
    app,
    apollo,
    async stop() {
      await apollo.stop();
      redis?.disconnect();
    },
  };
}
