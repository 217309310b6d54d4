import { join } from 'node:path';
import { loadGatewayConfig, loadLogConfig, routeSubgraphs } from '../shared/config/config.js';
import { repoRoot } from '../shared/config/paths.js';
import { reportStartupFailure, type FailurePointers } from '../shared/errors/fatal.js';
import { listen } from '../shared/http/http.js';
import { createLifecycle } from '../shared/lifecycle/lifecycle.js';
import { createLogger } from '../shared/observability/logger.js';
import { listenMetrics } from '../shared/observability/metrics.js';
import { withSecrets } from '../shared/config/secrets.js';
import { startTracing } from '../shared/observability/tracing.js';
import { createGateway, waitForSubgraphs } from '../gateway/gateway.js';
import { subgraphsJoinedBy } from '../gateway/supergraph/supergraph.js';

// Made before the configuration is read, so that a configuration that does not load is reported through it too.
const logger = createLogger('gateway', loadLogConfig(process.env));
/** Which variable set what the gateway opens, to name the one to change when opening it fails. */
const pointers: FailurePointers = {};
/**
 * SIGHUP: load the supergraph again now, not at the next poll (`npm run dev` sends it after
 * restarting a subgraph). Handled from the start: its default action would end a gateway
 * still waiting for its subgraphs, which composes once they answer anyway.
 */
let reload = () => {};
process.on('SIGHUP', () => reload());

/** The gateway process: the only place that reads its environment and opens its port. */
async function main(): Promise<void> {
  const parsed = loadGatewayConfig(process.env);
  // Which subgraphs there are is the supergraph's to say: the served one, or (composing) the committed one.
  const { supergraphPath } = parsed;
  const joined = await subgraphsJoinedBy(supergraphPath ?? join(repoRoot, 'supergraph.graphql'), { served: !!supergraphPath });
  const routed = routeSubgraphs(parsed, process.env, joined);
  pointers.ports = {
    [parsed.port]: 'GATEWAY_PORT',
    ...(parsed.metrics.port !== undefined && {
      [parsed.metrics.port]: process.env.GATEWAY_METRICS_PORT ? 'GATEWAY_METRICS_PORT' : 'METRICS_PORT',
    }),
  };
  const stopTracing = await startTracing(parsed, 'tessera-gateway', logger);
  const config = await withSecrets(routed, logger);
  const lifecycle = createLifecycle({ logger, ...config.shutdown });
  if (!config.supergraphPath) await waitForSubgraphs(config, logger);
  const gateway = await createGateway({ config, logger });
  reload = () => void gateway.supergraph.reload();
  // After the server has closed: Apollo (and the supergraph's watch), then Redis.
  lifecycle.onShutdown('gateway', gateway.stop);
  const { server, url } = await listen(lifecycle.guard(gateway.app), config.host, config.port);
  server.on('upgrade', gateway.upgrade);
  // Subscriptions end (with SHUTTING_DOWN) as soon as the drain begins: they would hold it to its grace.
  lifecycle.onDrain('subscriptions', gateway.endSubscriptions);
  lifecycle.serving(server);
  logger.info({ url: `${url}/graphql` }, 'gateway listening');
  const metrics = await listenMetrics(gateway.registry, config.metrics);
  if (metrics) {
    logger.info({ url: metrics.url }, 'metrics listening');
    lifecycle.onShutdown('metrics', metrics.stop);
  }
  // Last, so spans of the drain itself are sent too.
  lifecycle.onShutdown('tracing', stopTracing);
}

main().catch((error: unknown) => process.exit(reportStartupFailure(logger, error, pointers)));
