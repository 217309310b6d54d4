import type {
  JwtConfig,
  ProtectionConfig,
  RedisConfig,
  RoutedGatewayConfig,
  RuntimeEnvironment,
  TrustedDocumentsConfig,
} from '../../shared/config/config.js';
import type { SubgraphConfig } from '../../shared/config/subgraph-config.js';
import type { WithSecrets } from '../../shared/config/secrets.js';
import { createTokenVerifier, type VerifierOptions } from '../../shared/identity/tokens.js';
import { createGateway, type Gateway } from '../../gateway/gateway.js';
import { closeServer, listen } from '../../shared/http/http.js';
import { listenMetrics, type MetricsConfig } from '../../shared/observability/metrics.js';
import type { Logger } from '../../shared/observability/logger.js';
import { SEED_PASSWORD } from '../../subgraphs/accounts/seed.js';
import { subgraphs } from '../../subgraphs/index.js';
import { testGatewayConfig, testJwt } from './config.js';
import { startedForSuite } from './suite.js';
import { postGraphQL, startTestSubgraph, testLogger, type GraphQLResponse, type TestSubgraph } from './subgraph.js';

export interface TestSupergraph {
  url: string;
  origin: string;
  /** The gateway's `/metrics` (each subgraph's is `subgraphs[name].metricsUrl`). */
  metricsUrl: string | undefined;
  subgraphs: Record<string, TestSubgraph>;
  query<T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<GraphQLResponse<T>>;
  /** Another gateway over the same subgraphs, with other settings (stopped with the supergraph). */
  startGateway(overrides?: GatewayOverrides): Promise<Omit<ServedGateway, 'stop'>>;
  /** Signs a seed user in through the gateway; returns the Authorization header to send. */
  loginAs(username: string): Promise<Record<string, string>>;
  /** GraphQL requests all subgraphs received since the last reset. */
  subgraphRequests(): number;
  resetRequests(): void;
  /** SQL statements sent by all subgraphs since the last reset. */
  sqlCount(): number;
  resetSql(): void;
  stop(): Promise<void>;
}

/** What a test may change in a gateway's configuration (the rest is `testGatewayConfig`). */
export interface GatewayOverrides {
  env?: RuntimeEnvironment;
  subscriptions?: Partial<RoutedGatewayConfig['subscriptions']>;
  supergraphPath?: string;
  /** Default: no reload (`testGatewayConfig`). */
  supergraphReload?: RoutedGatewayConfig['supergraphReload'];
  jwt?: Partial<JwtConfig>;
  verifierOptions?: VerifierOptions;
  redis?: Partial<RedisConfig>;
  responseCache?: boolean;
  protection?: Partial<Omit<ProtectionConfig, 'rateLimit'>> & { rateLimit?: Partial<ProtectionConfig['rateLimit']> };
  /** `{ port: 0 }`: metrics on a listener of their own, on a free port. */
  metrics?: Partial<MetricsConfig>;
  /** Another signing secret than the subgraphs': they refuse every request (pair with `supergraphPath`). */
  signingSecret?: string;
  trustedDocuments?: Partial<TrustedDocumentsConfig>;
  operationCacheMaxEntries?: number;
  /** Who runs the query plans (`GATEWAY_EXECUTOR`); default: the configuration's (`tessera`). */
  executor?: RoutedGatewayConfig['executor'];
  /** Default: the quiet test logger. */
  logger?: Logger;
  /** GRAPHIQL: serve `/graphiql` (and so answer introspection) whatever `env` says. */
  graphiql?: boolean;
  /** Subgraphs the test runs itself (not Tessera's, say), composed with the shop's. */
  extraSubgraphs?: { name: string; url: string }[];
  /**
   * Sets `<NAME>_URL` of every running subgraph, as an operator does to route a supergraph file
   * composed with other routing URLs to these processes (the gateway otherwise follows the file).
   */
  routeToRunning?: boolean;
  /** `<NAME>_URL` for these subgraphs (a proxy in front of one, say). */
  subgraphUrls?: Record<string, string>;
}

interface StartOptions extends GatewayOverrides {
  seed?: boolean;
  /** The subgraphs' `SUBGRAPH_TRUST` (default `signature`). */
  trust?: SubgraphConfig['trust'];
  /** The subgraphs' Redis (their queues on BullMQ, their jobs' purges on its channel); default none: in this process. */
  subgraphRedis?: RedisConfig;
}

export interface ServedGateway {
  gateway: Gateway;
  /** Its `/graphql`. */
  url: string;
  origin: string;
  /** Its `/metrics`: on a listener of their own when `config.metrics.port` is set. */
  metricsUrl: string | undefined;
  stop(): Promise<void>;
}

