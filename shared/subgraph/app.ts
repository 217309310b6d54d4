import { ApolloServer } from '@apollo/server';
import express, { type Express } from 'express';
import type { GraphQLError, GraphQLFormattedError, GraphQLSchema } from 'graphql';
import type { Registry } from 'prom-client';
import type { SubgraphConfig } from '../config/subgraph-config.js';
import type { WithSecrets } from '../config/secrets.js';
import { useCacheTags } from '../cache-tags/cache-tags.js';
import { createFormatError } from '../errors/errors.js';
import { toTesseraError } from './resolver-errors.js';
import { enterRequestScope, graphqlErrorHandler, healthRoutes } from '../http/http.js';
import { requestScope } from '../http/request-scope.js';
import { jsonBody } from '../http/json-body.js';
import { MemoryNonceStore, type NonceStore } from '../identity/nonce-store.js';
import { apolloLogger, throttledWarn, type Logger } from '../observability/logger.js';
import { assertMetricsOffPublicPort, createMetricsRegistry, metricsRoutes } from '../observability/metrics.js';
import { traceRequests, useTracing } from '../observability/tracing.js';
import type { EntityManager, Orm } from '../store/orm.js';
import type { OutboxWriter } from '../jobs/outbox.js';
import { createCallerCheck } from './caller.js';
import { createContextFactory, type SubgraphContext } from './context.js';
import type { SubgraphDefinition } from './definition.js';
import { createSubgraphMetrics, observeConnections, operationMetricsScope, useSubgraphMetrics } from './metrics.js';
import { useSlowOperationLog } from './slow-operations.js';
import { apolloMiddleware } from '../http/apollo-middleware.js';

export interface SubgraphAppOptions {
  definition: SubgraphDefinition;
  /** The schema built from `definition` (shared/subgraph/schema.ts). */
  schema: GraphQLSchema;
  /** The opened store; undefined for a storeless subgraph (then `/ready` checks no store). */
  orm: Orm | undefined;
  config: WithSecrets<SubgraphConfig>;
  logger: Logger;
  /** The definition's services; by default built from `config`. */
  services?: object;
  /** Remembers the signed requests served; in memory by default (`startSubgraph` shares them on Redis when configured). */
  nonces?: NonceStore;
  /** Each request's outbox writer (the jobs runtime's, which wakes its relay on commit). */
  outbox?: (em: EntityManager | undefined) => OutboxWriter;
}

export interface SubgraphApp {
  app: Express;
  apollo: ApolloServer<SubgraphContext>;
  /** The subgraph's metrics, for `/metrics` on `app` or on a listener of its own (`listenMetrics`). */
  registry: Registry;
  /** The context factory `/graphql` uses, for the subscriptions' events (shared/subgraph/subscriptions.ts). */
  createContext: ReturnType<typeof createContextFactory>;
  /** The errors of a result as `/graphql` formats them (codes kept, unexpected ones masked outside development). */
  formatError(error: GraphQLError): GraphQLFormattedError;
}

/** The subgraph as an Express app serving a built schema: `/graphql`, `/health`, `/ready`, `/metrics`. Opens no port. */
export async function createSubgraphApp({
  definition,
  schema,
  orm,
  config,
  logger,
  services = definition.createServices?.(config) ?? {},
  nonces = new MemoryNonceStore(),
  outbox,
}: SubgraphAppOptions): Promise<SubgraphApp> {
  assertMetricsOffPublicPort(config.env, config.metrics);
  const development = config.env === 'development';
  const registry = createMetricsRegistry();
  const metrics = createSubgraphMetrics(registry);
  if (orm) observeConnections(registry, orm, config.store.kind);
  const formatError = createFormatError({ mask: !development, logger, mapError: toTesseraError });
  const apollo = new ApolloServer<SubgraphContext>({
    schema,
    plugins: [useCacheTags(schema), useSubgraphMetrics(metrics), useTracing(), useSlowOperationLog({ slowMs: config.slowOperationMs })],
    formatError,
    includeStacktraceInErrorResponses: development,
    // The process's own SIGTERM/SIGINT handler shuts down in order (and flushes traces); Apollo's
    // would stop the server and re-raise the signal, killing the process halfway through that.
    stopOnTerminationSignals: false,
    introspection: config.env !== 'production',
    logger: apolloLogger(logger),
  });
  await apollo.start();
  const createContext = createContextFactory({ definition, orm, services, logger, outbox });
  const callerOf = createCallerCheck({ config, nonces });
  const app = express();
  app.disable('x-powered-by');
  app.use(enterRequestScope({ logger }));
  // Probes ask every few seconds while the store is down: one warning per interval is enough.
  const warnStoreDown = throttledWarn(logger, 30_000);
  healthRoutes(app, async () => {
    if (!orm) return { ready: true };
    try {
      await orm.em.fork().execute('select 1');
      return { ready: true, store: 'up' };
    } catch (error) {
      // What the driver says names hosts, users and databases: for the operator's log, not for whoever can reach /ready.
      warnStoreDown({ err: error }, 'readiness: store down');
      return { ready: false, store: 'down' };
    }
  });
  metricsRoutes(app, registry, config.metrics);
  app.use(
    '/graphql',
    traceRequests({ subgraphName: definition.name }),
    // The signature covers the body as sent; only the raw bytes can be checked against it.
    jsonBody({ limit: '1mb', maxDepth: config.maxJsonDepth, keepRaw: true }),
    operationMetricsScope(metrics),
    // A storeless subgraph's context has no `em`; the framework's plugins never read it.
    // The request scope's logger already carries the request id: the context shares it rather than making another.
    apolloMiddleware(apollo, async ({ req }) => {
      const { requestId, logger: requestLogger } = requestScope();
      return createContext({ requestId, logger: requestLogger, user: await callerOf(req) }) as SubgraphContext;
    }),
  );
  app.use(graphqlErrorHandler(logger));
  return { app, apollo, registry, createContext, formatError: (error) => formatError(error.toJSON(), error) };
}
