import { z } from 'zod';
import type { MetricsConfig } from '../observability/metrics.js';

/**
 * Configuration is read from the environment once, in each process's entry point, validated
 * here, and passed down as plain objects. Nothing else in the code base reads `process.env`.
 * Each process has one zod schema (the gateway's below, a subgraph's in subgraph-config.ts):
 * its object lists the variables, its `.transform()` builds the nested configuration, and
 * the type of that configuration is what the transform returns. The README documents every
 * variable a schema's object lists (test/hygiene/docs.test.ts reads them from there).
 */
export type Env = Record<string, string | undefined>;

/** `pretty`: for a person at a terminal (pino-pretty); `json`: one JSON object a line. */
export type LogFormat = 'pretty' | 'json';

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

export const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
  .transform((value) => value === 'true' || value === '1' || value === 'yes');
export const port = z.coerce.number().int().min(0).max(65535);
const positive = z.coerce.number().int().min(1);
const items = (value: string) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
const list = z.string().transform(items);
const httpUrl = z.url({ message: 'expected an http(s) URL' });
/** `staff=1000,admin=5000` → { staff: 1000, admin: 5000 }; names may be `Type.field` (`Mutation.login=5`). */
const limits = list
  .pipe(z.array(z.string().regex(/^[\w:-]+(\.\w+)?=\d+$/, 'expected name=number[,name=number…]')))
  .transform((pairs) =>
    Object.fromEntries(pairs.map((pair) => [pair.slice(0, pair.indexOf('=')), Number(pair.slice(pair.indexOf('=') + 1))])),
  );

/** `key=value[,key=value…]`, values URL-encoded (the OpenTelemetry convention for OTEL_EXPORTER_OTLP_HEADERS). */
const headerList = list
  .pipe(z.array(z.string().regex(/^[^=]+=.*$/, 'expected key=value[,key=value…]')))
  .transform((pairs) =>
    Object.fromEntries(
      pairs.map((pair) => [pair.slice(0, pair.indexOf('=')).trim(), percentDecoded(pair.slice(pair.indexOf('=') + 1).trim())]),
    ),
  );

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

/** What every process reads to log: also read alone, before the rest is known to be valid (`loadLogConfig`). */
const logVariables = {
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  LOG_FORMAT: z.enum(['pretty', 'json']).optional(),
};

/** The variables every process reads. */
export const commonVariables = {
  ...logVariables,
  HOST: z.string().min(1).default('127.0.0.1'),
  DATA_DIR: z.string().min(1).default('data'),
  SUBGRAPH_SIGNING_SECRET: secret.optional(),
  SIGNATURE_MAX_AGE_MS: z.coerce.number().int().min(1000).max(600_000).default(60_000),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\/.+/, 'expected a redis:// or rediss:// URL')
    .optional(),
  REDIS_CLUSTER_NODES: list.pipe(z.array(z.string().regex(/^[^:]+:\d+$/, 'expected host:port[,host:port…]')).min(1)).optional(),
  REDIS_PREFIX: z.string().min(1).max(64).default('tessera:'),
  SUPERVISOR_IPC: flag.default(false),
  JWT_SECRET: secret.optional(),
  JWKS_URL: httpUrl.optional(),
  JWT_ISSUER: z.string().min(1).default('tessera'),
  JWT_AUDIENCE: z.string().min(1).default('tessera'),
  JWT_ALGORITHMS: list.pipe(z.array(z.enum(['HS256', 'RS256', 'ES256', 'PS256', 'EdDSA'])).min(1)).optional(),
  JWT_CLOCK_SKEW_S: z.coerce.number().int().min(0).max(300).default(30),
  ACCESS_TOKEN_TTL_S: z.coerce.number().int().min(30).max(86_400).default(900),
  REFRESH_TOKEN_TTL_S: z.coerce
    .number()
    .int()
    .min(300)
    .default(30 * 86_400),
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
};
type CommonValues = z.output<z.ZodObject<typeof commonVariables>>;

