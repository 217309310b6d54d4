import { z } from 'zod';
import type { MetricsConfig } from '../observability/metrics.js';
import { postgresDriverOptions } from '../store/postgres-url.js';

/**
 * Configuration is read from the environment once, in each process's entry point, validated
 * here, and passed down as plain objects. Nothing else in the code base reads `process.env`.
 */
export type Env = Record<string, string | undefined>;

export type RuntimeEnvironment = 'development' | 'production' | 'test';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
/** `pretty`: for a person at a terminal (pino-pretty); `json`: one JSON object a line. */
export type LogFormat = 'pretty' | 'json';

/** Where a subgraph keeps its data: a PGlite folder (embedded) or a PostgreSQL database. */
export type StoreConfig =
  | { kind: 'pglite'; dataDir: string }
  | { kind: 'postgresql'; clientUrl: string; dbName: string };

export interface CommonConfig {
  env: RuntimeEnvironment;
  logLevel: LogLevel;
  /** Unset: pretty in development at a terminal, JSON otherwise (shared/observability/logger.ts). */
  logFormat?: LogFormat;
  host: string;
  tracing: TracingConfig;
  shutdown: ShutdownConfig;
  /** GraphQL operations slower than this are logged at warn. */
  slowOperationMs: number;
}

/** OpenTelemetry trace export (shared/observability/tracing.ts); no endpoint: tracing is off. */
export interface TracingConfig {
  /** OTLP/HTTP collector base URL; spans go to `<endpoint>/v1/traces`. */
  otlpEndpoint: string | undefined;
  /** Extra headers for the collector (an API key, say). */
  otlpHeaders: Record<string, string>;
  /** Overrides the process's own service name (`tessera-gateway`, `tessera-<subgraph>`). */
  serviceName: string | undefined;
  /** Share of requests traced that arrive without a caller's trace (0–1); a caller's decision is followed. */
  sampleRatio: number;
}

/** Graceful shutdown on SIGTERM/SIGINT (see shared/lifecycle/lifecycle.ts). */
export interface ShutdownConfig {
  /** How long requests in flight may take to finish before their connections are cut. */
  graceMs: number;
  /** How long to keep serving, with `/ready` answering 503, before the listener closes (load balancers notice first). */
  delayMs: number;
}

/** Signed identity between gateway and subgraphs (see shared/identity/signed-requests.ts). */
export interface SigningConfig {
  /** Shared HMAC secret; `undefined` until resolved (generated in development). */
  signingSecret: string | undefined;
  /** How far a signature's time may be from the verifier's clock; a nonce is remembered for twice this. */
  signatureMaxAgeMs: number;
}

/** Access tokens: what accounts issues with and the gateway verifies against. */
export interface JwtConfig {
  /** HS256 secret; `undefined` until resolved (generated in development). */
  secret: string | undefined;
  /** RS256/ES256 keys from an OIDC provider's JWKS (the gateway). */
  jwksUrl: string | undefined;
  issuer: string;
  audience: string;
  /** Algorithms the gateway accepts. */
  algorithms: string[];
  clockSkewSeconds: number;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
}

export type SubgraphTrust = 'signature' | 'bearer';

export interface SubgraphConfig extends CommonConfig, SigningConfig {
  name: string;
  port: number;
  dataDir: string;
  store: StoreConfig;
  migrateOnStart: boolean;
  seedOnStart: boolean;
  /** Development only: accept requests without a gateway signature (as anonymous or as signed). */
  allowUnsignedRequests: boolean;
  /**
   * Who the subgraph believes about the caller: `signature`, only Tessera's gateway (its signed
   * identity); `bearer`, also the client's own access token forwarded by another router.
   */
  trust: SubgraphTrust;
  jwt: JwtConfig;
  metrics: MetricsConfig;
  /** Where the nonces of served signed requests are shared with other replicas; none: in memory. */
  redis: RedisConfig;
  /** SQL statements slower than this are logged at warn. */
  slowSqlMs: number;
  /** Request bodies nesting arrays and objects deeper than this are refused (as at the gateway). */
  maxJsonDepth: number;
}

