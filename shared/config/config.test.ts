import { describe, expect, it } from '@jest/globals';
import { ConfigError, envPrefix, loadGatewayConfig, routeSubgraphs, subgraphRoutes, type Env } from './config.js';
import { loadSubgraphConfig } from './subgraph-config.js';
import { MAX_PAGE_SIZE } from '../subgraph/pagination.js';

describe('subgraph configuration', () => {
  it('defaults to a PGlite folder under the data folder', () => {
    const config = loadSubgraphConfig('catalog', 4002, {});
    expect(config).toMatchObject({ env: 'development', port: 4002, host: '127.0.0.1', migrateOnStart: true, seedOnStart: true });
    expect(config.store).toEqual({ kind: 'pglite', dataDir: 'data/catalog' });
  });

  it('puts each subgraph in its own database on the DATABASE_URL server', () => {
    const config = loadSubgraphConfig('order-history', 4009, { DATABASE_URL: 'postgres://u:p@db:5432/shop' });
    expect(config.store).toEqual({ kind: 'postgresql', clientUrl: 'postgres://u:p@db:5432/postgres', dbName: 'shop_order_history' });
  });

  it('lets <NAME>_DATABASE_URL and <NAME>_PORT override for one subgraph', () => {
    const config = loadSubgraphConfig('reviews', 4004, {
      DATABASE_URL: 'postgres://db/shop',
      REVIEWS_DATABASE_URL: 'postgresql://other:5433/reviews_db',
      REVIEWS_PORT: '5004',
    });
    expect(config.port).toBe(5004);
    expect(config.store).toEqual({ kind: 'postgresql', clientUrl: 'postgresql://other:5433/postgres', dbName: 'reviews_db' });
  });

  it('keeps replay nonces in memory unless Redis is configured, as the gateway reads it', () => {
    expect(loadSubgraphConfig('catalog', 4002, {}).redis).toEqual({ url: undefined, clusterNodes: undefined, prefix: 'tessera:' });
    expect(loadSubgraphConfig('catalog', 4002, { REDIS_URL: 'redis://cache:6379', REDIS_PREFIX: 'shop:' }).redis).toEqual({
      url: 'redis://cache:6379',
      clusterNodes: undefined,
      prefix: 'shop:',
    });
    expect(loadSubgraphConfig('catalog', 4002, { REDIS_CLUSTER_NODES: 'r1:7000,r2:7001' }).redis.clusterNodes).toEqual([
      { host: 'r1', port: 7000 },
      { host: 'r2', port: 7001 },
    ]);
    expect(() => loadSubgraphConfig('catalog', 4002, { REDIS_URL: 'http://cache' })).toThrow(/REDIS_URL: expected a redis:\/\//);
  });

  it('lists every invalid variable in one error', () => {
    const attempt = () =>
      loadSubgraphConfig('catalog', 4002, { CATALOG_PORT: 'eighty', DATABASE_URL: 'mysql://x', MIGRATE_ON_START: 'maybe' });
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      const problems = (error as ConfigError).problems.join('\n');
      expect(problems).toMatch(/CATALOG_PORT/);
      expect(problems).toMatch(/DATABASE_URL: expected a postgres/);
      expect(problems).toMatch(/MIGRATE_ON_START: expected true or false/);
    }
  });

  it('derives variable prefixes from names', () => {
    expect(envPrefix('order-history')).toBe('ORDER_HISTORY');
  });
});

