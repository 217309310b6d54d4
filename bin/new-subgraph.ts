import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { format, resolveConfig } from 'prettier';
import { buildRoot, repoRoot } from '../shared/config/paths.js';
import { subgraphs } from '../subgraphs/index.js';
import { checkSchemaCollisions, checkSubgraphName, deriveNames, ScaffoldError, type SubgraphNames } from '../tooling/scaffold/names.js';
import { registerInDockerCompose, registerInIndex, registerInPrometheus, registerInReadme } from '../tooling/scaffold/registration.js';
import { storelessSubgraphFiles, subgraphFiles } from '../tooling/scaffold/templates.js';

const usage = `Usage: npm run new:subgraph -- <name> [--entity <Name> | --no-store]
  Creates subgraphs/<name>/ (an entity, a resolver with a query, a paged list and a create
  mutation, loaders, seed data, a test) and its first migration, and registers it in
  subgraphs/index.ts, docker-compose.yml and README.md. Then: npm run compose, npm test.
  <name>           lower-case words joined by hyphens, e.g. wishlists, order-history
  --entity <Name>  the entity (default: <name> in the singular, e.g. wishlists → Wishlist)
  --no-store       a subgraph without a store, that computes or wraps another service:
                   a status query (Query.<name>Status) and a test; no entity, no migration`;

const run = promisify(execFile);

/** A new file as `npm run format` would write it, so that the new subgraph passes `npm run lint` as it is. */
async function formatted(file: string, content: string): Promise<string> {
  const path = join(repoRoot, file);
  return format(content, { ...(await resolveConfig(path)), filepath: path });
}

/** Runs a compiled script or tool on this Node, in the repository; its output becomes the error when it fails. */
async function node(what: string, args: string[]): Promise<string> {
  try {
    return (await run(process.execPath, args, { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 })).stdout;
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`${what} failed:\n${`${stdout}${stderr}`.trim() || String(error)}`, { cause: error });
  }
}

const build = () => node('The build', [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json']);

/** Refuses, before anything is written, a bad name, a taken one, and GraphQL names another subgraph has. */
async function plan(name: string, entity: string | undefined, store: boolean): Promise<SubgraphNames> {
  checkSubgraphName(name);
  const existing = subgraphs.find((subgraph) => subgraph.name === name);
  const folder = ['subgraphs', 'migrations'].map((root) => `${root}/${name}`).find((path) => existsSync(join(repoRoot, path)));
  if (existing || folder) {
    throw new ScaffoldError(
      `A subgraph named "${name}" already exists (${existing ? 'in subgraphs/index.ts' : folder}). Choose another name.`,
      2,
    );
  }
  // The next port after the highest registered one.
  const port = Math.max(4000, ...subgraphs.map((subgraph) => subgraph.port)) + 1;
  const names = deriveNames(name, port, entity);
  await checkSchemaCollisions(names, subgraphs, { store });
  return names;
}

function commandLine(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: { entity: { type: 'string' }, 'no-store': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    });
  } catch (error) {
    throw new ScaffoldError(`${(error as Error).message}\n\n${usage}`, 2);
  }
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = commandLine(argv);
  if (values.help) {
    console.log(usage);
    return 0;
  }
  if (positionals.length !== 1) throw new ScaffoldError(usage, 2);
  const store = !values['no-store'];
  if (!store && values.entity)
    throw new ScaffoldError(`--entity and --no-store exclude each other: a storeless subgraph has no entity.\n\n${usage}`, 2);
  const names = await plan(positionals[0]!, values.entity, store);

  // Every change is computed before the first is written, so a refusal leaves the tree as it was.
  const files = store ? subgraphFiles(names) : storelessSubgraphFiles(names);
  const registered = subgraphs.map((subgraph) => subgraph.name);
  const edits: Record<string, (text: string) => string> = {
    'subgraphs/index.ts': (text) => registerInIndex(text, names),
    'docker-compose.yml': (text) => registerInDockerCompose(text, names, registered),
    'README.md': (text) => registerInReadme(text, names, { store }),
  };
  // docker-compose's metrics stack scrapes every process, where the project has one.
  const scrapeConfig = 'ops/prometheus/prometheus.yml';
  if (existsSync(join(repoRoot, scrapeConfig))) edits[scrapeConfig] = (text) => registerInPrometheus(text, names, registered);
  const originals = new Map<string, string>();
  const edited = new Map<string, string>();
  for (const [file, edit] of Object.entries(edits)) {
    const text = await readFile(join(repoRoot, file), 'utf8');
    originals.set(file, text);
    edited.set(file, edit(text));
  }

  const created = store ? [`subgraphs/${names.name}`, `migrations/${names.name}`] : [`subgraphs/${names.name}`];
  const written = Object.keys(files);
  try {
    for (const [file, content] of Object.entries(files)) {
      await mkdir(dirname(join(repoRoot, file)), { recursive: true });
      await writeFile(join(repoRoot, file), await formatted(file, content), { flag: 'wx' });
    }
    for (const [file, content] of edited) await writeFile(join(repoRoot, file), content);
    // The migrator reads the compiled entities, and writes the migration as a source file.
    await build();
    if (store) {
      const output = await node('Creating the first migration', [join(buildRoot, 'bin', 'migrate.js'), names.name, 'create', 'initial']);
      const migration = /Created (\S+)/.exec(output)?.[1];
      if (!migration) throw new Error(`The migrator created no migration: ${output.trim()}`);
      written.push(migration);
      await build();
    }
  } catch (error) {
    for (const [file, text] of originals) await writeFile(join(repoRoot, file), text);
    for (const path of created) {
      await rm(join(repoRoot, path), { recursive: true, force: true });
      await rm(join(repoRoot, 'dist', path), { recursive: true, force: true });
    }
    // So dist/ no longer registers the subgraph either; whatever failed is reported below.
    await build().catch(() => undefined);
    throw new Error(`${(error as Error).message}\nNothing was kept: the files written were removed and the registrations undone.`, {
      cause: error,
    });
  }

  console.log(`Created the ${names.name} subgraph (${store ? `entity ${names.entity}` : 'no store'}, port ${names.port}):`);
  for (const file of written) console.log(`  ${file}`);
  console.log(`Registered it in ${[...edited.keys()].join(', ')}.

Next:
  npm run compose   adds it to supergraph.graphql and schema.graphql
  npm test          the whole suite, now with it (alone: npm test -- subgraphs/${names.name})`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(error instanceof ScaffoldError ? error.exitCode : 1);
  },
);
