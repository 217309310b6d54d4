import { envPrefix, loadLogConfig } from '../shared/config/config.js';
import { loadSubgraphConfig } from '../shared/config/subgraph-config.js';
import { reportStartupFailure, type FailurePointers } from '../shared/errors/fatal.js';
import { createLifecycle } from '../shared/lifecycle/lifecycle.js';
import { createLogger } from '../shared/observability/logger.js';
import { withSecrets } from '../shared/config/secrets.js';
import { startSubgraph } from '../shared/subgraph/boot.js';
import { startTracing } from '../shared/observability/tracing.js';
import { findSubgraph } from '../subgraphs/index.js';

const name = process.argv[2];
// Made before the configuration is read, so that a configuration that does not load is reported through it too.
const logger = createLogger(name ?? 'subgraph', loadLogConfig(process.env));
/** Which variable set what the subgraph opens, to name the one to change when opening it fails. */
const pointers: FailurePointers = {};

/** One subgraph's process: `npm run start:subgraph -- <name>`. */
async function main(): Promise<void> {
  const definition = findSubgraph(name);
  const parsed = loadSubgraphConfig(definition.name, definition.port, process.env, definition);
  const prefix = envPrefix(definition.name);
  pointers.store = process.env[`${prefix}_DATABASE_URL`]
    ? `${prefix}_DATABASE_URL`
    : parsed.store.kind === 'postgresql'
      ? 'DATABASE_URL'
      : 'DATA_DIR';
  pointers.ports = {
    [parsed.port]: `${prefix}_PORT`,
    ...(parsed.metrics.port !== undefined && {
      [parsed.metrics.port]: process.env[`${prefix}_METRICS_PORT`] ? `${prefix}_METRICS_PORT` : 'METRICS_PORT',
    }),
  };
  const stopTracing = await startTracing(parsed, `tessera-${definition.name}`, logger);
  const config = await withSecrets(parsed, logger);
  const lifecycle = createLifecycle({ logger, ...config.shutdown });
  if (config.allowUnsignedRequests)
    logger.warn('ALLOW_UNSIGNED_REQUESTS is on: requests without a gateway signature are served as anonymous');
  if (config.trust === 'bearer') {
    logger.info(
      { issuer: config.jwt.issuer, audience: config.jwt.audience, algorithms: config.jwt.algorithms },
      'SUBGRAPH_TRUST=bearer: unsigned requests are served as the caller their bearer token proves, or as anonymous without one',
    );
  }
  const store = config.store.kind === 'pglite' ? `PGlite at ${config.store.dataDir}` : `PostgreSQL database ${config.store.dbName}`;
  logger.info({ store }, 'opening store');
  const running = await startSubgraph({ definition, config, logger, lifecycle });
  // The server is closed by then; this stops Apollo and closes the store's pool.
  lifecycle.onShutdown('subgraph', running.stop);
  lifecycle.serving(running.server);
  logger.info({ url: running.url }, 'subgraph listening');
  lifecycle.onShutdown('tracing', stopTracing);
}

main().catch((error: unknown) => process.exit(reportStartupFailure(logger, error, pointers)));
