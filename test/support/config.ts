import {
  loadGatewayConfig,
  routeSubgraphs,
  type JoinedSubgraph,
  type Env,
  type RoutedGatewayConfig,
  type RuntimeEnvironment,
} from '../../shared/config/config.js';
import { loadSubgraphConfig, type StoreConfig, type SubgraphConfig } from '../../shared/config/subgraph-config.js';
import { scopesOf, type Role } from '../../shared/identity/roles.js';
import type { Identity } from '../../shared/identity/identity.js';
import { seedId } from '../../shared/store/seed.js';
import type { WithSecrets } from '../../shared/config/secrets.js';

/** Secrets of the test processes (never used anywhere else). */
export const TEST_SIGNING_SECRET = 'test-subgraph-signing-secret-0123456789abcdef';
export const TEST_JWT_SECRET = 'test-jwt-secret-0123456789abcdef-0123456789';

/** What every test process's configuration is parsed from: its secrets, quiet logs, a shorter refresh token. */
const testEnv = (env: RuntimeEnvironment = 'test'): Env => ({
  NODE_ENV: env,
  LOG_LEVEL: 'silent',
  SUBGRAPH_SIGNING_SECRET: TEST_SIGNING_SECRET,
  JWT_SECRET: TEST_JWT_SECRET,
  REFRESH_TOKEN_TTL_S: '86400',
});

/**
 * A test gateway's environment: a free port, no waiting, and nothing that runs behind a
 * test's back (no supergraph reload; rate limiting off, as most suites send many requests
 * from one address, unless a test turns it on with a limit).
 */
const testGatewayEnv = (env?: RuntimeEnvironment): Env => ({
  ...testEnv(env),
  GATEWAY_PORT: '0',
  SUBGRAPH_WAIT_MS: '0',
  SUPERGRAPH_POLL_INTERVAL_MS: '0',
  SUPERGRAPH_WATCH: 'false',
  RATE_LIMIT: '0',
  RESPONSE_CACHE_MAX_ENTRIES: '1000',
  APQ_TTL_S: '3600',
});

export const testJwt = loadGatewayConfig(testGatewayEnv()).jwt;

/** No exporter: a test that wants spans registers an in-memory one itself (test/e2e/tracing.test.ts). */
export const testTracing = loadGatewayConfig(testGatewayEnv()).tracing;

/** A subgraph's configuration as its process would parse it in tests (`overrides.env` as `NODE_ENV`), on `store`, on a free port. */
export function testSubgraphConfig(
  name: string,
  store: StoreConfig,
  overrides: Partial<WithSecrets<SubgraphConfig>> = {},
): WithSecrets<SubgraphConfig> {
  return { ...loadSubgraphConfig(name, 0, testEnv(overrides.env)), signingSecret: TEST_SIGNING_SECRET, store, ...overrides };
}

/**
 * The gateway's configuration as its process would parse it in tests (`overrides.env` as
 * `NODE_ENV`), composing from `subgraphs`. The shop's accounts answers the caller check, as
 * its supergraph says (`routingOf`), unless a subgraph says otherwise.
 */
export function testGatewayConfig(
  subgraphs: JoinedSubgraph[],
  overrides: Partial<WithSecrets<RoutedGatewayConfig>> = {},
): WithSecrets<RoutedGatewayConfig> {
  const env = testGatewayEnv(overrides.env);
  const joined = subgraphs.map((subgraph) => ({ answersCallerCheck: subgraph.name === 'accounts', ...subgraph }));
  return { ...routeSubgraphs(loadGatewayConfig(env), env, joined), signingSecret: TEST_SIGNING_SECRET, ...overrides };
}

/** A seed user as the gateway would sign them in: their id, username, role and its scopes. */
export function testIdentity(username: string, role: Role = 'customer'): Identity {
  return { userId: seedId('user', username), username, roles: [role], scopes: scopesOf([role]) };
}
