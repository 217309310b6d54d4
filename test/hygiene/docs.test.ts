import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { envPrefix, gatewayVariables, PER_SUBGRAPH, subgraphRoutingVariables } from '../../shared/config/config.js';
import { loadSubgraphConfig, subgraphVariables } from '../../shared/config/subgraph-config.js';
import { repoRoot } from '../../shared/config/paths.js';
import { subgraphs } from '../../subgraphs/index.js';

const read = (file: string) => readFile(join(repoRoot, file), 'utf8');

/** The variable names of the README's configuration table, `<NAME>` patterns expanded per subgraph. */
async function documentedVariables(): Promise<Set<string>> {
  const readme = await read('README.md');
  const names = [...readme.matchAll(/^\| `([A-Z_<>]+)` \|/gm)].map((m) => m[1]!);
  return new Set(
    names.flatMap((name) => (name.includes('<NAME>') ? subgraphs.map((s) => name.replace('<NAME>', envPrefix(s.name))) : [name])),
  );
}

/** Every variable the processes' schemas read; a subgraph's own ones as `<NAME>_…`. */
function parsedVariables(): string[] {
  const perSubgraph = (shape: object) => Object.keys(shape).map((key) => `${PER_SUBGRAPH}_${key}`);
  const { [PER_SUBGRAPH]: own, ...subgraph } = subgraphVariables;
  return [
    ...new Set([
      ...Object.keys(gatewayVariables),
      ...Object.keys(subgraph),
      ...perSubgraph(own.shape),
      ...perSubgraph(subgraphRoutingVariables),
    ]),
  ];
}

describe('README configuration', () => {
  it('has a table row for every variable the configuration schemas read', async () => {
    const readme = await read('README.md');
    // The configuration table, and the limits' table its `MAX_DEPTH … RATE_LIMIT_FAIL_CLOSED` row points to.
    const tableRows = readme
      .split('\n')
      .filter((line) => line.startsWith('|'))
      .join('\n');
    const variables = parsedVariables();
    expect(variables.length).toBeGreaterThan(40);
    expect(variables).toEqual(expect.arrayContaining(['GATEWAY_PORT', 'SLOW_SQL_MS', '<NAME>_PORT', '<NAME>_DATABASE_URL', '<NAME>_URL']));
    expect(variables.filter((name) => !tableRows.includes(`\`${name}\``))).toEqual([]);
  });
});

interface ComposeService {
  build?: unknown;
  command?: string[];
  restart?: string;
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
}

/** docker-compose.yml as compose reads it beside a filled-in .env: `${VAR:-default}` is its default, other `${VAR…}` a secret. */
async function composeServices(): Promise<Record<string, ComposeService>> {
  const text = (await read('docker-compose.yml')).replace(
    /\$\{[A-Z][A-Z0-9_]*(?::?-([^}]*)|:?\?[^}]*)?\}/g,
    (_, fallback?: string) => fallback ?? 'a'.repeat(48),
  );
  const services = (parse(text, { merge: true }) as { services: Record<string, ComposeService> }).services;
  // `KEY: ${VAR:-}` is an empty string to compose; YAML reads the bare `KEY:` as null.
  for (const service of Object.values(services)) {
    if (service.environment)
      service.environment = Object.fromEntries(Object.entries(service.environment).map(([key, value]) => [key, value ?? '']));
  }
  return services;
}

describe('docker-compose.yml', () => {
  it('sets only variables the README documents, and runs every registered subgraph', async () => {
    const services = await composeServices();
    const documented = await documentedVariables();
    const ours = Object.entries(services).filter(([, service]) => service.build);
    const used = ours.flatMap(([, service]) => Object.keys(service.environment ?? {}));
    expect(used.filter((name) => !documented.has(name))).toEqual([]);
    expect(ours.map(([name]) => name).sort()).toEqual([...subgraphs.map((s) => s.name), 'gateway', 'migrate'].sort());
  });

  it('migrates once, in a one-shot service every subgraph waits for, and starts subgraphs that neither migrate nor seed', async () => {
    const { migrate, ...services } = await composeServices();
    expect(migrate).toMatchObject({
      command: ['node', 'dist/bin/migrate.js', 'all', 'up'],
      restart: 'no',
      depends_on: { postgres: { condition: 'service_healthy' } },
    });
    for (const { name, port } of subgraphs) {
      const service = services[name]!;
      expect({ name, dependsOn: service.depends_on?.migrate, environment: service.environment }).toEqual({
        name,
        dependsOn: { condition: 'service_completed_successfully' },
        environment: expect.objectContaining({ MIGRATE_ON_START: 'false', SEED_ON_START: 'false' }),
      });
      // The migrate service loads each subgraph's configuration (production: its secrets too) and reaches the same store.
      const migrating = loadSubgraphConfig(name, port, migrate!.environment!);
      expect({ name, store: migrating.store }).toEqual({ name, store: loadSubgraphConfig(name, port, service.environment!).store });
    }
  });
});
