import { loadSubgraphConfig } from '../shared/config.js';
import { createLifecycle } from '../shared/lifecycle.js';
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
  const lifecycle = createLifecycle({ logger, ...config.shutdown });
  if (config.allowUnsignedRequests) logger.warn('ALLOW_UNSIGNED_REQUESTS is on: requests without a gateway signature are served as anonymous');
  const store = config.store.kind === 'pglite' ? `PGlite at ${config.store.dataDir}` : `PostgreSQL database ${config.store.dbName}`;
  logger.info({ store }, 'opening store');
  const running = await startSubgraph(definition, config, logger, { lifecycle });
  // The server is closed by then; this stops Apollo and closes the store's pool.
  lifecycle.onShutdown('subgraph', running.stop);
  lifecycle.serving(running.server);
  logger.info({ url: running.url }, 'subgraph listening');
  lifecycle.onShutdown('tracing', stopTracing);
}

main(process.argv[2]).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
