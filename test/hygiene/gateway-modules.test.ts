import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { repoRoot } from '../../shared/config/paths.js';
import { ensureBuilt } from '../support/built.js';
import { TEST_JWT_SECRET, TEST_SIGNING_SECRET } from '../support/config.js';
import { importGraph } from '../support/import-graph.js';

/*
 * The gateway needs nothing but the supergraph and its own configuration: no subgraph, no
 * subgraph framework, no store, no ORM or schema-building library. A broken resolver must not
 * be able to stop it, and it must not carry their memory.
 */
const FORBIDDEN_PACKAGE = /^(@mikro-orm\/.+|pg|type-graphql|@apollo\/subgraph)$/;
const FORBIDDEN_FILE = /^dist\/(subgraphs|shared\/subgraph|shared\/store)\//;

/** Records every module URL a process resolves (off-thread, so into a file), with what imported it. */
const recordingHook = (log: string) =>
  `data:text/javascript,${encodeURIComponent(`
    import { register } from 'node:module';
    register('data:text/javascript,' + encodeURIComponent(\`
      import { appendFileSync } from 'node:fs';
      export async function resolve(specifier, context, next) {
        const resolved = await next(specifier, context);
        appendFileSync(${JSON.stringify(log)}, resolved.url + ' ' + context.parentURL + '\\\\n');
        return resolved;
      }\`));
  `)}`;

/** Runs the built gateway on the committed supergraph until it listens; the modules it loaded, each with its importer. */
async function modulesLoadedByGateway(): Promise<{ module: string; importer: string }[]> {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-gateway-modules-'));
  const log = join(dir, 'loaded.txt');
  try {
    const child = spawn(process.execPath, ['--import', recordingHook(log), 'dist/bin/gateway.js'], {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'test',
        LOG_LEVEL: 'info',
        LOG_FORMAT: 'json',
        GATEWAY_PORT: '0',
        METRICS: 'false',
        SUPERGRAPH_PATH: 'supergraph.graphql',
        SUBGRAPH_SIGNING_SECRET: TEST_SIGNING_SECRET,
        JWT_SECRET: TEST_JWT_SECRET,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const listening = await new Promise<boolean>((resolve) => {
      createInterface({ input: child.stdout }).on('line', (line) => line.includes('"gateway listening"') && resolve(true));
      child.once('exit', () => resolve(false));
    });
    child.kill('SIGKILL');
    await exited;
    expect(listening).toBe(true);
    const lines = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
    return lines.map((line) => {
      const [module, importer] = line.split(' ');
      return { module: module!, importer: importer! };
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `@scope/name` or `name` of a file under node_modules; undefined for the project's own files and Node's. */
function packageOfUrl(url: string): string | undefined {
  const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  return match?.[1];
}

const projectFile = (url: string) => (url.startsWith('file:') ? relative(repoRoot, fileURLToPath(url)) : url);

describe("the gateway's built entry (dist/bin/gateway.js)", () => {
  beforeAll(ensureBuilt, 300_000);

  it('imports no subgraph, subgraph framework, store or ORM module, lazily or not', async () => {
    const graph = await importGraph(['dist/bin/gateway.js'], { followDynamic: true });
    expect(graph.size).toBeGreaterThan(30);
    expect([...graph.keys()].map((file) => relative(repoRoot, file)).filter((file) => FORBIDDEN_FILE.test(file))).toEqual([]);
    const forbidden = [...graph].flatMap(([file, packages]) =>
      packages.filter((name) => FORBIDDEN_PACKAGE.test(name)).map((name) => `${relative(repoRoot, file)} imports ${name}`),
    );
    expect(forbidden).toEqual([]);
  });

  it('loads none of them while it starts and serves, not even through a package it uses', async () => {
    const loaded = await modulesLoadedByGateway();
    expect(loaded.length).toBeGreaterThan(100);
    const offending = loaded
      .filter(({ module }) => FORBIDDEN_PACKAGE.test(packageOfUrl(module) ?? '') || FORBIDDEN_FILE.test(projectFile(module)))
      .map(({ module, importer }) => `${projectFile(module)} (imported by ${projectFile(importer)})`);
    expect([...new Set(offending)]).toEqual([]);
  }, 60_000);
});
