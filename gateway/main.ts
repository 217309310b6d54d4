import { loadGatewayConfig } from '../shared/config.js';
import { closeServer, listen } from '../shared/http.js';
import { createLogger } from '../shared/logger.js';
import { listenMetrics } from '../shared/metrics.js';
import { withSecrets } from '../shared/secrets.js';
import { startTracing } from '../shared/tracing.js';
import { subgraphs } from '../subgraphs/index.js';
import { createGateway, waitForSubgraphs } from './index.js';

/** The gateway process: the only place that reads its environment and opens its port. */
async function main(): Promise<void> {
  const parsed = loadGatewayConfig(subgraphs, process.env);
  const logger = createLogger('gateway', parsed);
  const stopTracing = startTracing(parsed, 'tessera-gateway', logger);
  const config = await withSecrets(parsed, logger);
  if (!config.supergraphPath) await waitForSubgraphs(config, logger);
  const gateway = await createGateway({ config, logger });
  const { server, url } = await listen(gateway.app, config.host, config.port);
  logger.info({ url: `${url}/graphql` }, 'gateway listening');
  const metrics = await listenMetrics(gateway.registry, config.metrics);
  if (metrics) logger.info({ url: metrics.url }, 'metrics listening');

  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    await closeServer(server);
    await metrics?.stop();
    await gateway.stop();
    await stopTracing();
    process.exit(0);
  };
  process.once('SIGTERM', (signal) => void shutdown(signal));
  process.once('SIGINT', (signal) => void shutdown(signal));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