describe('gateway configuration', () => {
  // The subgraphs a supergraph joins, with the routing URLs it records: what the gateway learns them from.
  const joined = [
    { name: 'accounts', url: 'http://127.0.0.1:4001/graphql', answersCallerCheck: true },
    { name: 'catalog', url: 'http://127.0.0.1:4002/graphql' },
    { name: 'order-history', url: 'http://history.internal/graphql' },
  ];
  const routed = (env: Env) => routeSubgraphs(loadGatewayConfig(env), env, joined);

  it("composes in development from the supergraph's subgraphs, at <NAME>_URL, else on <NAME>_PORT, else where it records", () => {
    const config = routed({ CATALOG_PORT: '5002', ACCOUNTS_URL: 'http://accounts.internal/graphql' });
    expect(config.supergraphPath).toBeUndefined();
    expect(config.subgraphs).toEqual([
      { name: 'accounts', url: 'http://accounts.internal/graphql' },
      { name: 'catalog', url: 'http://127.0.0.1:5002/graphql' },
      { name: 'order-history', url: 'http://history.internal/graphql' },
    ]);
  });

  it('tells an explicitly set <NAME>_URL (which overrides the supergraph) from a defaulted one', () => {
    const config = routed({
      CATALOG_PORT: '5002',
      ACCOUNTS_URL: 'http://accounts.internal/graphql',
      ORDER_HISTORY_URL: 'http://10.0.0.9/graphql',
    });
    expect(config.subgraphUrlOverrides).toEqual({
      accounts: 'http://accounts.internal/graphql',
      'order-history': 'http://10.0.0.9/graphql',
    });
  });

  it("reads and checks the routing variables of the supergraph's subgraphs only", () => {
    expect(() => routed({ CATALOG_URL: 'catalog.internal/graphql', ACCOUNTS_PORT: 'x' })).toThrow(
      /ACCOUNTS_PORT: [\s\S]*CATALOG_URL: expected an http\(s\) URL/,
    );
    // Not a subgraph of this supergraph: someone else's variables.
    expect(routed({ BILLING_URL: 'not a url', KUBERNETES_PORT: 'tcp://10.0.0.1:443' }).subgraphUrlOverrides).toEqual({});
  });

  it("is read without the gateway's other settings by tooling (compose records the routing URLs)", () => {
    const env = { NODE_ENV: 'production', REVIEWS_PORT: '5004' };
    expect(() => loadGatewayConfig(env)).toThrow(/SUBGRAPH_SIGNING_SECRET/);
    expect(subgraphRoutes(env, [{ name: 'reviews', url: 'http://127.0.0.1:4004/graphql' }]).subgraphs).toEqual([
      { name: 'reviews', url: 'http://127.0.0.1:5004/graphql' },
    ]);
  });

  const productionSecrets = { NODE_ENV: 'production', SUBGRAPH_SIGNING_SECRET: 's'.repeat(32), JWT_SECRET: 'j'.repeat(32) };

  it('serves GraphiQL and answers introspection outside production, and in production only with GRAPHIQL=true', () => {
    const ide = (env: Record<string, string>) => {
      const { graphiql, introspection } = loadGatewayConfig(env);
      return { graphiql, introspection };
    };
    expect(ide({})).toEqual({ graphiql: true, introspection: true });
    expect(ide({ GRAPHIQL: 'false' })).toEqual({ graphiql: false, introspection: true });
    expect(ide(productionSecrets)).toEqual({ graphiql: false, introspection: false });
    expect(ide({ ...productionSecrets, GRAPHIQL: 'true' })).toEqual({ graphiql: true, introspection: true });
    expect(() => loadGatewayConfig({ GRAPHIQL: 'maybe' })).toThrow(/GRAPHIQL: expected true or false/);
  });

  it('serves the composed supergraph file in production', () => {
    expect(loadGatewayConfig(productionSecrets).supergraphPath).toBe('supergraph.graphql');
    expect(loadGatewayConfig({ ...productionSecrets, SUPERGRAPH_PATH: '/etc/sg.graphql' }).supergraphPath).toBe('/etc/sg.graphql');
  });

  it("caps pages at the subgraphs' maximum unless told otherwise", () => {
    expect(loadGatewayConfig({}).protection.maxPageSize).toBe(MAX_PAGE_SIZE);
    expect(loadGatewayConfig({ MAX_PAGE_SIZE: '50' }).protection.maxPageSize).toBe(50);
  });

  it('reads rate limits by root field and by operation name', () => {
    const { rateLimit } = loadGatewayConfig({ RATE_LIMIT_OPERATIONS: 'Mutation.login=5, Login=10' }).protection;
    expect(rateLimit.operationLimits).toEqual({ 'Mutation.login': 5, Login: 10 });
    expect(() => loadGatewayConfig({ RATE_LIMIT_OPERATIONS: 'Mutation.login.x=5' })).toThrow(/RATE_LIMIT_OPERATIONS/);
  });

  it('refuses to start in production without its secrets', () => {
    expect(() => loadGatewayConfig({ NODE_ENV: 'production' })).toThrow(
      /SUBGRAPH_SIGNING_SECRET: required in production[\s\S]*JWT_SECRET or JWKS_URL: one is required/,
    );
    const issuing = () =>
      loadSubgraphConfig('accounts', 4001, { NODE_ENV: 'production', SUBGRAPH_SIGNING_SECRET: 's'.repeat(32) }, { issuesTokens: true });
    expect(issuing).toThrow(/JWT_SECRET: required/);
    expect(() => loadGatewayConfig({ ...productionSecrets, JWT_SECRET: 'short' })).toThrow(/JWT_SECRET: must be at least 32/);
  });

  it('accepts a JWKS URL alone, with asymmetric algorithms only', () => {
    const { jwt } = loadGatewayConfig({
      NODE_ENV: 'production',
      SUBGRAPH_SIGNING_SECRET: 's'.repeat(32),
      JWKS_URL: 'https://idp.example/jwks',
    });
    expect(jwt.algorithms).toEqual(['RS256', 'ES256']);
  });

  it('allows unsigned subgraph requests only in development', () => {
    expect(loadSubgraphConfig('catalog', 4002, { ALLOW_UNSIGNED_REQUESTS: 'true' }).allowUnsignedRequests).toBe(true);
    expect(() => loadSubgraphConfig('catalog', 4002, { NODE_ENV: 'test', ALLOW_UNSIGNED_REQUESTS: 'true' })).toThrow(
      /only allowed with NODE_ENV=development/,
    );
  });

  it('trusts only the gateway signature unless SUBGRAPH_TRUST=bearer; bearer needs a way to verify tokens in production', () => {
    expect(loadSubgraphConfig('catalog', 4002, {}).trust).toBe('signature');
    expect(loadSubgraphConfig('catalog', 4002, { SUBGRAPH_TRUST: 'bearer' }).trust).toBe('bearer');
    expect(() => loadSubgraphConfig('catalog', 4002, { SUBGRAPH_TRUST: 'anyone' })).toThrow(/SUBGRAPH_TRUST/);
    const production = { NODE_ENV: 'production', SUBGRAPH_SIGNING_SECRET: 's'.repeat(32), SUBGRAPH_TRUST: 'bearer' };
    expect(() => loadSubgraphConfig('catalog', 4002, production)).toThrow(/JWT_SECRET or JWKS_URL/);
    expect(loadSubgraphConfig('catalog', 4002, { ...production, JWKS_URL: 'https://id.example.com/jwks' }).jwt).toMatchObject({
      algorithms: ['RS256', 'ES256'],
    });
    // Signature mode verifies no token: a catalog needs neither.
    expect(loadSubgraphConfig('catalog', 4002, { ...production, SUBGRAPH_TRUST: 'signature' }).trust).toBe('signature');
  });

  it('serves any document unless trusted documents are asked for', () => {
    expect(loadGatewayConfig({}).trustedDocuments).toEqual({ mode: 'off', manifests: ['sdk/generated/persisted-documents.json'] });
    expect(
      loadGatewayConfig({ TRUSTED_DOCUMENTS: 'enforce', TRUSTED_DOCUMENTS_MANIFEST: '/etc/tessera/pq.json' }).trustedDocuments,
    ).toEqual({ mode: 'enforce', manifests: ['/etc/tessera/pq.json'] });
    // a list of files and folders, whose union is trusted
    expect(
      loadGatewayConfig({ TRUSTED_DOCUMENTS_MANIFEST: 'sdk/generated/persisted-documents.json, /etc/tessera/clients/' }).trustedDocuments
        .manifests,
    ).toEqual(['sdk/generated/persisted-documents.json', '/etc/tessera/clients/']);
    expect(() => loadGatewayConfig({ TRUSTED_DOCUMENTS_MANIFEST: ' , ' })).toThrow(/TRUSTED_DOCUMENTS_MANIFEST/);
    expect(() => loadGatewayConfig({ TRUSTED_DOCUMENTS: 'on' })).toThrow(/TRUSTED_DOCUMENTS: /);
  });

  it('asks the subgraph answering `me` and `user(id)` about the callers of mutations unless told otherwise', () => {
    expect(routed({}).identitySubgraph).toBe('accounts');
    expect(routed({ IDENTITY_SUBGRAPH: 'off' }).identitySubgraph).toBeUndefined();
    expect(routed({ IDENTITY_SUBGRAPH: 'catalog' }).identitySubgraph).toBe('catalog');
    expect(() => routed({ IDENTITY_SUBGRAPH: 'billing' })).toThrow(
      /IDENTITY_SUBGRAPH: expected off or one of accounts, catalog, order-history/,
    );
    // A supergraph without accounts: nobody is asked unless one is named.
    expect(routeSubgraphs(loadGatewayConfig({}), {}, joined.slice(1)).identitySubgraph).toBeUndefined();
  });
});

