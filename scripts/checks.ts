import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { apiSchemaOf, composeSupergraph } from '../gateway/supergraph.js';
import { createLogger } from '../shared/logger.js';
import { openStore } from '../shared/orm.js';
import { repoRoot } from '../shared/paths.js';
import type { SubgraphDefinition } from '../shared/subgraph.js';

const quiet = createLogger('check', { logLevel: 'silent', env: 'test' });

/**
 * What a subgraph's entities have that its migrations do not create (as SQL), found by
 * applying the migrations to a scratch in-memory PGlite store and diffing the entities
 * against it. Empty when they agree.
 */
export async function entityDrift(definition: SubgraphDefinition): Promise<string> {
  const orm = await openStore({ name: definition.name, store: { kind: 'pglite', dataDir: 'memory://' }, entities: definition.entities, logger: quiet });
  try {
    await orm.migrator.up();
    return (await orm.schema.getUpdateSchemaSQL({ wrap: false })).trim();
  } finally {
    await orm.close();
  }
}

/** The generated schema files, as they are on disk and as the code composes them now. */
export async function staleSchemaFiles(definitions: SubgraphDefinition[], routingUrls: Map<string, string>, root = repoRoot): Promise<{ errors: string[]; stale: string[] }> {
  const { supergraphSdl, errors } = await composeSupergraph(definitions, routingUrls);
  if (!supergraphSdl) return { errors, stale: [] };
  const expected: Record<string, string> = { 'supergraph.graphql': supergraphSdl, 'schema.graphql': apiSchemaOf(supergraphSdl) };
  const stale: string[] = [];
  for (const [file, content] of Object.entries(expected)) {
    const onDisk = await readFile(join(root, file), 'utf8').catch(() => undefined);
    if (onDisk !== content) stale.push(file);
  }
  return { errors: [], stale };
}