/**
 * The key under which a schema lists the variables each subgraph has of its own, read as
 * `<NAME>_<KEY>` (`REVIEWS_PORT`): `ownVariables` fills it from the environment, and a problem
 * with one is reported under its real name.
 */
export const PER_SUBGRAPH = '<NAME>';

/** `accounts` → `ACCOUNTS`, `order-history` → `ORDER_HISTORY`: the prefix of a subgraph's own variables. */
export function envPrefix(subgraphName: string): string {
  return subgraphName.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

/** `{ PORT: env.REVIEWS_PORT, … }` for each key of `shape`: one subgraph's own variables. */
export function ownVariables(env: Env, subgraphName: string, shape: z.ZodRawShape): Env {
  return Object.fromEntries(Object.keys(shape).map((key) => [key, env[`${envPrefix(subgraphName)}_${key}`]]));
}

/** Parses with `schema`; every problem names its variable (`<NAME>_…` as the subgraph's own). */
export function parseConfig<S extends z.ZodType>(schema: S, input: unknown, subgraphName?: string): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) {
    const variable = (path: PropertyKey[]) =>
      path
        .map(String)
        .join('.')
        .replace(`${PER_SUBGRAPH}.`, subgraphName === undefined ? `${PER_SUBGRAPH}_` : `${envPrefix(subgraphName)}_`);
    // A problem found across variables (in a transform) names them in its message itself.
    throw new ConfigError(
      result.error.issues.map((issue) => (issue.path.length ? `${variable(issue.path)}: ${issue.message}` : issue.message)),
    );
  }
  return result.data;
}

/** Tests stay quiet unless asked; everything else logs at info. */
const defaultLogLevel = (env: CommonValues['NODE_ENV']) => (env === 'test' ? 'silent' : 'info');

/**
 * How a process logs before its configuration is known to be valid (to report that it is
 * not): the logging variables alone, each falling back to its default when it is bad itself.
 */
export function loadLogConfig(env: Env): Pick<CommonConfig, 'env' | 'logLevel' | 'logFormat'> {
  const pick = <T extends z.ZodType>(schema: T, value: string | undefined): z.output<T> | undefined => {
    const result = schema.safeParse(value);
    return result.success ? result.data : undefined;
  };
  const nodeEnv = pick(logVariables.NODE_ENV, env.NODE_ENV) ?? 'development';
  const logFormat = pick(logVariables.LOG_FORMAT, env.LOG_FORMAT);
  return {
    env: nodeEnv,
    logLevel: pick(logVariables.LOG_LEVEL, env.LOG_LEVEL) ?? defaultLogLevel(nodeEnv),
    ...(logFormat && { logFormat }),
  };
}

/** Production never runs on generated secrets: each must be given. */
export function checkProductionSecrets(
  values: CommonValues,
  needs: { jwt: 'secret' | 'secret-or-jwks' | 'none' },
  context: z.RefinementCtx,
): void {
  if (values.NODE_ENV !== 'production') return;
  if (!values.SUBGRAPH_SIGNING_SECRET)
    context.addIssue({ code: 'custom', path: ['SUBGRAPH_SIGNING_SECRET'], message: 'required in production' });
  if (needs.jwt === 'secret' && !values.JWT_SECRET)
    context.addIssue({ code: 'custom', path: ['JWT_SECRET'], message: 'required in production' });
  if (needs.jwt === 'secret-or-jwks' && !values.JWT_SECRET && !values.JWKS_URL) {
    context.addIssue({ code: 'custom', message: 'JWT_SECRET or JWKS_URL: one is required in production' });
  }
}