describe('tracing and slow-operation configuration', () => {
  it('leaves tracing off by default, also when the endpoint is set but empty', () => {
    for (const env of [{}, { OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_SERVICE_NAME: '' }]) {
      const config = loadSubgraphConfig('catalog', 4002, env);
      expect(config.tracing).toEqual({ otlpEndpoint: undefined, otlpHeaders: {}, serviceName: undefined, sampleRatio: 1 });
      expect(config).toMatchObject({ slowOperationMs: 1000, slowSqlMs: 200 });
    }
  });

  it('reads the collector endpoint, its headers (URL-encoded values) and the thresholds', () => {
    const config = loadGatewayConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=abc, authorization=Basic%20dXNlcjpwYXNz, x-raw=100%',
      OTEL_SERVICE_NAME: 'edge',
      TRACE_SAMPLE_RATIO: '0.25',
      SLOW_OPERATION_MS: '250',
    });
    expect(config.tracing).toEqual({
      otlpEndpoint: 'http://collector:4318',
      otlpHeaders: { 'x-api-key': 'abc', authorization: 'Basic dXNlcjpwYXNz', 'x-raw': '100%' },
      serviceName: 'edge',
      sampleRatio: 0.25,
    });
    expect(config.slowOperationMs).toBe(250);
    expect(loadSubgraphConfig('reviews', 4004, { SLOW_SQL_MS: '0' }).slowSqlMs).toBe(0);
  });

  it('names each bad tracing variable', () => {
    expect(() => loadGatewayConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT: expected an http\(s\) URL/,
    );
    expect(() => loadGatewayConfig({ OTEL_EXPORTER_OTLP_HEADERS: 'just-a-key' })).toThrow(
      /OTEL_EXPORTER_OTLP_HEADERS\b.*: expected key=value/,
    );
    expect(() => loadSubgraphConfig('catalog', 4002, { SLOW_SQL_MS: '-1' })).toThrow(/SLOW_SQL_MS/);
    expect(() => loadSubgraphConfig('catalog', 4002, { TRACE_SAMPLE_RATIO: '2' })).toThrow(/TRACE_SAMPLE_RATIO/);
  });
});

