import { loadSubgraphConfig } from '../shared/config.js';
import { createLogger } from '../shared/logger.js';
import { withSecrets } from '../shared/secrets.js';
import { startSubgraph } from '../shared/subgraph.js';
import { startTracing } from '../shared/tracing.js';
import { findSubgraph } from '../subgraphs/index.js';

/** One subgraph's process: `npm run start:subgraph -- <name>`. */
async function main(name: string | undefined): Promise<void> {
  const definition = findSubgraph(name);
  const parsed = loadSubgraphConfig(definition.name, definition.port, process.env);
  const logger = createLogger(definition.name, parsed);
  const stopTracing = startTracing(parsed, `tessera-${definition.name}`, logger);
  const config = await withSecrets(parsed, logger);
  if (config.allowUnsignedRequests) logger.warn('ALLOW_UNSIGNED_REQUESTS is on: requests without a gateway signature are served as anonymous');
  const store = config.store.kind === 'pglite' ? `PGlite at ${config.store.dataDir}` : `PostgreSQL database ${config.store.dbName}`;
  logger.info({ store }, 'opening store');
  const running = await startSubgraph(definition, config, logger);
  logger.info({ url: running.url }, 'subgraph listening');

  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    await running.stop();
    await stopTracing();
    process.exit(0);
  };
  process.once('SIGTERM', (signal) => void shutdown(signal));
  process.once('SIGINT', (signal) => void shutdown(signal));
}

main(process.argv[2]).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