/** A gateway built from `config`, listening on a free port: what `bin/gateway.ts` runs, in this process. */
export async function serveGateway(
  config: WithSecrets<RoutedGatewayConfig>,
  { logger = testLogger, verifierOptions }: { logger?: Logger; verifierOptions?: VerifierOptions } = {},
): Promise<ServedGateway> {
  const gateway = await createGateway({ config, logger, verifier: createTokenVerifier(config.jwt, verifierOptions) });
  const listening = await listen(gateway.app, '127.0.0.1', 0);
  listening.server.on('upgrade', gateway.upgrade);
  const metrics = await listenMetrics(gateway.registry, config.metrics);
  return {
    gateway,
    url: `${listening.url}/graphql`,
    origin: listening.url,
    metricsUrl: metrics?.url ?? (config.metrics.enabled ? `${listening.url}/metrics` : undefined),
    async stop() {
      await gateway.endSubscriptions();
      await closeServer(listening.server);
      await metrics?.stop();
      await gateway.stop();
    },
  };
}

/**
 * The whole supergraph as it runs for real: every subgraph over HTTP on its own fresh
 * PostgreSQL database (migrated, seeded), and the gateway composing them, on free ports.
 */
export async function startTestSupergraph(options: StartOptions = {}): Promise<TestSupergraph> {
  const { seed = true, trust, subgraphRedis: redis } = options;
  const running = await Promise.all(subgraphs.map((definition) => startTestSubgraph(definition, { seed, trust, redis })));
  const stops: (() => Promise<void>)[] = [];
  const startGateway = async (overrides: GatewayOverrides = {}) => {
    const config = testGatewayConfig([...running.map((s) => ({ name: s.name, url: s.url })), ...(overrides.extraSubgraphs ?? [])], {
      env: overrides.env ?? 'test',
      supergraphPath: overrides.supergraphPath,
      jwt: { ...testJwt, ...overrides.jwt },
    });
    if (overrides.routeToRunning) config.subgraphUrlOverrides = Object.fromEntries(running.map((s) => [s.name, s.url]));
    config.subgraphUrlOverrides = { ...config.subgraphUrlOverrides, ...overrides.subgraphUrls };
    config.redis = { ...config.redis, ...overrides.redis };
    config.responseCache = { ...config.responseCache, enabled: overrides.responseCache ?? true };
    config.trustedDocuments = { ...config.trustedDocuments, ...overrides.trustedDocuments };
    const { rateLimit, ...protection } = overrides.protection ?? {};
    config.protection = { ...config.protection, ...protection, rateLimit: { ...config.protection.rateLimit, ...rateLimit } };
    // As in production's configuration: metrics on a listener of their own there.
    config.metrics = { ...config.metrics, ...(config.env === 'production' && { port: 0 }), ...overrides.metrics };
    config.signingSecret = overrides.signingSecret ?? config.signingSecret;
    config.operationCacheMaxEntries = overrides.operationCacheMaxEntries ?? config.operationCacheMaxEntries;
    // As shared/config/config.ts derives them from GRAPHIQL.
    config.graphiql = overrides.graphiql ?? config.graphiql;
    config.introspection ||= config.graphiql;
    config.supergraphReload = overrides.supergraphReload ?? config.supergraphReload;
    config.executor = overrides.executor ?? config.executor;
    config.subscriptions = { ...config.subscriptions, ...overrides.subscriptions };
    const { stop, ...served } = await serveGateway(config, { logger: overrides.logger, verifierOptions: overrides.verifierOptions });
    stops.push(stop);
    return served;
  };
  try {
    const { url, origin, metricsUrl } = await startGateway(options);
    return {
      url,
      origin,
      metricsUrl,
      subgraphs: Object.fromEntries(running.map((s) => [s.name, s])),
      startGateway,
      query: (query, variables, headers) => postGraphQL(url, query, variables, headers),
      async loginAs(username) {
        const { data, errors } = await postGraphQL(
          url,
          `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`,
          {
            e: `${username}@example.com`,
            p: SEED_PASSWORD,
          },
        );
        if (!data?.login) throw new Error(`login as ${username} failed: ${JSON.stringify(errors)}`);
        return { authorization: `Bearer ${data.login.accessToken}` };
      },
      subgraphRequests: () => running.reduce((sum, s) => sum + s.requests(), 0),
      resetRequests: () => running.forEach((s) => s.resetRequests()),
      sqlCount: () => running.reduce((sum, s) => sum + s.sql.length, 0),
      resetSql: () => running.forEach((s) => s.resetSql()),
      async stop() {
        for (const stop of stops.reverse()) await stop();
        await Promise.all(running.map((s) => s.stop()));
      },
    };
  } catch (error) {
    for (const stop of stops) await stop();
    await Promise.all(running.map((s) => s.stop()));
    throw error;
  }
}

/** `startTestSupergraph` before the enclosing suite's tests, stopped after them. */
export const supergraphForSuite = (options?: StartOptions): TestSupergraph => startedForSuite(() => startTestSupergraph(options));
