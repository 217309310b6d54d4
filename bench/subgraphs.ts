import { randomBytes } from 'node:crypto';
import { loadSubgraphConfig, type SubgraphConfig } from '../shared/config.js';
import { createLogger } from '../shared/logger.js';
import { startSubgraph, type RunningSubgraph } from '../shared/subgraph.js';
import { subgraphs } from '../subgraphs/index.js';

/** A bench run's secrets and environment: fresh secrets, test mode, quiet. */
export function benchEnv(): NodeJS.ProcessEnv {
  const secrets = { SUBGRAPH_SIGNING_SECRET: randomBytes(32).toString('hex'), JWT_SECRET: randomBytes(32).toString('hex') };
  return { ...process.env, ...secrets, NODE_ENV: 'test', LOG_LEVEL: 'silent' };
}

/**
 * Every subgraph in this process on a free port, seeded: in-memory PGlite, or the databases
 * `DATABASE_URL` names. Returns them with the `<NAME>_URL` variables a gateway routes by.
 */
export async function startBenchSubgraphs(env: NodeJS.ProcessEnv): Promise<{ running: RunningSubgraph[]; urls: Record<string, string> }> {
  const logger = createLogger('bench', { logLevel: 'silent', env: 'test' });
  console.log(`Starting ${subgraphs.length} subgraphs (${process.env.DATABASE_URL ? 'PostgreSQL' : 'in-memory PGlite'})…`);
  const running = await Promise.all(
    subgraphs.map((definition) => {
      const config: SubgraphConfig = { ...loadSubgraphConfig(definition.name, 0, env), port: 0 };
      if (!process.env.DATABASE_URL) config.store = { kind: 'pglite', dataDir: 'memory://' };
      return startSubgraph(definition, config, logger);
    }),
  );
  const urls = Object.fromEntries(running.map((s, i) => [`${subgraphs[i]!.name.toUpperCase()}_URL`, s.url]));
  return { running, urls };
}
