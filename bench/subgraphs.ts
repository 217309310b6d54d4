import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { loadSubgraphConfig, type SubgraphConfig } from '../shared/config/subgraph-config.js';
import { withSecrets, type WithSecrets } from '../shared/config/secrets.js';
import { createLogger } from '../shared/observability/logger.js';
import { startSubgraph, type RunningSubgraph } from '../shared/subgraph/boot.js';
import { subgraphs } from '../subgraphs/index.js';

/** A bench run's secrets and environment: fresh secrets, test mode, quiet. */
export function benchEnv(): NodeJS.ProcessEnv {
  const secrets = { SUBGRAPH_SIGNING_SECRET: randomBytes(32).toString('hex'), JWT_SECRET: randomBytes(32).toString('hex') };
  return { ...process.env, ...secrets, NODE_ENV: 'test', LOG_LEVEL: 'silent' };
}

/**
 * The environment of a bench's gateway: the run's, the subgraph URLs, and rate limiting off
 * whatever the environment says. A bench sends thousands of requests from one address; under
 * the default limit (600 a minute per caller) most would be answered 429 and the bench would
 * time the refusals.
 */
export function benchGatewayEnv(env: NodeJS.ProcessEnv, urls: Record<string, string>): NodeJS.ProcessEnv {
  return { ...env, ...urls, RATE_LIMIT: '0' };
}

/** What a bench's rate limit is, for its printed configuration. */
export const BENCH_RATE_LIMIT = 'off for the bench gateway (RATE_LIMIT=0: every request comes from 127.0.0.1)';

/** Where the subgraphs keep their data in a bench run. */
const benchStore = (env: NodeJS.ProcessEnv) => (env.DATABASE_URL ? 'PostgreSQL (DATABASE_URL)' : 'in-memory PGlite');

/** The subgraphs a bench starts, as its configuration prints them: the registry's count and names. */
export const benchSubgraphs = (env: NodeJS.ProcessEnv) =>
  `${subgraphs.length} (${subgraphs.map((s) => s.name).join(', ')}), ${benchStore(env)}, seeded`;

/** A bench's configuration, one setting a line, printed before it runs so its numbers can be read against it. */
export function formatSettings(settings: Record<string, string>): string {
  const width = Math.max(...Object.keys(settings).map((key) => key.length));
  return `Configuration:\n${Object.entries(settings)
    .map(([key, value]) => `  ${key.padEnd(width)}  ${value}`)
    .join('\n')}`;
}

/** A positive integer from the environment, or the default; anything else stops the bench saying so. */
export function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer; got "${raw}".`);
  return value;
}

/**
 * Why a bench request failed, or undefined when it did not: the HTTP status and the first error
 * code (`429 RATE_LIMITED`, `200 INTERNAL_SERVER_ERROR`), so a run that measured refusals says so.
 */
export function failureOf(status: number, body: { errors?: { extensions?: { code?: unknown } }[] } | undefined): string | undefined {
  const errors = body?.errors ?? [];
  if (status >= 200 && status < 300 && !errors.length) return undefined;
  const code = errors.find((error) => error.extensions?.code)?.extensions?.code;
  return `${status}${code ? ` ${String(code)}` : errors.length ? ' with errors' : ''}`;
}

/**
 * Every subgraph in this process on a free port, seeded: in-memory PGlite, or the databases
 * `DATABASE_URL` names. Returns them with the `<NAME>_URL` variables a gateway routes by.
 */
export async function startBenchSubgraphs(env: NodeJS.ProcessEnv): Promise<{ running: RunningSubgraph[]; urls: Record<string, string> }> {
  const logger = createLogger('bench', { logLevel: 'silent', env: 'test' });
  console.log(`Starting ${subgraphs.length} subgraphs (${benchStore(env)})…`);
  const running = await Promise.all(
    subgraphs.map(async (definition) => {
      const config: WithSecrets<SubgraphConfig> = { ...(await withSecrets(loadSubgraphConfig(definition.name, 0, env), logger)), port: 0 };
      if (!env.DATABASE_URL) config.store = { kind: 'pglite', dataDir: 'memory://' };
      return startSubgraph({ definition, config, logger });
    }),
  );
  const urls = Object.fromEntries(running.map((s, i) => [`${subgraphs[i]!.name.toUpperCase()}_URL`, s.url]));
  return { running, urls };
}

/** A port nothing listens on right now, on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}