/** What every process's configuration has, from `commonVariables`. */
export function commonConfig(values: CommonValues) {
  // Widened: a token's `alg` header, any string, is looked up in it.
  const algorithms: string[] = values.JWT_ALGORITHMS ?? [
    ...(values.JWT_SECRET || !values.JWKS_URL ? ['HS256'] : []),
    ...(values.JWKS_URL ? ['RS256', 'ES256'] : []),
  ];
  return {
    env: values.NODE_ENV,
    logLevel: values.LOG_LEVEL ?? defaultLogLevel(values.NODE_ENV),
    // `logFormat` unset: pretty in development at a terminal, JSON otherwise (shared/observability/logger.ts).
    ...(values.LOG_FORMAT && { logFormat: values.LOG_FORMAT }),
    host: values.HOST,
    /** OpenTelemetry trace export (shared/observability/tracing.ts); no endpoint: tracing is off. */
    tracing: {
      /** OTLP/HTTP collector base URL; spans go to `<endpoint>/v1/traces`. */
      otlpEndpoint: values.OTEL_EXPORTER_OTLP_ENDPOINT,
      /** Extra headers for the collector (an API key, say). */
      otlpHeaders: values.OTEL_EXPORTER_OTLP_HEADERS,
      /** Overrides the process's own service name (`tessera-gateway`, `tessera-<subgraph>`). */
      serviceName: values.OTEL_SERVICE_NAME,
      /** Share of requests traced that arrive without a caller's trace (0–1); a caller's decision is followed. */
      sampleRatio: values.TRACE_SAMPLE_RATIO,
    },
    /** GraphQL operations slower than this are logged at warn. */
    slowOperationMs: values.SLOW_OPERATION_MS,
    /** Graceful shutdown on SIGTERM/SIGINT (see shared/lifecycle/lifecycle.ts). */
    shutdown: {
      /** How long requests in flight may take to finish before their connections are cut. */
      graceMs: values.SHUTDOWN_GRACE_MS,
      /** How long to keep serving, with `/ready` answering 503, before the listener closes (load balancers notice first). */
      delayMs: values.SHUTDOWN_DELAY_MS,
    },
    dataDir: values.DATA_DIR,
    /** A child of `npm start`'s supervisor with its IPC channel: without Redis, events and job purges cross processes on it. */
    supervised: values.SUPERVISOR_IPC,
    /** Signed identity between gateway and subgraphs (shared/identity/signed-requests.ts); `undefined` until resolved (generated in development). */
    signingSecret: values.SUBGRAPH_SIGNING_SECRET,
    /** How far a signature's time may be from the verifier's clock; a nonce is remembered for twice this. */
    signatureMaxAgeMs: values.SIGNATURE_MAX_AGE_MS,
    /** Access tokens: what accounts issues with and the gateway verifies against. */
    jwt: {
      /** HS256 secret; `undefined` until resolved (generated in development). */
      secret: values.JWT_SECRET,
      /** RS256/ES256 keys from an OIDC provider's JWKS (the gateway). */
      jwksUrl: values.JWKS_URL,
      issuer: values.JWT_ISSUER,
      audience: values.JWT_AUDIENCE,
      /** Algorithms the gateway accepts. */
      algorithms,
      clockSkewSeconds: values.JWT_CLOCK_SKEW_S,
      accessTokenTtlSeconds: values.ACCESS_TOKEN_TTL_S,
      refreshTokenTtlSeconds: values.REFRESH_TOKEN_TTL_S,
    },
    /** Where the gateway keeps its caches and subgraphs their replay nonces; no `url` and no `clusterNodes`: in memory. */
    redis: {
      url: values.REDIS_URL,
      /** `host:port` of Redis Cluster nodes to start from. */
      clusterNodes: values.REDIS_CLUSTER_NODES?.map((node) => ({
        host: node.slice(0, node.lastIndexOf(':')),
        port: Number(node.slice(node.lastIndexOf(':') + 1)),
      })),
      /** Prefix of every key Tessera writes. */
      prefix: values.REDIS_PREFIX,
    },
  };
}

export type CommonConfig = ReturnType<typeof commonConfig>;
export type RuntimeEnvironment = CommonConfig['env'];
export type TracingConfig = CommonConfig['tracing'];
export type ShutdownConfig = CommonConfig['shutdown'];
export type JwtConfig = CommonConfig['jwt'];
export type RedisConfig = CommonConfig['redis'];

