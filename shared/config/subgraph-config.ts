import { z } from 'zod';
import { postgresDriverOptions } from '../store/postgres-url.js';
import {
  checkProductionSecrets,
  commonConfig,
  commonVariables,
  envPrefix,
  flag,
  metricsConfig,
  ownVariables,
  parseConfig,
  PER_SUBGRAPH,
  port,
  type Env,
} from './config.js';

/**
 * A subgraph process's configuration: its own schema, apart from the gateway's, because
 * checking a PostgreSQL URL needs the store's driver options, which the gateway never loads.
 */

/** Where a subgraph keeps its data: a PGlite folder (embedded) or a PostgreSQL database. */
export type StoreConfig = { kind: 'pglite'; dataDir: string } | { kind: 'postgresql'; clientUrl: string; dbName: string };

const postgresUrl = z.string().superRefine((value, context) => {
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

/** The variables each subgraph has of its own, read as `<NAME>_PORT`, `<NAME>_DATABASE_URL`, `<NAME>_METRICS_PORT`. */
const ownSubgraphVariables = {
  PORT: port.optional(),
  DATABASE_URL: postgresUrl.optional(),
  METRICS_PORT: port.optional(),
};

export const subgraphVariables = {
  ...commonVariables,
  DATABASE_URL: postgresUrl.optional(),
  MIGRATE_ON_START: flag.default(true),
  SEED_ON_START: flag.default(true),
  ALLOW_UNSIGNED_REQUESTS: flag.default(false),
  SUBGRAPH_TRUST: z.enum(['signature', 'bearer']).default('signature'),
  SLOW_SQL_MS: z.coerce.number().int().min(0).default(200),
  JOBS_WORKERS: flag.default(true),
  JOBS_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(4),
  JOBS_RELAY_INTERVAL_MS: z.coerce.number().int().min(0).default(1000),
  STOCK_LOW_THRESHOLD: z.coerce.number().int().min(1).max(1_000_000).default(5),
  STOCK_WEBHOOK_URL: z.url({ protocol: /^https?$/, message: 'expected an http(s) URL' }).optional(),
  STOCK_WEBHOOK_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).default(90),
  [PER_SUBGRAPH]: z.object(ownSubgraphVariables),
};

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

/**
 * The schema of one subgraph's configuration: the variables are every subgraph's, the defaults its own.
 * `issuesTokens`: the subgraph signs access tokens itself (its definition says so), so it needs the HS256 secret.
 */
function subgraphSchema(name: string, defaultPort: number, issuesTokens: boolean) {
  return z.object(subgraphVariables).transform((values, context) => {
    const own = values[PER_SUBGRAPH];
    const port = own.PORT ?? defaultPort;
    // A subgraph issuing tokens needs the HS256 secret itself; in bearer mode every subgraph verifies them.
    checkProductionSecrets(
      values,
      { jwt: issuesTokens ? 'secret' : values.SUBGRAPH_TRUST === 'bearer' ? 'secret-or-jwks' : 'none' },
      context,
    );
    if (values.STOCK_WEBHOOK_URL && !values.STOCK_WEBHOOK_SECRET) {
      context.addIssue({
        code: 'custom',
        path: ['STOCK_WEBHOOK_SECRET'],
        message: 'required with STOCK_WEBHOOK_URL: deliveries are signed with it',
      });
    }
    if (values.ALLOW_UNSIGNED_REQUESTS && values.NODE_ENV !== 'development') {
      context.addIssue({ code: 'custom', path: ['ALLOW_UNSIGNED_REQUESTS'], message: 'only allowed with NODE_ENV=development' });
    }
    return {
      ...commonConfig(values),
      name,
      port,
      store: storeFor(name, own.DATABASE_URL, values.DATABASE_URL, values.DATA_DIR),
      migrateOnStart: values.MIGRATE_ON_START,
      seedOnStart: values.SEED_ON_START,
      /** Development only: accept requests without a gateway signature (as anonymous or as signed). */
      allowUnsignedRequests: values.ALLOW_UNSIGNED_REQUESTS,
      /**
       * Who the subgraph believes about the caller: `signature`, only Tessera's gateway (its signed
       * identity); `bearer`, also the client's own access token forwarded by another router.
       */
      trust: values.SUBGRAPH_TRUST,
      metrics: metricsConfig(values, own.METRICS_PORT, { name: `${envPrefix(name)}_PORT`, port }, context),
      /** SQL statements slower than this are logged at warn. */
      slowSqlMs: values.SLOW_SQL_MS,
      /** Request bodies nesting arrays and objects deeper than this are refused (as at the gateway). */
      maxJsonDepth: values.MAX_JSON_DEPTH,
      /** Background jobs (shared/jobs/): workers in this process, how many jobs each runs at once, the relay's poll. */
      jobs: { workers: values.JOBS_WORKERS, concurrency: values.JOBS_CONCURRENCY, relayIntervalMs: values.JOBS_RELAY_INTERVAL_MS },
      /** Inventory: a product whose stock an adjustment takes under this is `StockLow`, delivered to the webhook when set. */
      stockLow: {
        threshold: values.STOCK_LOW_THRESHOLD,
        webhook: values.STOCK_WEBHOOK_URL ? { url: values.STOCK_WEBHOOK_URL, secret: values.STOCK_WEBHOOK_SECRET! } : undefined,
      },
      /** Audit records older than this many days are purged, daily, by each store that keeps them. */
      auditRetentionDays: values.AUDIT_RETENTION_DAYS,
    };
  });
}

export type SubgraphConfig = z.output<ReturnType<typeof subgraphSchema>>;

export function loadSubgraphConfig(
  name: string,
  defaultPort: number,
  env: Env,
  { issuesTokens = false }: { issuesTokens?: boolean } = {},
): SubgraphConfig {
  return parseConfig(
    subgraphSchema(name, defaultPort, issuesTokens),
    { ...env, [PER_SUBGRAPH]: ownVariables(env, name, ownSubgraphVariables) },
    name,
  );
}
