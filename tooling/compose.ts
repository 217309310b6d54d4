import { subgraphRoutes, type Env } from '../shared/config/config.js';
import type { SubgraphDefinition } from '../shared/subgraph/definition.js';
import { subgraphSdl } from '../shared/subgraph/schema.js';
import { composeSubgraphs, type Composition } from '../gateway/supergraph/supergraph.js';

/** Composes from the definitions themselves (SDL built in-process, no server needed): `npm run compose`, `npm run check`. */
export async function composeSupergraph(definitions: SubgraphDefinition[], routingUrls: Map<string, string>): Promise<Composition> {
  return composeSubgraphs(
    await Promise.all(definitions.map(async (d) => ({ name: d.name, url: routingUrls.get(d.name) ?? '', sdl: await subgraphSdl(d) }))),
  );
}

/**
 * Where each registered subgraph is: `<NAME>_URL`, else `<NAME>_PORT` on this host, else its
 * default port. What `npm run compose` records as routing URLs, and all it reads of the
 * environment (no secrets, whatever `NODE_ENV` is).
 */
export function registryRoutes(env: Env, definitions: { name: string; port: number }[]): Map<string, string> {
  return new Map(subgraphRoutes(env, registryDefaults(definitions)).subgraphs.map((s) => [s.name, s.url]));
}

/** Each registered subgraph at its default port on this host. */
export function registryDefaults(definitions: { name: string; port: number }[]): { name: string; url: string }[] {
  return definitions.map(({ name, port }) => ({ name, url: `http://127.0.0.1:${port}/graphql` }));
}