/** Where metrics go in production when no port is given: Prometheus exporters' conventional port, as docker-compose.yml sets. */
export const PRODUCTION_METRICS_PORT = 9464;

/**
 * `/metrics`: the process's own port variable wins over `METRICS_PORT` (processes sharing a
 * host need one each). In production metrics are never on the public port: without a port
 * they get the conventional one of their own, as in docker-compose.yml; in development and
 * tests they stay on the process's port, where `npm start` serves them.
 */
export function metricsConfig(
  values: CommonValues,
  ownPort: number | undefined,
  publicPort: { name: string; port: number },
  context: z.RefinementCtx,
): MetricsConfig {
  const port = ownPort ?? values.METRICS_PORT ?? (values.NODE_ENV === 'production' ? PRODUCTION_METRICS_PORT : undefined);
  if (values.METRICS && port !== undefined && port !== 0 && port === publicPort.port) {
    context.addIssue({
      code: 'custom',
      message: `metrics port: ${port} is ${publicPort.name} as well; /metrics needs a port of its own (METRICS_PORT, GATEWAY_METRICS_PORT, <NAME>_METRICS_PORT), or METRICS=false`,
    });
  }
  return { enabled: values.METRICS, port, host: values.METRICS_HOST ?? values.HOST };
}

/** The gateway's variables (with every process's); a subgraph's routing ones are `subgraphRoutingVariables`. */
export const gatewayVariables = {
  ...commonVariables,
  GATEWAY_PORT: port.default(4000),
  RESPONSE_CACHE: flag.default(true),
  RESPONSE_CACHE_MAX_ENTRIES: z.coerce.number().int().min(1).default(10_000),
  APQ_TTL_S: z.coerce.number().int().min(1).default(86_400),
  // lru-cache allocates its index for `max` entries up front.
  OPERATION_CACHE_MAX_ENTRIES: positive.max(1_000_000).default(1_000),
  TRUSTED_DOCUMENTS: z.enum(['off', 'log', 'enforce']).default('off'),
  TRUSTED_DOCUMENTS_MANIFEST: list
    .pipe(z.array(z.string()).min(1, 'expected a manifest file or folder[,…]'))
    .default(['sdk/generated/persisted-documents.json']),
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
  GATEWAY_EXECUTOR: z.enum(['tessera', 'apollo']).default('tessera'),
  SUBGRAPH_CONNECTIONS: positive.max(10_000).default(128),
  GATEWAY_EXECUTION_CONCURRENCY: positive.max(10_000).default(8),
  REQUEST_TIMEOUT_MS: positive.default(30_000),
  SUBSCRIPTION_QUEUE_MAX: positive.max(100_000).default(100),
  SUBSCRIPTIONS_PER_CONNECTION: positive.max(10_000).default(100),
  SUBSCRIPTIONS_PER_USER: positive.max(1_000_000).default(500),
  SUBSCRIPTION_CONNECTIONS_PER_IP: positive.max(1_000_000).default(1_000),
  SUBSCRIPTION_IDLE_TIMEOUT_MS: positive.default(300_000),
  SUBSCRIPTION_KEEPALIVE_MS: positive.default(15_000),
  RATE_LIMIT: z.coerce.number().int().min(0).default(600),
  RATE_LIMIT_WINDOW_S: positive.default(60),
  RATE_LIMIT_BURST: z.coerce.number().int().min(0).default(0),
  RATE_LIMIT_ROLES: limits.default({}),
  RATE_LIMIT_OPERATIONS: limits.default({}),
  RATE_LIMIT_CHARGE: z.enum(['request', 'cost']).default('request'),
  RATE_LIMIT_FAIL_CLOSED: flag.default(false),
  SUPERGRAPH_PATH: z.string().min(1).optional(),
  SUBGRAPH_WAIT_MS: z.coerce.number().int().min(0).default(30_000),
  // Which names there are is known once the supergraph is read (`routeSubgraphs`).
  IDENTITY_SUBGRAPH: z.string().min(1).optional(),
  GATEWAY_METRICS_PORT: port.optional(),
  SUPERGRAPH_POLL_INTERVAL_MS: z.coerce.number().int().min(0).optional(),
  SUPERGRAPH_WATCH: flag.default(true),
  GRAPHIQL: flag.optional(),
};