/** Where the gateway keeps its caches and subgraphs their replay nonces; no `url` and no `clusterNodes`: in memory. */
export interface RedisConfig {
  url: string | undefined;
  /** `host:port` of Redis Cluster nodes to start from. */
  clusterNodes: { host: string; port: number }[] | undefined;
  /** Prefix of every key Tessera writes. */
  prefix: string;
}

export interface ResponseCacheConfig {
  enabled: boolean;
  /** In-memory store only: how many responses it keeps. */
  maxEntries: number;
}

/** What the gateway refuses before any subgraph is asked (see the README's protection section). */
export interface ProtectionConfig {
  maxDepth: number;
  maxAliases: number;
  maxRootFields: number;
  maxDirectivesPerField: number;
  maxTokens: number;
  maxDocumentBytes: number;
  /** Nesting of arrays and objects in a JSON body (and in a GET's `variables` and `extensions`). */
  maxJsonDepth: number;
  /** Operations in one batched HTTP request; 1 turns batching off. */
  maxBatch: number;
  maxCost: number;
  defaultListSize: number;
  /** Largest slicing argument (`first`) the gateway lets through: the subgraphs' `MAX_PAGE_SIZE`. */
  maxPageSize: number;
  bodyLimitBytes: number;
  corsOrigins: string[];
  /** Proxies whose X-Forwarded-For is believed (Express `trust proxy` values). */
  trustedProxies: string[];
  subgraphTimeoutMs: number;
  requestTimeoutMs: number;
  rateLimit: {
    enabled: boolean;
    /** Units per window for a caller without a role limit (anonymous callers, customers). */
    limit: number;
    windowMs: number;
    /** Extra units a caller may spend in one window above `limit`. */
    burst: number;
    /** Per-role limits; a caller gets the largest of their roles'. */
    roleLimits: Record<string, number>;
    /**
     * Limits counted apart, by root field (`Mutation.login: 10`, each run of the field counts)
     * or by operation name (`Login: 10`, which the client chooses).
     */
    operationLimits: Record<string, number>;
    /** What one operation costs: 1, or its estimated query cost. */
    chargeBy: 'request' | 'cost';
    /** Refuse (true) or allow (false) when the limiter cannot be reached. */
    failClosed: boolean;
  };
}

/** Which documents the gateway serves (see gateway/persisted-documents/trusted-documents.ts). */
export interface TrustedDocumentsConfig {
  /** `off`: any document. `log`: any, untrusted ones logged. `enforce`: only the manifest's. */
  mode: 'off' | 'log' | 'enforce';
  /**
   * Persisted-documents manifests (hash → document, as codegen writes them), each a file or a
   * folder of `*.json` files: the gateway trusts their union (ours and client teams').
   */
  manifests: string[];
}

export interface GatewayConfig extends CommonConfig, SigningConfig {
  port: number;
  protection: ProtectionConfig;
  redis: RedisConfig;
  responseCache: ResponseCacheConfig;
  /** How long an automatic persisted query is remembered. */
  apqTtlSeconds: number;
  /**
   * Entries in each per-document cache the gateway holds in memory: parsed and validated
   * documents, query plans, and (without Redis) persisted queries. Apollo's own bounds are in
   * approximate JSON bytes, several times smaller than the heap an entry really takes.
   */
  operationCacheMaxEntries: number;
  trustedDocuments: TrustedDocumentsConfig;
  dataDir: string;
  jwt: JwtConfig;
  /** Set: serve this supergraph file. Unset: compose from `subgraphs` at start. */
  supergraphPath: string | undefined;
  /** Every registered subgraph at `<NAME>_URL`, else its default port: what development composes from, and `npm run compose` records. */
  subgraphs: { name: string; url: string }[];
  /**
   * `<NAME>_URL`s explicitly set, by subgraph name: they win over the routing URL the served
   * supergraph records for that name. Every other subgraph is routed where the supergraph says.
   */
  subgraphUrlOverrides: Record<string, string>;
  /** How long start-up waits for subgraphs to answer before composing. */
  subgraphWaitMs: number;
  /**
   * The subgraph asked, before each signed-in caller's mutation, whether the caller still
   * exists and is enabled (`me`, `user(id)`); undefined: not asked (tokens from an OIDC
   * provider whose users accounts does not hold).
   */
  identitySubgraph: string | undefined;
  metrics: MetricsConfig;
  /** Serve GraphiQL at `/graphiql` (a self-contained page; gateway/graphiql/graphiql.ts). */
  graphiql: boolean;
  /** Answer introspection: outside production, or where GraphiQL is served (it needs the schema). */
  introspection: boolean;
  /** Live reload of the supergraph (see gateway/supergraph/reload.ts). */
  supergraphReload: {
    /** Re-read the file, or re-compose from the subgraphs, this often; 0: never. */
    pollIntervalMs: number;
    /** Watch `supergraphPath`'s folder and reload as soon as it changes. */
    watch: boolean;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }

