import type { GatewayConfig, JwtConfig, SubgraphConfig, TracingConfig } from '../../shared/config/config.js';
import type { StoreConfig } from '../../shared/config/config.js';
import { scopesOf, type Role } from '../../shared/identity/roles.js';
import type { Identity } from '../../shared/identity/identity.js';
import { seedId } from '../../shared/store/seed.js';
import type { WithSecrets } from '../../shared/config/secrets.js';

/** Secrets of the test processes (never used anywhere else). */
export const TEST_SIGNING_SECRET = 'test-subgraph-signing-secret-0123456789abcdef';
export const TEST_JWT_SECRET = 'test-jwt-secret-0123456789abcdef-0123456789';

export const testJwt: JwtConfig = {
  secret: TEST_JWT_SECRET,
  jwksUrl: undefined,
  issuer: 'tessera',
  audience: 'tessera',
  algorithms: ['HS256'],
  clockSkewSeconds: 30,
  accessTokenTtlSeconds: 900,
  refreshTokenTtlSeconds: 86_400,
};

/** No exporter: a test that wants spans registers an in-memory one itself (test/e2e/tracing.test.ts). */
export const testTracing: TracingConfig = { otlpEndpoint: undefined, otlpHeaders: {}, serviceName: undefined, sampleRatio: 1 };

export function testSubgraphConfig(
  name: string,
  store: StoreConfig,
  overrides: Partial<WithSecrets<SubgraphConfig>> = {},
): WithSecrets<SubgraphConfig> {
  return {
    name,
    env: 'test',
    logLevel: 'silent',
    host: '127.0.0.1',
    port: 0,
    shutdown: { graceMs: 10_000, delayMs: 0 },
    dataDir: 'data',
    store,
    migrateOnStart: true,
    seedOnStart: true,
    allowUnsignedRequests: false,
    trust: 'signature',
    signingSecret: TEST_SIGNING_SECRET,
    signatureMaxAgeMs: 60_000,
    jwt: testJwt,
    metrics: { enabled: true, port: undefined, host: '127.0.0.1' },
    redis: { url: undefined, clusterNodes: undefined, prefix: 'tessera:' },
    tracing: testTracing,
    slowOperationMs: 1_000,
    slowSqlMs: 200,
    maxJsonDepth: 64,
    ...overrides,
  };
}

export function testGatewayConfig(
  subgraphs: GatewayConfig['subgraphs'],
  overrides: Partial<WithSecrets<GatewayConfig>> = {},
): WithSecrets<GatewayConfig> {
  return {
    env: 'test',
    logLevel: 'silent',
    host: '127.0.0.1',
    port: 0,
    dataDir: 'data',
    supergraphPath: undefined,
    subgraphWaitMs: 0,
    // As shared/config/config.ts derives them without GRAPHIQL.
    graphiql: (overrides.env ?? 'test') !== 'production',
    introspection: (overrides.env ?? 'test') !== 'production',
    identitySubgraph: 'accounts',
    // Off unless a test turns it on: nothing reloads behind a test's back.
    supergraphReload: { pollIntervalMs: 0, watch: false },
    shutdown: { graceMs: 10_000, delayMs: 0 },
    subgraphs,
    subgraphUrlOverrides: {},
    redis: { url: undefined, clusterNodes: undefined, prefix: 'tessera:' },
    responseCache: { enabled: true, maxEntries: 1000 },
    apqTtlSeconds: 3600,
    operationCacheMaxEntries: 1000,
    trustedDocuments: { mode: 'off', manifests: ['sdk/generated/persisted-documents.json'] },
    protection: {
      maxDepth: 12,
      maxAliases: 30,
      maxRootFields: 15,
      maxDirectivesPerField: 4,
      maxTokens: 2000,
      maxDocumentBytes: 20_000,
      maxJsonDepth: 64,
      maxBatch: 1,
      maxCost: 5000,
      defaultListSize: 10,
      maxPageSize: 100,
      bodyLimitBytes: 100_000,
      corsOrigins: [],
      trustedProxies: [],
      subgraphTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      // Off unless a test turns it on: most suites send many requests from one address.
      rateLimit: { enabled: false, limit: 600, windowMs: 60_000, burst: 0, roleLimits: {}, operationLimits: {}, chargeBy: 'request', failClosed: false },
    },
    signingSecret: TEST_SIGNING_SECRET,
    signatureMaxAgeMs: 60_000,
    jwt: testJwt,
    metrics: { enabled: true, port: undefined, host: '127.0.0.1' },
    tracing: testTracing,
    slowOperationMs: 1_000,
    ...overrides,
  };
}

/** A seed user as the gateway would sign them in: their id, username, role and its scopes. */
export function testIdentity(username: string, role: Role = 'customer'): Identity {
  return { userId: seedId('user', username), username, roles: [role], scopes: scopesOf([role]) };
}