const gatewaySchema = z.object(gatewayVariables).transform((values, context) => {
  checkProductionSecrets(values, { jwt: 'secret-or-jwks' }, context);
  const base = commonConfig(values);
  const graphiql = values.GRAPHIQL ?? base.env !== 'production';
  return {
    ...base,
    port: values.GATEWAY_PORT,
    /** Serve GraphiQL at `/graphiql` (a self-contained page; gateway/graphiql/graphiql.ts). */
    graphiql,
    /** Answer introspection: outside production, or where GraphiQL is served (it needs the schema). */
    introspection: base.env !== 'production' || graphiql,
    responseCache: {
      enabled: values.RESPONSE_CACHE,
      /** In-memory store only: how many responses it keeps. */
      maxEntries: values.RESPONSE_CACHE_MAX_ENTRIES,
    },
    /** How long an automatic persisted query is remembered. */
    apqTtlSeconds: values.APQ_TTL_S,
    /**
     * Entries in each per-document cache the gateway holds in memory: parsed and validated
     * documents, query plans, and (without Redis) persisted queries. Apollo's own bounds are in
     * approximate JSON bytes, several times smaller than the heap an entry really takes.
     */
    operationCacheMaxEntries: values.OPERATION_CACHE_MAX_ENTRIES,
    /** Which documents the gateway serves (see gateway/persisted-documents/trusted-documents.ts). */
    trustedDocuments: {
      /** `off`: any document. `log`: any, untrusted ones logged. `enforce`: only the manifest's. */
      mode: values.TRUSTED_DOCUMENTS,
      /**
       * Persisted-documents manifests (hash → document, as codegen writes them), each a file or a
       * folder of `*.json` files: the gateway trusts their union (ours and client teams').
       */
      manifests: values.TRUSTED_DOCUMENTS_MANIFEST,
    },
    /** What the gateway refuses before any subgraph is asked (see the README's protection section). */
    protection: {
      maxDepth: values.MAX_DEPTH,
      maxAliases: values.MAX_ALIASES,
      maxRootFields: values.MAX_ROOT_FIELDS,
      maxDirectivesPerField: values.MAX_DIRECTIVES_PER_FIELD,
      maxTokens: values.MAX_TOKENS,
      maxDocumentBytes: values.MAX_DOCUMENT_BYTES,
      /** Nesting of arrays and objects in a JSON body (and in a GET's `variables` and `extensions`). */
      maxJsonDepth: values.MAX_JSON_DEPTH,
      /** Operations in one batched HTTP request; 1 turns batching off. */
      maxBatch: values.MAX_BATCH,
      maxCost: values.MAX_COST,
      defaultListSize: values.DEFAULT_LIST_SIZE,
      /** Largest slicing argument (`first`) the gateway lets through: the subgraphs' `MAX_PAGE_SIZE`. */
      maxPageSize: values.MAX_PAGE_SIZE,
      bodyLimitBytes: values.BODY_LIMIT_BYTES,
      corsOrigins: values.CORS_ORIGINS,
      /** Proxies whose X-Forwarded-For is believed (Express `trust proxy` values). */
      trustedProxies: values.TRUSTED_PROXIES,
      subgraphTimeoutMs: values.SUBGRAPH_TIMEOUT_MS,
      requestTimeoutMs: values.REQUEST_TIMEOUT_MS,
      rateLimit: {
        // RATE_LIMIT=0 turns limiting off.
        enabled: values.RATE_LIMIT > 0,
        /** Units per window for a caller without a role limit (anonymous callers, customers). */
        limit: values.RATE_LIMIT,
        windowMs: values.RATE_LIMIT_WINDOW_S * 1000,
        /** Extra units a caller may spend in one window above `limit`. */
        burst: values.RATE_LIMIT_BURST,
        /** Per-role limits; a caller gets the largest of their roles'. */
        roleLimits: values.RATE_LIMIT_ROLES,
        /**
         * Limits counted apart, by root field (`Mutation.login: 10`, each run of the field counts)
         * or by operation name (`Login: 10`, which the client chooses).
         */
        operationLimits: values.RATE_LIMIT_OPERATIONS,
        /** What one operation costs: 1, or its estimated query cost. */
        chargeBy: values.RATE_LIMIT_CHARGE,
        /** Refuse (true) or allow (false) when the limiter cannot be reached. */
        failClosed: values.RATE_LIMIT_FAIL_CLOSED,
      },
    },
    /**
     * Set: serve this supergraph file. Unset: compose from the running subgraphs at start.
     * Production serves a supergraph composed ahead of time (`npm run compose`), never one
     * composed from whatever answers at start.
     */
    supergraphPath: values.SUPERGRAPH_PATH ?? (base.env === 'production' ? 'supergraph.graphql' : undefined),
    /** How long start-up waits for subgraphs to answer before composing. */
    subgraphWaitMs: values.SUBGRAPH_WAIT_MS,
    /** `IDENTITY_SUBGRAPH` as set (a subgraph's name, or `off`): `routeSubgraphs` resolves it against the supergraph's subgraphs. */
    identitySubgraph: values.IDENTITY_SUBGRAPH,
    metrics: metricsConfig(values, values.GATEWAY_METRICS_PORT, { name: 'GATEWAY_PORT', port: values.GATEWAY_PORT }, context),
    /**
     * Who runs the query plans: Tessera's executor (gateway/executor/), or @apollo/gateway's own,
     * kept for comparison (the benchmark, the differential test).
     */
    executor: values.GATEWAY_EXECUTOR,
    /** Keep-alive connections Tessera's executor opens at most to each subgraph. */
    subgraphConnections: values.SUBGRAPH_CONNECTIONS,
    /** Plans Tessera's executor runs at once (gateway/executor/execution-slots.ts). */
    executionConcurrency: values.GATEWAY_EXECUTION_CONCURRENCY,
    /** Subscriptions (gateway/subscriptions/): the limits on who holds how many, and how long an idle one stays. */
    subscriptions: {
      /** Events waiting for one subscriber before it ends with SLOW_CONSUMER. */
      queueMax: values.SUBSCRIPTION_QUEUE_MAX,
      perConnection: values.SUBSCRIPTIONS_PER_CONNECTION,
      perUser: values.SUBSCRIPTIONS_PER_USER,
      connectionsPerIp: values.SUBSCRIPTION_CONNECTIONS_PER_IP,
      /** A connection with no subscription for this long is closed. */
      idleTimeoutMs: values.SUBSCRIPTION_IDLE_TIMEOUT_MS,
      /** Pings on every transport (and on the gateway's connections to subgraphs). */
      keepAliveMs: values.SUBSCRIPTION_KEEPALIVE_MS,
    },
    /** Live reload of the supergraph (see gateway/supergraph/reload.ts). */
    supergraphReload: {
      /**
       * Re-read the file, or re-compose from the subgraphs, this often; 0: never. A file is
       * watched, so polling it is only a fallback (for changes a watch misses); re-composing from
       * running subgraphs is a development convenience.
       */
      pollIntervalMs:
        values.SUPERGRAPH_POLL_INTERVAL_MS ??
        (values.SUPERGRAPH_PATH || base.env === 'production' ? 30_000 : base.env === 'development' ? 10_000 : 0),
      /** Watch `supergraphPath`'s folder and reload as soon as it changes. */
      watch: values.SUPERGRAPH_WATCH,
    },
  };
});

