import { readdir, readFile, writeFile } from 'node:fs/promises';
import { CriticalityLevel, diff } from '@graphql-inspector/core';
import { buildSchema } from 'graphql';
import { join, relative } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { parse as parseYaml } from 'yaml';
import type { CodegenConfig } from '@graphql-codegen/cli';
import { apiSchemaOf } from '../gateway/supergraph/supergraph.js';
import { composeSupergraph } from './compose.js';
import { createLogger } from '../shared/observability/logger.js';
import { openStore } from '../shared/store/orm.js';
import { repoRoot } from '../shared/config/paths.js';
import { storeEntities, type StoreSubgraphDefinition, type SubgraphDefinition } from '../shared/subgraph/definition.js';

const quiet = createLogger('check', { logLevel: 'silent', env: 'test' });

/**
 * What a subgraph's entities have that its migrations do not create (as SQL), found by
 * applying the migrations to a scratch in-memory PGlite store and diffing the entities
 * against it. Empty when they agree.
 */
export async function entityDrift(definition: StoreSubgraphDefinition): Promise<string> {
  const store = { kind: 'pglite', dataDir: 'memory://' } as const;
  const orm = await openStore({ name: definition.name, store, entities: storeEntities(definition), logger: quiet });
  try {
    await orm.migrator.up();
    return (await orm.schema.getUpdateSchemaSQL({ wrap: false })).trim();
  } finally {
    await orm.close();
  }
}

/** Which generated schema files on disk differ from those of this supergraph. */
export async function staleFilesOf(supergraphSdl: string, root = repoRoot): Promise<string[]> {
  const expected: Record<string, string> = { 'supergraph.graphql': supergraphSdl, 'schema.graphql': apiSchemaOf(supergraphSdl) };
  const stale: string[] = [];
  for (const [file, content] of Object.entries(expected)) {
    const onDisk = await readFile(join(root, file), 'utf8').catch(() => undefined);
    if (onDisk !== content) stale.push(file);
  }
  return stale;
}

/** The generated schema files, as they are on disk and as the code composes them now. */
export async function staleSchemaFiles(
  definitions: SubgraphDefinition[],
  routingUrls: Map<string, string>,
  root = repoRoot,
): Promise<{ errors: string[]; stale: string[] }> {
  const { supergraphSdl, errors } = await composeSupergraph(definitions, routingUrls);
  if (!supergraphSdl) return { errors, stale: [] };
  return { errors: [], stale: await staleFilesOf(supergraphSdl, root) };
}

/**
 * The typed SDK as committed and as `npm run codegen` makes it now (codegen.yml, from
 * schema.graphql and sdk/operations/), compared file by file without writing anything:
 * `stale` names each generated file that differs or is missing, `unexpected` each file in an
 * output folder that codegen does not write (left over, or added by hand); `errors` says why
 * codegen fails (an operation asking for a field the schema lacks, say).
 */
export async function staleSdk(root = repoRoot): Promise<{ errors: string[]; stale: string[]; unexpected: string[] }> {
  // Loaded here, not at the top: codegen is a development tool, and compose shares this module.
  const { generate } = await import('@graphql-codegen/cli');
  const config = parseYaml(await readFile(join(root, 'codegen.yml'), 'utf8')) as CodegenConfig;
  let outputs: { filename: string; content: string }[];
  try {
    outputs = await generate({ ...config, cwd: root, silent: true }, false);
  } catch (error) {
    const causes = error instanceof AggregateError ? error.errors : [error];
    // codegen colours its messages for a terminal; the codes would garble the report
    return {
      errors: causes.map((cause) => stripVTControlCharacters(String((cause as Error).message ?? cause)).trim()),
      stale: [],
      unexpected: [],
    };
  }
  const stale: string[] = [];
  const unexpected: string[] = [];
  for (const { filename, content } of outputs) {
    const onDisk = await readFile(join(root, filename), 'utf8').catch(() => undefined);
    if (onDisk !== content) stale.push(filename);
  }
  const generated = new Set(outputs.map((output) => output.filename));
  for (const folder of Object.keys(config.generates).filter((target) => target.endsWith('/'))) {
    const files = await readdir(join(root, folder), { recursive: true, withFileTypes: true }).catch(() => []);
    for (const file of files) {
      const path = relative(root, join(file.parentPath, file.name));
      if (file.isFile() && !generated.has(path)) unexpected.push(path);
    }
  }
  return { errors: [], stale, unexpected };
}

interface ApiChanges {
  breaking: string[];
  dangerous: string[];
  safe: string[];
}

/** How the public API changes from one schema.graphql to another, classified for clients. */
export async function classifyApiChanges(before: string, after: string): Promise<ApiChanges> {
  const changes = await diff(buildSchema(before), buildSchema(after));
  const of = (level: CriticalityLevel) => changes.filter((change) => change.criticality.level === level).map((change) => change.message);
  return { breaking: of(CriticalityLevel.Breaking), dangerous: of(CriticalityLevel.Dangerous), safe: of(CriticalityLevel.NonBreaking) };
}

type WriteResult = { written: true; changes: ApiChanges } | { written: false; changes?: ApiChanges; errors: string[] };

/**
 * Composes and writes `supergraph.graphql` and `schema.graphql`, unless the public API would
 * change in a way that breaks clients and `acceptBreaking` does not acknowledge it: then
 * nothing is written, so a breaking change reaches the committed schema only on purpose.
 */
export async function writeSchemaFiles(
  definitions: SubgraphDefinition[],
  routingUrls: Map<string, string>,
  { acceptBreaking = false, root = repoRoot }: { acceptBreaking?: boolean; root?: string } = {},
): Promise<WriteResult> {
  const { supergraphSdl, errors } = await composeSupergraph(definitions, routingUrls);
  if (!supergraphSdl) return { written: false, errors };
  const apiSchema = apiSchemaOf(supergraphSdl);
  const previous = await readFile(join(root, 'schema.graphql'), 'utf8').catch(() => undefined);
  const changes = previous ? await classifyApiChanges(previous, apiSchema) : { breaking: [], dangerous: [], safe: [] };
  if (changes.breaking.length && !acceptBreaking) return { written: false, changes, errors: [] };
  await writeFile(join(root, 'supergraph.graphql'), supergraphSdl);
  await writeFile(join(root, 'schema.graphql'), apiSchema);
  return { written: true, changes };
}
