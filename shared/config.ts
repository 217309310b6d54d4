import { z } from 'zod';

/**
 * Configuration is read from the environment once, in each process's entry point, validated
 * here, and passed down as plain objects. Nothing else in the code base reads `process.env`.
 */
export type Env = Record<string, string | undefined>;

export type RuntimeEnvironment = 'development' | 'production' | 'test';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Where a subgraph keeps its data: a PGlite folder (embedded) or a PostgreSQL database. */
export type StoreConfig =
  | { kind: 'pglite'; dataDir: string }
  | { kind: 'postgresql'; clientUrl: string; dbName: string };

export interface CommonConfig {
  env: RuntimeEnvironment;
  logLevel: LogLevel;
  host: string;
}

export interface SubgraphConfig extends CommonConfig {
  name: string;
  port: number;
  store: StoreConfig;
  migrateOnStart: boolean;
  seedOnStart: boolean;
}

export interface GatewayConfig extends CommonConfig {
  port: number;
  /** Set: serve this supergraph file. Unset: compose from `subgraphs` at start. */
  supergraphPath: string | undefined;
  subgraphs: { name: string; url: string }[];
  /** How long start-up waits for subgraphs to answer before composing. */
  subgraphWaitMs: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
  .transform((value) => value === 'true' || value === '1' || value === 'yes');
const port = z.coerce.number().int().min(0).max(65535);
const postgresUrl = z
  .string()
  .refine((value) => /^postgres(ql)?:\/\/.+/.test(value), 'expected a postgres:// or postgresql:// URL');

const commonSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  HOST: z.string().min(1).default('127.0.0.1'),
});

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

function common(values: z.infer<typeof commonSchema>): CommonConfig {
  return {
    env: values.NODE_ENV,
    // Tests stay quiet unless asked; everything else logs at info.
    logLevel: values.LOG_LEVEL ?? (values.NODE_ENV === 'test' ? 'silent' : 'info'),
    host: values.HOST,
  };
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

export function loadSubgraphConfig(name: string, defaultPort: number, env: Env): SubgraphConfig {
  const prefix = envPrefix(name);
  const schema = commonSchema.extend({
    DATA_DIR: z.string().min(1).default('data'),
    DATABASE_URL: postgresUrl.optional(),
    [`${prefix}_DATABASE_URL`]: postgresUrl.optional(),
    [`${prefix}_PORT`]: port.default(defaultPort),
    MIGRATE_ON_START: flag.default(true),
    SEED_ON_START: flag.default(true),
  });
  const values = parse(schema, env) as z.infer<typeof commonSchema> & Record<string, unknown>;
  return {
    ...common(values),
    name,
    port: values[`${prefix}_PORT`] as number,
    store: storeFor(
      name,
      values[`${prefix}_DATABASE_URL`] as string | undefined,
      values.DATABASE_URL as string | undefined,
      values.DATA_DIR as string,
    ),
    migrateOnStart: values.MIGRATE_ON_START as boolean,
    seedOnStart: values.SEED_ON_START as boolean,
  };
}

export function loadGatewayConfig(subgraphs: { name: string; port: number }[], env: Env): GatewayConfig {
  const perSubgraph: Record<string, z.ZodType> = {};
  for (const subgraph of subgraphs) {
    const prefix = envPrefix(subgraph.name);
    perSubgraph[`${prefix}_URL`] = z.url({ message: 'expected an http(s) URL' }).optional();
    perSubgraph[`${prefix}_PORT`] = port.default(subgraph.port);
  }
  const schema = commonSchema.extend({
    GATEWAY_PORT: port.default(4000),
    SUPERGRAPH_PATH: z.string().min(1).optional(),
    SUBGRAPH_WAIT_MS: z.coerce.number().int().min(0).default(30_000),
    ...perSubgraph,
  });
  const values = parse(schema, env) as z.infer<typeof schema> & Record<string, unknown>;
  const base = common(values);
  return {
    ...base,
    port: values.GATEWAY_PORT,
    // Production serves a supergraph composed ahead of time (`npm run compose`), never one
    // composed from whatever answers at start.
    supergraphPath: values.SUPERGRAPH_PATH ?? (base.env === 'production' ? 'supergraph.graphql' : undefined),
    subgraphWaitMs: values.SUBGRAPH_WAIT_MS,
    subgraphs: subgraphs.map(({ name }) => {
      const prefix = envPrefix(name);
      const url = values[`${prefix}_URL`] as string | undefined;
      return { name, url: url ?? `http://127.0.0.1:${values[`${prefix}_PORT`] as number}/graphql` };
    }),
  };
}
