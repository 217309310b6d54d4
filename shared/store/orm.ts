import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  DefaultLogger,
  type LogContext,
  type MigrationObject,
  type LoggerNamespace,
  type LoggerOptions,
  type Options,
} from '@mikro-orm/core';
import { ReflectMetadataProvider } from '@mikro-orm/decorators/legacy';
import { Migration, Migrator } from '@mikro-orm/migrations';
import type { EntityManager, MikroORM } from '@mikro-orm/sql';
import { ConfigError } from '../config/config.js';
import type { StoreConfig } from '../config/subgraph-config.js';
import type { Logger } from '../observability/logger.js';
import { releaseDroppedConnections } from './store-pool.js';
import { postgresDriverOptions } from './postgres-url.js';
import { BaseEntity } from './base.entity.js';
import { buildRoot } from '../config/paths.js';
import { graphqlRequestId, recordSqlStatement } from '../subgraph/metrics.js';
import { recordSqlSpan, truncateStatement } from '../observability/tracing.js';

export type Orm = MikroORM;
export type { EntityManager };

interface StoreOptions {
  name: string;
  store: StoreConfig;
  entities: Function[];
  logger: Logger;
  /** PostgreSQL connection pool size. */
  poolMax?: number;
  /** A request's statements slower than this are logged at warn; unset: never. */
  slowSqlMs?: number;
}

/** What the ORM logger needs besides pino; `database` names the store in SQL spans. */
interface QueryReporting {
  database: string;
  slowSqlMs: number | undefined;
}

/**
 * Bridges MikroORM's logger to pino (SQL at debug, slow SQL at warn) and records a span per
 * statement. The request id comes from the request's scope (shared/http/request-scope.ts),
 * which raw statements (`em.execute`) and DataLoader batches reach as well.
 */
class PinoOrmLogger extends DefaultLogger {
  constructor(
    options: LoggerOptions,
    private readonly pinoLogger: Logger,
    private readonly reporting: QueryReporting,
  ) {
    super(options);
  }

  override log(namespace: LoggerNamespace | string, message: string, context?: LogContext): void {
    const level = context?.level === 'error' ? 'error' : context?.level === 'warning' ? 'warn' : 'debug';
    this.pinoLogger[level]({ orm: namespace }, message);
  }

  override logQuery(context: { query: string; formatted?: string } & LogContext): void {
    // `query` keeps its `?` placeholders (see `debug` below); `formatted` has the values inlined.
    const inlined = context.formatted ?? context.query;
    const took = context.took ?? 0;
    recordSqlStatement(took);
    recordSqlSpan({ sql: context.query, tookMs: took, database: this.reporting.database, failed: context.level === 'error' });
    const requestId = graphqlRequestId();
    // Only a request's statements: migrations and seeding are slow by nature, and PGlite's first
    // statement includes starting the database.
    if (requestId && this.reporting.slowSqlMs !== undefined && took >= this.reporting.slowSqlMs) {
      // Warnings reach production logs: the statement without its values, which may be secrets.
      this.pinoLogger.warn({ orm: 'query', requestId, took, sql: truncateStatement(context.query) }, 'slow sql');
    } else if (this.pinoLogger.isLevelEnabled('debug')) {
      this.pinoLogger.debug({ orm: 'query', ...(requestId && { requestId }), took, sql: inlined }, 'sql');
    }
  }
}

/** Folder of a subgraph's migrations: compiled `.js` under dist/, `.ts` sources in tests. */
function migrationsDir(name: string): string {
  return join(buildRoot, 'migrations', name);
}

/**
 * Loads a subgraph's migration classes explicitly rather than letting MikroORM discover
 * files, so the same list works compiled, under Jest's module loader, and in a bundle.
 */