  /** The variables to change: what each problem starts with (`GATEWAY_PORT: …`), else the ones it names. */
  get variables(): string[] {
    const names = this.problems.flatMap((problem) => {
      const subject = problem.slice(0, problem.indexOf(': ') + 1);
      const leading = subject.match(/\b[A-Z][A-Z0-9_]*[A-Z0-9]\b/g);
      return leading ?? problem.match(/\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b/g) ?? [];
    });
    return [...new Set(names)];
  }
}

/**
 * How a process logs before its configuration is known to be valid (to report that it is
 * not): the logging variables alone, each falling back to its default when it is bad itself.
 */
export function loadLogConfig(env: Env): Pick<CommonConfig, 'env' | 'logLevel' | 'logFormat'> {
  const pick = <T extends z.ZodType>(schema: T, value: string | undefined) => {
    const result = schema.safeParse(value);
    return result.success ? result.data : undefined;
  };
  const nodeEnv = pick(commonSchema.shape.NODE_ENV, env.NODE_ENV) ?? 'development';
  return {
    env: nodeEnv,
    logLevel: pick(commonSchema.shape.LOG_LEVEL, env.LOG_LEVEL) ?? defaultLogLevel(nodeEnv),
    logFormat: pick(commonSchema.shape.LOG_FORMAT, env.LOG_FORMAT),
  };
}

const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
  .transform((value) => value === 'true' || value === '1' || value === 'yes');
const port = z.coerce.number().int().min(0).max(65535);
const positive = z.coerce.number().int().min(1);
const list = z.string().transform((value) => value.split(',').map((item) => item.trim()).filter(Boolean));
/** `staff=1000,admin=5000` → { staff: 1000, admin: 5000 }; names may be `Type.field` (`Mutation.login=5`). */
const limits = z
  .string()
  .transform((value) => value.split(',').map((item) => item.trim()).filter(Boolean))
  .pipe(z.array(z.string().regex(/^[\w:-]+(\.\w+)?=\d+$/, 'expected name=number[,name=number…]')))
  .transform((pairs) => Object.fromEntries(pairs.map((pair) => [pair.split('=')[0]!, Number(pair.split('=')[1])])));
const postgresUrl = z
  .string()
  .superRefine((value, context) => {
    if (!/^postgres(ql)?:\/\/.+/.test(value)) {
      context.addIssue({ code: 'custom', message: 'expected a postgres:// or postgresql:// URL' });
      return;
    }
    // Its query goes to node-postgres (TLS above all): checked here, so start-up names the variable.
    try {
      postgresDriverOptions(value);
    } catch (error) {
      context.addIssue({ code: 'custom', message: (error as Error).message });
    }
  });

