import { get } from 'node:http';
import { fileURLToPath } from 'node:url';
import { loadGatewayConfig, loadLogConfig } from '../shared/config/config.js';
import { reportStartupFailure } from '../shared/errors/fatal.js';
import { createLogger } from '../shared/observability/logger.js';
import { planStack, stackEnvironment } from '../tooling/stack.js';
import { createSupervisor, type Supervisor } from '../tooling/supervisor.js';

/**
 * `npm start`: every subgraph and the gateway, each in its own process (as they run in
 * production), on the configured stores. Prints the gateway's URL once it is ready. In
 * development a process that dies is restarted with backoff (tooling/supervisor.ts); elsewhere,
 * or when a process could not start at all, everything stops. Ctrl-C reaches only this
 * process, which passes SIGTERM on: to the gateway first (its requests in flight may still need
 * the subgraphs), then to the subgraphs; each drains. A second Ctrl-C passes a second one to
 * each, and they exit at once.
 */
const logger = createLogger('start', loadLogConfig(process.env));
let stopping = false;

const script = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * One `/ready` probe on a connection of its own, closed after the answer. A kept-alive one (as
 * `fetch` keeps them) would stay idle in the gateway, whose drain waits for idle connections
 * rather than cut them under a client: every Ctrl-C would then take the whole grace period.
 */
function probeReady(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const request = get(url, { agent: false, timeout: 2000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

/** Polls the gateway's `/ready` until it answers 200: the gateway itself decides when to give up (and exits). */
async function untilReady(url: string): Promise<boolean> {
  while (!stopping) {
    const ok = await probeReady(url);
    if (ok) return true;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return false;
}

async function main(): Promise<void> {
  Object.assign(process.env, stackEnvironment(process.env));
  const subgraphs = await planStack(process.env);
  const config = loadGatewayConfig(process.env);
  const supervisor: Supervisor = createSupervisor({
    children: [
      ...subgraphs.map((subgraph) => ({ name: subgraph.name, script: script('./subgraph.js'), args: [subgraph.name] })),
      { name: 'gateway', script: script('./gateway.js') },
    ],
    logger,
    // Production processes are restarted by what runs them (compose, Kubernetes), which must see them die.
    restart: config.env === 'development',
    // The gateway drains, then the subgraphs.
    drainWaitMs: 2 * (config.shutdown.delayMs + config.shutdown.graceMs) + 15_000,
    exit: (code) => process.exit(code),
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      stopping = true;
      supervisor.stop(0);
    });
  }
  supervisor.start();
  const base = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${config.port}`;
  if (await untilReady(`${base}/ready`)) {
    console.log(`\n  Tessera is up: ${subgraphs.length} subgraphs behind the gateway at ${base}/graphql\n`);
  }
}

main().catch((error: unknown) => process.exit(reportStartupFailure(logger, error)));