/** The gateway's configuration from its environment alone (what the supergraph says is added by `routeSubgraphs`). */
export type GatewayConfig = z.output<typeof gatewaySchema>;
export type ProtectionConfig = GatewayConfig['protection'];
export type TrustedDocumentsConfig = GatewayConfig['trustedDocuments'];

export function loadGatewayConfig(env: Env): GatewayConfig {
  return parseConfig(gatewaySchema, env);
}

/** Where a subgraph is, for the gateway and tooling, read as `<NAME>_URL` and `<NAME>_PORT`. */
export const subgraphRoutingVariables = {
  URL: httpUrl.optional(),
  PORT: port.optional(),
};
const subgraphRoutingSchema = z.object({ [PER_SUBGRAPH]: z.object(subgraphRoutingVariables) });

interface SubgraphRoutes {
  /** Each subgraph at `<NAME>_URL`, else on `<NAME>_PORT` of this host, else at the URL it came with: what is composed from. */
  subgraphs: { name: string; url: string }[];
  /** `<NAME>_URL`s explicitly set, by subgraph name: they win over the routing URL a served supergraph records for that name. */
  subgraphUrlOverrides: Record<string, string>;
}

/**
 * Where each of these subgraphs is (`known` carries the URL each has without a variable: a
 * supergraph's `@join__graph(url:)`, or the registry's default port). Only the variables of
 * these names are read, so no other `…_URL` or `…_PORT` in the environment is taken for one.
 */