/** `key=value[,key=value…]`, values URL-encoded (the OpenTelemetry convention for OTEL_EXPORTER_OTLP_HEADERS). */
const headerList = z
  .string()
  .transform((value) => value.split(',').map((item) => item.trim()).filter(Boolean))
  .pipe(z.array(z.string().regex(/^[^=]+=.*$/, 'expected key=value[,key=value…]')))
  .transform((pairs) => Object.fromEntries(pairs.map((pair) => [pair.slice(0, pair.indexOf('=')).trim(), percentDecoded(pair.slice(pair.indexOf('=') + 1).trim())])));

/** A value that is not valid percent-encoding is taken as written. */
function percentDecoded(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** OpenTelemetry's convention: a variable set to the empty string counts as unset (compose passes them through so). */
const emptyAsUnset = <T extends z.ZodType>(schema: T) => z.preprocess((value) => (value === '' ? undefined : value), schema);

const secret = z.string().min(32, { message: 'must be at least 32 characters' });

const commonSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  LOG_FORMAT: z.enum(['pretty', 'json']).optional(),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATA_DIR: z.string().min(1).default('data'),
  SUBGRAPH_SIGNING_SECRET: secret.optional(),
  SIGNATURE_MAX_AGE_MS: z.coerce.number().int().min(1000).max(600_000).default(60_000),
  REDIS_URL: z.string().regex(/^rediss?:\/\/.+/, 'expected a redis:// or rediss:// URL').optional(),
  REDIS_CLUSTER_NODES: z
    .string()
    .transform((value) => value.split(',').map((node) => node.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[^:]+:\d+$/, 'expected host:port[,host:port…]')).min(1))
    .optional(),
  REDIS_PREFIX: z.string().min(1).max(64).default('tessera:'),
  JWT_SECRET: secret.optional(),
  JWKS_URL: z.url({ message: 'expected an http(s) URL' }).optional(),
  JWT_ISSUER: z.string().min(1).default('tessera'),
  JWT_AUDIENCE: z.string().min(1).default('tessera'),
  JWT_ALGORITHMS: z
    .string()
    .transform((value) => value.split(',').map((alg) => alg.trim()).filter(Boolean))
    .pipe(z.array(z.enum(['HS256', 'RS256', 'ES256', 'PS256', 'EdDSA'])).min(1))
    .optional(),
  JWT_CLOCK_SKEW_S: z.coerce.number().int().min(0).max(300).default(30),
  ACCESS_TOKEN_TTL_S: z.coerce.number().int().min(30).max(86_400).default(900),
  REFRESH_TOKEN_TTL_S: z.coerce.number().int().min(300).default(30 * 86_400),
  METRICS: flag.default(true),
  METRICS_PORT: port.optional(),
  METRICS_HOST: z.string().min(1).optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: emptyAsUnset(z.url({ protocol: /^https?$/, message: 'expected an http(s) URL' }).optional()),
  OTEL_EXPORTER_OTLP_HEADERS: emptyAsUnset(headerList.default({})),
  OTEL_SERVICE_NAME: emptyAsUnset(z.string().min(1).optional()),
  TRACE_SAMPLE_RATIO: z.coerce.number().min(0).max(1).default(1),
  SLOW_OPERATION_MS: z.coerce.number().int().min(0).default(1_000),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(10_000),
  SHUTDOWN_DELAY_MS: z.coerce.number().int().min(0).default(0),
  // Shared: a subgraph must accept whatever JSON its gateway accepted and passes on.
  MAX_JSON_DEPTH: positive.default(64),
});
type CommonValues = z.infer<typeof commonSchema>;