export async function loadMigrations(name: string): Promise<MigrationObject[]> {
  const dir = migrationsDir(name);
  let files: string[];
  try {
    files = await readdir(dir);
  } catch {
    return [];
  }
  const sources = files.filter((file) => /^Migration.*\.(ts|js)$/.test(file) && !file.endsWith('.d.ts')).sort();
  const list: MigrationObject[] = [];
  for (const file of sources) {
    const module = (await import(pathToFileURL(join(dir, file)).href)) as Record<string, unknown>;
    const migration = Object.values(module).find(
      (value): value is MigrationObject['class'] => typeof value === 'function' && value.prototype instanceof Migration,
    );
    if (!migration) throw new Error(`${join(dir, file)} exports no Migration class.`);
    list.push({ name: basename(file).replace(/\.(ts|js)$/, ''), class: migration });
  }
  return list;
}

/**
 * How long a request waits for a PostgreSQL connection (a new one, or a free one from a full
 * pool) before it fails with STORE_UNAVAILABLE. Without it, a server that vanished from the
 * network holds each request until the operating system gives up on TCP, minutes later;
 * this is well inside the gateway's subgraph timeout, so the client hears why.
 */
const STORE_CONNECT_TIMEOUT_MS = 5_000;

/**
 * PGlite, the development store, is a devDependency: loaded only when a store is PGlite, so a
 * production install (`npm ci --omit=dev`, the Docker image) runs on PostgreSQL without it.
 */
async function loadPglite(): Promise<typeof import('./pglite.js')> {
  try {
    return await import('./pglite.js');
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new ConfigError([
      'DATABASE_URL: unset, so the store is PGlite, which this install leaves out (a development dependency); set DATABASE_URL (or <NAME>_DATABASE_URL) to a PostgreSQL server, or install the development dependencies',
    ]);
  }
}

/** Opens a subgraph's store (PGlite folder or PostgreSQL database, created if missing). */
export async function openStore(options: StoreOptions): Promise<Orm> {
  const migrationsList = await loadMigrations(options.name);
  const base: Partial<Options> = {
    entities: [BaseEntity, ...options.entities],
    metadataProvider: ReflectMetadataProvider,
    extensions: [Migrator],
    // Per-request work must use a fork; the global manager refuses.
    allowGlobalContext: false,
    // Every namespace but `query-params`: logged queries keep their placeholders, and the
    // values arrive apart (`formatted`), so spans and warnings never carry them.
    debug: ['query', 'schema', 'discovery', 'info'],
    loggerFactory: (loggerOptions) =>
      new PinoOrmLogger(loggerOptions, options.logger, {
        database: options.store.kind === 'postgresql' ? options.store.dbName : options.name,
        slowSqlMs: options.slowSqlMs,
      }),
    migrations: {
      migrationsList,
      path: migrationsDir(options.name),
      // Diff against the database itself, not a snapshot file beside the migrations.
      snapshot: false,
      silent: true,
      transactional: true,
      allOrNothing: true,
    },
  };
  // Each driver is loaded only where it is used: a PGlite process carries no PostgreSQL client,
  // a PostgreSQL one no PostgreSQL-in-WASM (shared/store/pglite.ts).
  if (options.store.kind === 'pglite') {
    const { openPgliteStore } = await loadPglite();
    return openPgliteStore(options.store.dataDir, base, options.logger);
  }
  const { MikroORM: PostgresMikroORM } = await import('@mikro-orm/postgresql');
  return (await PostgresMikroORM.init({
    ...base,
    clientUrl: options.store.clientUrl,
    dbName: options.store.dbName,
    // Create the database when missing, but leave its schema to the migrations.
    ensureDatabase: { create: false },
    pool: { max: options.poolMax ?? 10 },
    // Merged into pg's Pool options, with the URL's query (TLS, application_name…), which
    // MikroORM's own reading of the URL leaves out. A connection the server drops (a restart)
    // is discarded by the pool and its error logged (MikroORM listens on the pool); new ones
    // are made on demand.
    driverOptions: {
      connectionTimeoutMillis: STORE_CONNECT_TIMEOUT_MS,
      ...postgresDriverOptions(options.store.clientUrl),
      onPoolCreated: releaseDroppedConnections,
    },
  })) as unknown as Orm;
}

/** Applies pending migrations; returns the names applied. */
export async function migrateUp(orm: Orm): Promise<string[]> {
  const applied = await orm.migrator.up();
  return applied.map((migration) => migration.name);
}