describe('shutdown and reload configuration', () => {
  const productionSecrets = { NODE_ENV: 'production', SUBGRAPH_SIGNING_SECRET: 's'.repeat(32), JWT_SECRET: 'j'.repeat(32) };

  it('gives every process a shutdown grace of 10 s and no delay unless told', () => {
    expect(loadSubgraphConfig('catalog', 4002, {}).shutdown).toEqual({ graceMs: 10_000, delayMs: 0 });
    expect(loadGatewayConfig({ SHUTDOWN_GRACE_MS: '25000', SHUTDOWN_DELAY_MS: '5000' }).shutdown).toEqual({
      graceMs: 25_000,
      delayMs: 5_000,
    });
    expect(() => loadGatewayConfig({ SHUTDOWN_GRACE_MS: '-1' })).toThrow(/SHUTDOWN_GRACE_MS/);
  });

  it('watches a supergraph file and polls it slowly; re-composes every 10 s only in development', () => {
    expect(loadGatewayConfig(productionSecrets).supergraphReload).toEqual({ pollIntervalMs: 30_000, watch: true });
    expect(loadGatewayConfig({}).supergraphReload).toEqual({ pollIntervalMs: 10_000, watch: true });
    expect(loadGatewayConfig({ NODE_ENV: 'test' }).supergraphReload.pollIntervalMs).toBe(0);
    expect(loadGatewayConfig({ SUPERGRAPH_POLL_INTERVAL_MS: '0', SUPERGRAPH_WATCH: 'false' }).supergraphReload).toEqual({
      pollIntervalMs: 0,
      watch: false,
    });
  });
});