/** `accounts` → `ACCOUNTS`, `order-history` → `ORDER_HISTORY`: the prefix of a subgraph's own variables. */
export function envPrefix(subgraphName: string): string {
  return subgraphName.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

function parse<T extends z.ZodType>(schema: T, env: Env): z.infer<T> {
  const result = schema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`),
    );
  }
  return result.data;
}

/** Tests stay quiet unless asked; everything else logs at info. */
const defaultLogLevel = (env: RuntimeEnvironment): LogLevel => (env === 'test' ? 'silent' : 'info');

function common(values: CommonValues): CommonConfig & SigningConfig & { dataDir: string; jwt: JwtConfig } {
  const algorithms = values.JWT_ALGORITHMS ?? [...(values.JWT_SECRET || !values.JWKS_URL ? ['HS256'] : []), ...(values.JWKS_URL ? ['RS256', 'ES256'] : [])];
  return {
    env: values.NODE_ENV,
    logLevel: values.LOG_LEVEL ?? defaultLogLevel(values.NODE_ENV),
    logFormat: values.LOG_FORMAT,
    host: values.HOST,
    tracing: {
      otlpEndpoint: values.OTEL_EXPORTER_OTLP_ENDPOINT,
      otlpHeaders: values.OTEL_EXPORTER_OTLP_HEADERS,
      serviceName: values.OTEL_SERVICE_NAME,
      sampleRatio: values.TRACE_SAMPLE_RATIO,
    },
    slowOperationMs: values.SLOW_OPERATION_MS,
    shutdown: { graceMs: values.SHUTDOWN_GRACE_MS, delayMs: values.SHUTDOWN_DELAY_MS },
    dataDir: values.DATA_DIR,
    signingSecret: values.SUBGRAPH_SIGNING_SECRET,
    signatureMaxAgeMs: values.SIGNATURE_MAX_AGE_MS,
    jwt: {
      secret: values.JWT_SECRET,
      jwksUrl: values.JWKS_URL,
      issuer: values.JWT_ISSUER,
      audience: values.JWT_AUDIENCE,
      algorithms,
      clockSkewSeconds: values.JWT_CLOCK_SKEW_S,
      accessTokenTtlSeconds: values.ACCESS_TOKEN_TTL_S,
      refreshTokenTtlSeconds: values.REFRESH_TOKEN_TTL_S,
    },
  };
}

function redisConfig(values: CommonValues): RedisConfig {
  return {
    url: values.REDIS_URL,
    clusterNodes: values.REDIS_CLUSTER_NODES?.map((node) => {
      const [host, nodePort] = node.split(':');
      return { host: host!, port: Number(nodePort) };
    }),
    prefix: values.REDIS_PREFIX,
  };
}

/** Where metrics go in production when no port is given: Prometheus exporters' conventional port, as docker-compose.yml sets. */
export const PRODUCTION_METRICS_PORT = 9464;

/**
 * `/metrics`: the process's own port variable wins over `METRICS_PORT` (processes sharing a
 * host need one each). In production metrics are never on the public port: without a port
 * they get the conventional one of their own, as in docker-compose.yml; in development and
 * tests they stay on the process's port, where `npm start` serves them.
 */
function metricsConfig(values: CommonValues, ownPort: number | undefined, publicPort: { name: string; port: number }): MetricsConfig {
  const port = ownPort ?? values.METRICS_PORT ?? (values.NODE_ENV === 'production' ? PRODUCTION_METRICS_PORT : undefined);
  if (values.METRICS && port !== undefined && port !== 0 && port === publicPort.port) {
    throw new ConfigError([`metrics port: ${port} is ${publicPort.name} as well; /metrics needs a port of its own (METRICS_PORT, GATEWAY_METRICS_PORT, <NAME>_METRICS_PORT), or METRICS=false`]);
  }
  return { enabled: values.METRICS, port, host: values.METRICS_HOST ?? values.HOST };
}

/** Production never runs on generated secrets: each must be given. */
function requireProductionSecrets(values: CommonValues, needs: { signing: boolean; jwt: 'secret' | 'secret-or-jwks' | 'none' }): void {
  if (values.NODE_ENV !== 'production') return;
  const problems: string[] = [];
  if (needs.signing && !values.SUBGRAPH_SIGNING_SECRET) problems.push('SUBGRAPH_SIGNING_SECRET: required in production');
  if (needs.jwt === 'secret' && !values.JWT_SECRET) problems.push('JWT_SECRET: required in production');
  if (needs.jwt === 'secret-or-jwks' && !values.JWT_SECRET && !values.JWKS_URL) {
    problems.push('JWT_SECRET or JWKS_URL: one is required in production');
  }
  if (problems.length) throw new ConfigError(problems);
}

/**
 * A subgraph's store: `<NAME>_DATABASE_URL` as given; else `DATABASE_URL`'s server with a
 * database of the subgraph's own (`<database>_<name>`, created if missing); else a PGlite
 * folder `<DATA_DIR>/<name>`.
 */
function storeFor(name: string, own: string | undefined, shared: string | undefined, dataDir: string): StoreConfig {
  if (own) {
    const url = new URL(own);
    const dbName = decodeURIComponent(url.pathname.replace(/^\//, '')) || `tessera_${name}`;
    return { kind: 'postgresql', clientUrl: withoutDatabase(url), dbName };
  }
  if (shared) {
    const url = new URL(shared);
    const base = decodeURIComponent(url.pathname.replace(/^\//, '')) || 'tessera';
    return { kind: 'postgresql', clientUrl: withoutDatabase(url), dbName: `${base}_${name.replace(/-/g, '_')}` };
  }
  return { kind: 'pglite', dataDir: `${dataDir}/${name}` };
}

function withoutDatabase(url: URL): string {
  const copy = new URL(url.toString());
  // MikroORM connects to the server's `postgres` database to create ours when it is missing.
  copy.pathname = '/postgres';
  return copy.toString();
}

/** `issuesTokens`: the subgraph signs access tokens itself (its definition says so), so it needs the HS256 secret. */
export function loadSubgraphConfig(
  name: string,
  defaultPort: number,
  env: Env,
  { issuesTokens = false }: { issuesTokens?: boolean } = {},
): SubgraphConfig {
  const prefix = envPrefix(name);
  const schema = commonSchema.extend({
    DATABASE_URL: postgresUrl.optional(),
    [`${prefix}_DATABASE_URL`]: postgresUrl.optional(),
    [`${prefix}_PORT`]: port.default(defaultPort),
    MIGRATE_ON_START: flag.default(true),
    SEED_ON_START: flag.default(true),
    ALLOW_UNSIGNED_REQUESTS: flag.default(false),
    SUBGRAPH_TRUST: z.enum(['signature', 'bearer']).default('signature'),
    [`${prefix}_METRICS_PORT`]: port.optional(),
    SLOW_SQL_MS: z.coerce.number().int().min(0).default(200),
  });
  const values = parse(schema, env) as CommonValues & Record<string, unknown>;
  // A subgraph issuing tokens needs the HS256 secret itself; in bearer mode every subgraph verifies them.
  const trust = values.SUBGRAPH_TRUST as SubgraphTrust;
  requireProductionSecrets(values, { signing: true, jwt: issuesTokens ? 'secret' : trust === 'bearer' ? 'secret-or-jwks' : 'none' });
  if (values.ALLOW_UNSIGNED_REQUESTS && values.NODE_ENV !== 'development') {
    throw new ConfigError(['ALLOW_UNSIGNED_REQUESTS: only allowed with NODE_ENV=development']);
  }
  return {
    ...common(values),
    allowUnsignedRequests: values.ALLOW_UNSIGNED_REQUESTS as boolean,
    trust,
    name,
    port: values[`${prefix}_PORT`] as number,
    store: storeFor(
      name,
      values[`${prefix}_DATABASE_URL`] as string | undefined,
      values.DATABASE_URL as string | undefined,
      values.DATA_DIR,
    ),
    migrateOnStart: values.MIGRATE_ON_START as boolean,
    seedOnStart: values.SEED_ON_START as boolean,
    metrics: metricsConfig(values, values[`${prefix}_METRICS_PORT`] as number | undefined, { name: `${prefix}_PORT`, port: values[`${prefix}_PORT`] as number }),
    redis: redisConfig(values),
    slowSqlMs: values.SLOW_SQL_MS as number,
    maxJsonDepth: values.MAX_JSON_DEPTH,
  };
}

/** `IDENTITY_SUBGRAPH` as set; unset, the subgraph that issues the tokens (and so holds the callers), if one does. */
function identitySubgraph(value: string | undefined, subgraphs: { name: string; issuesTokens?: boolean }[]): string | undefined {
  if (value) return value === 'off' ? undefined : value;
  return subgraphs.find((s) => s.issuesTokens)?.name;
}

export function loadGatewayConfig(subgraphs: { name: string; port: number; issuesTokens?: boolean }[], env: Env): GatewayConfig {
  const perSubgraph: Record<string, z.ZodType> = {};
  for (const subgraph of subgraphs) {
    const prefix = envPrefix(subgraph.name);
    perSubgraph[`${prefix}_URL`] = z.url({ message: 'expected an http(s) URL' }).optional();
    perSubgraph[`${prefix}_PORT`] = port.default(subgraph.port);
  }
  const schema = commonSchema.extend({
    GATEWAY_PORT: port.default(4000),
    RESPONSE_CACHE: flag.default(true),
    RESPONSE_CACHE_MAX_ENTRIES: z.coerce.number().int().min(1).default(10_000),
    APQ_TTL_S: z.coerce.number().int().min(1).default(86_400),
    // lru-cache allocates its index for `max` entries up front.
    OPERATION_CACHE_MAX_ENTRIES: positive.max(1_000_000).default(1_000),
    TRUSTED_DOCUMENTS: z.enum(['off', 'log', 'enforce']).default('off'),
    TRUSTED_DOCUMENTS_MANIFEST: list.pipe(z.array(z.string()).min(1, 'expected a manifest file or folder[,…]')).default(['sdk/generated/persisted-documents.json']),
    MAX_DEPTH: positive.default(12),
    MAX_ALIASES: z.coerce.number().int().min(0).default(30),
    MAX_ROOT_FIELDS: positive.default(15),
    MAX_DIRECTIVES_PER_FIELD: z.coerce.number().int().min(0).default(4),
    MAX_TOKENS: positive.default(2_000),
    MAX_DOCUMENT_BYTES: positive.default(20_000),
    MAX_BATCH: positive.default(1),
    MAX_COST: positive.default(5_000),
    DEFAULT_LIST_SIZE: positive.default(10),
    // The subgraphs' MAX_PAGE_SIZE (shared/subgraph/pagination.ts), which a config test keeps in step.
    MAX_PAGE_SIZE: positive.default(100),
    BODY_LIMIT_BYTES: positive.default(100_000),
    CORS_ORIGINS: list.default([]),
    TRUSTED_PROXIES: list.default([]),
    SUBGRAPH_TIMEOUT_MS: positive.default(10_000),
    REQUEST_TIMEOUT_MS: positive.default(30_000),
    RATE_LIMIT: z.coerce.number().int().min(0).default(600),
    RATE_LIMIT_WINDOW_S: positive.default(60),
    RATE_LIMIT_BURST: z.coerce.number().int().min(0).default(0),
    RATE_LIMIT_ROLES: limits.default({}),
    RATE_LIMIT_OPERATIONS: limits.default({}),
    RATE_LIMIT_CHARGE: z.enum(['request', 'cost']).default('request'),
    RATE_LIMIT_FAIL_CLOSED: flag.default(false),
    SUPERGRAPH_PATH: z.string().min(1).optional(),
    SUBGRAPH_WAIT_MS: z.coerce.number().int().min(0).default(30_000),
    IDENTITY_SUBGRAPH: z
      .string()
      .refine((value) => value === 'off' || subgraphs.some((s) => s.name === value), `expected off or one of ${subgraphs.map((s) => s.name).join(', ')}`)
      .optional(),
    GATEWAY_METRICS_PORT: port.optional(),
    SUPERGRAPH_POLL_INTERVAL_MS: z.coerce.number().int().min(0).optional(),
    SUPERGRAPH_WATCH: flag.default(true),
    GRAPHIQL: flag.optional(),
    ...perSubgraph,
  });
  const values = parse(schema, env) as z.infer<typeof schema> & Record<string, unknown>;
  requireProductionSecrets(values, { signing: true, jwt: 'secret-or-jwks' });
  const base = common(values);
  const graphiql = values.GRAPHIQL ?? base.env !== 'production';
  return {
    ...base,
    port: values.GATEWAY_PORT,
    graphiql,
    introspection: base.env !== 'production' || graphiql,
    redis: redisConfig(values),
    responseCache: { enabled: values.RESPONSE_CACHE, maxEntries: values.RESPONSE_CACHE_MAX_ENTRIES },
    apqTtlSeconds: values.APQ_TTL_S,
    operationCacheMaxEntries: values.OPERATION_CACHE_MAX_ENTRIES,
    trustedDocuments: { mode: values.TRUSTED_DOCUMENTS, manifests: values.TRUSTED_DOCUMENTS_MANIFEST },
    protection: {
      maxDepth: values.MAX_DEPTH,
      maxAliases: values.MAX_ALIASES,
      maxRootFields: values.MAX_ROOT_FIELDS,
      maxDirectivesPerField: values.MAX_DIRECTIVES_PER_FIELD,
      maxTokens: values.MAX_TOKENS,
      maxDocumentBytes: values.MAX_DOCUMENT_BYTES,
      maxJsonDepth: values.MAX_JSON_DEPTH,
      maxBatch: values.MAX_BATCH,
      maxCost: values.MAX_COST,
      defaultListSize: values.DEFAULT_LIST_SIZE,
      maxPageSize: values.MAX_PAGE_SIZE,
      bodyLimitBytes: values.BODY_LIMIT_BYTES,
      corsOrigins: values.CORS_ORIGINS,
      trustedProxies: values.TRUSTED_PROXIES,
      subgraphTimeoutMs: values.SUBGRAPH_TIMEOUT_MS,
      requestTimeoutMs: values.REQUEST_TIMEOUT_MS,
      rateLimit: {
        // RATE_LIMIT=0 turns limiting off.
        enabled: values.RATE_LIMIT > 0,
        limit: values.RATE_LIMIT,
        windowMs: values.RATE_LIMIT_WINDOW_S * 1000,
        burst: values.RATE_LIMIT_BURST,
        roleLimits: values.RATE_LIMIT_ROLES,
        operationLimits: values.RATE_LIMIT_OPERATIONS,
        chargeBy: values.RATE_LIMIT_CHARGE,
        failClosed: values.RATE_LIMIT_FAIL_CLOSED,
      },
    },
    // Production serves a supergraph composed ahead of time (`npm run compose`), never one
    // composed from whatever answers at start.
    supergraphPath: values.SUPERGRAPH_PATH ?? (base.env === 'production' ? 'supergraph.graphql' : undefined),
    subgraphWaitMs: values.SUBGRAPH_WAIT_MS,
    identitySubgraph: identitySubgraph(values.IDENTITY_SUBGRAPH, subgraphs),
    metrics: metricsConfig(values, values.GATEWAY_METRICS_PORT, { name: 'GATEWAY_PORT', port: values.GATEWAY_PORT }),
    supergraphReload: {
      // A file is watched, so polling it is only a fallback (for changes a watch misses);
      // re-composing from running subgraphs is a development convenience.
      pollIntervalMs:
        values.SUPERGRAPH_POLL_INTERVAL_MS ?? (values.SUPERGRAPH_PATH || base.env === 'production' ? 30_000 : base.env === 'development' ? 10_000 : 0),
      watch: values.SUPERGRAPH_WATCH,
    },
    subgraphs: subgraphs.map(({ name }) => {
      const prefix = envPrefix(name);
      const url = values[`${prefix}_URL`] as string | undefined;
      return { name, url: url ?? `http://127.0.0.1:${values[`${prefix}_PORT`] as number}/graphql` };
    }),
    subgraphUrlOverrides: Object.fromEntries(
      subgraphs.flatMap(({ name }) => {
        const url = values[`${envPrefix(name)}_URL`] as string | undefined;
        return url ? [[name, url]] : [];
      }),
    ),
  };
}
