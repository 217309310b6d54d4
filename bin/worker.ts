import { loadLogConfig } from '../shared/config/config.js';
import { loadSubgraphConfig } from '../shared/config/subgraph-config.js';
import { reportStartupFailure } from '../shared/errors/fatal.js';
import { runWorkers } from '../shared/jobs/worker-process.js';
import { signalExitCode } from '../shared/lifecycle/lifecycle.js';
import { createLogger } from '../shared/observability/logger.js';
import { findSubgraph } from '../subgraphs/index.js';

const name = process.argv[2];
const logger = createLogger(`${name ?? 'subgraph'}-worker`, loadLogConfig(process.env));

/** One subgraph's workers alone: `npm run worker -- <name>`. SIGTERM/SIGINT: no more jobs, running ones finish within SHUTDOWN_GRACE_MS; a second signal exits at once. */
async function main(): Promise<void> {
  const definition = findSubgraph(name);
  const config = loadSubgraphConfig(definition.name, definition.port, process.env, definition);
  const workers = await runWorkers({ definition, config, logger });
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(signalExitCode(signal));
    stopping = true;
    logger.info({ signal, graceMs: config.shutdown.graceMs }, 'shutting down: finishing running jobs');
    workers.stop(config.shutdown.graceMs).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

main().catch((error: unknown) => process.exit(reportStartupFailure(logger, error, {})));