describe('metrics configuration', () => {
  const productionSecrets = { NODE_ENV: 'production', SUBGRAPH_SIGNING_SECRET: 's'.repeat(32), JWT_SECRET: 'j'.repeat(32) };

  it('serves /metrics on the process port in development and tests (npm start unchanged)', () => {
    expect(loadGatewayConfig({}).metrics).toEqual({ enabled: true, port: undefined, host: '127.0.0.1' });
    expect(loadSubgraphConfig('catalog', 4002, { NODE_ENV: 'test' }).metrics.port).toBeUndefined();
  });

  it('never on the public port in production: port 9464 of its own unless one is given', () => {
    expect(loadGatewayConfig(productionSecrets).metrics).toEqual({ enabled: true, port: 9464, host: '127.0.0.1' });
    expect(loadSubgraphConfig('catalog', 4002, productionSecrets).metrics.port).toBe(9464);
    expect(loadGatewayConfig({ ...productionSecrets, METRICS_PORT: '9100', HOST: '0.0.0.0' }).metrics).toEqual({
      enabled: true,
      port: 9100,
      host: '0.0.0.0',
    });
    expect(loadGatewayConfig({ ...productionSecrets, METRICS_PORT: '9100', GATEWAY_METRICS_PORT: '9101' }).metrics.port).toBe(9101);
    expect(loadSubgraphConfig('catalog', 4002, { ...productionSecrets, CATALOG_METRICS_PORT: '9102' }).metrics.port).toBe(9102);
    expect(loadGatewayConfig({ ...productionSecrets, METRICS: 'false' }).metrics.enabled).toBe(false);
  });

  it('refuses a metrics port that is the public port', () => {
    expect(() => loadGatewayConfig({ METRICS_PORT: '4000' })).toThrow(/metrics port: 4000 is GATEWAY_PORT as well/);
    expect(() => loadSubgraphConfig('catalog', 4002, { CATALOG_METRICS_PORT: '4002' })).toThrow(
      /metrics port: 4002 is CATALOG_PORT as well/,
    );
    expect(loadGatewayConfig({ METRICS_PORT: '4000', METRICS: 'false' }).metrics.enabled).toBe(false);
  });
});

describe('JSON depth configuration', () => {
  it('bounds JSON nesting at 64 by default, the same for the gateway and every subgraph', () => {
    expect(loadGatewayConfig({}).protection.maxJsonDepth).toBe(64);
    expect(loadSubgraphConfig('catalog', 4002, {}).maxJsonDepth).toBe(64);
    expect(loadGatewayConfig({ MAX_JSON_DEPTH: '128' }).protection.maxJsonDepth).toBe(128);
    expect(loadSubgraphConfig('catalog', 4002, { MAX_JSON_DEPTH: '128' }).maxJsonDepth).toBe(128);
    expect(() => loadGatewayConfig({ MAX_JSON_DEPTH: '0' })).toThrow(/MAX_JSON_DEPTH/);
  });
});