export function subgraphRoutes(env: Env, known: { name: string; url: string }[]): SubgraphRoutes {
  const problems: string[] = [];
  const routes = known.flatMap(({ name, url }) => {
    try {
      const own = parseConfig(subgraphRoutingSchema, { [PER_SUBGRAPH]: ownVariables(env, name, subgraphRoutingVariables) }, name)[
        PER_SUBGRAPH
      ];
      return [{ name, url: own.URL ?? (own.PORT !== undefined ? `http://127.0.0.1:${own.PORT}/graphql` : url), override: own.URL }];
    } catch (error) {
      problems.push(...(error as ConfigError).problems);
      return [];
    }
  });
  if (problems.length) throw new ConfigError(problems);
  return {
    subgraphs: routes.map(({ name, url }) => ({ name, url })),
    subgraphUrlOverrides: Object.fromEntries(routes.flatMap(({ name, override }) => (override ? [[name, override]] : []))),
  };
}

/** The gateway's configuration once the supergraph has said which subgraphs there are. */
export type RoutedGatewayConfig = Omit<GatewayConfig, 'identitySubgraph'> &
  SubgraphRoutes & {
    /**
     * The subgraph asked, before each signed-in caller's mutation, whether the caller still
     * exists and is enabled (`me`, `user(id)`); undefined: not asked (tokens from an OIDC
     * provider whose users accounts does not hold).
     */
    identitySubgraph: string | undefined;
  };

/**
 * A subgraph as the supergraph records it: its routing URL (`@join__graph(url:)`), and whether
 * it resolves `Query.me` and `Query.user`, what the caller check asks (the identity subgraph).
 */
export interface JoinedSubgraph {
  name: string;
  url: string;
  answersCallerCheck?: boolean;
}

/**
 * Adds what the supergraph says to the gateway's configuration: the subgraphs it joins (with
 * their `@join__graph(url:)`), routed as `subgraphRoutes` says, and the identity subgraph
 * (`IDENTITY_SUBGRAPH`, else the one subgraph that answers the caller check), which must be one of them.
 */
export function routeSubgraphs(config: GatewayConfig, env: Env, joined: JoinedSubgraph[]): RoutedGatewayConfig {
  const names = joined.map((subgraph) => subgraph.name);
  const requested = config.identitySubgraph;
  if (requested && requested !== 'off' && !names.includes(requested)) {
    throw new ConfigError([`IDENTITY_SUBGRAPH: expected off or one of ${names.join(', ')}`]);
  }
  const answering = joined.filter((subgraph) => subgraph.answersCallerCheck).map((subgraph) => subgraph.name);
  const identitySubgraph = requested ? (requested === 'off' ? undefined : requested) : answering.length === 1 ? answering[0] : undefined;
  return { ...config, ...subgraphRoutes(env, joined), identitySubgraph };
}
