import { composeServices } from '@apollo/composition';
import { Supergraph, printSchema } from '@apollo/federation-internals';
import { parse } from 'graphql';
import { readFile } from 'node:fs/promises';
import { StartupError } from '../../shared/errors/fatal.js';
import type { JoinedSubgraph } from '../../shared/config/config.js';
import { signedRequestHeaders } from '../../shared/identity/signed-requests.js';

export type Composition = { supergraphSdl: string; errors: [] } | { supergraphSdl: undefined; errors: string[] };

interface SubgraphToCompose {
  name: string;
  /** Routing URL recorded in the supergraph. */
  url: string;
  sdl: string;
}

/** Composes subgraph SDL into a supergraph, as Apollo Router's tooling would; errors come back readable. */
export function composeSubgraphs(sources: SubgraphToCompose[]): Composition {
  const result = composeServices(sources.map(({ name, url, sdl }) => ({ name, url, typeDefs: parse(sdl) })));
  if (result.errors) return { supergraphSdl: undefined, errors: result.errors.map((error) => error.message) };
  return { supergraphSdl: result.supergraphSdl, errors: [] };
}

/** A running subgraph's SDL, asked for with a signed request like any other. */
async function fetchSubgraphSdl(url: string, signingSecret: string): Promise<string> {
  const request = JSON.stringify({ query: '{ _service { sdl } }' });
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signedRequestHeaders(signingSecret, request) },
    body: request,
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await response.json()) as { data?: { _service?: { sdl?: string } }; errors?: { message: string }[] };
  const sdl = body.data?._service?.sdl;
  if (!sdl) throw new Error(`${url} gave no SDL: ${body.errors?.map((e) => e.message).join('; ') ?? response.status}`);
  return sdl;
}

/** Composes from the subgraphs as they run: what the gateway does at start in development. */
export async function composeFromRunning(subgraphs: { name: string; url: string }[], signingSecret: string): Promise<Composition> {
  return composeSubgraphs(await Promise.all(subgraphs.map(async (s) => ({ ...s, sdl: await fetchSubgraphSdl(s.url, signingSecret) }))));
}

/**
 * @apollo/gateway 2 refuses a supergraph that links `@authenticated` or `@requiresScopes`
 * `for: SECURITY`: it does not implement them (Apollo Router does). Tessera's subgraphs
 * enforce both themselves, on every path including entity references, so the gateway may
 * load the supergraph with those links as plain (non-security) features. The file on disk
 * stays as composed, for Router.
 */
export function forApolloGateway(supergraphSdl: string): string {
  return supergraphSdl.replace(
    /(@link\(url: "https:\/\/specs\.apollo\.dev\/(?:authenticated|requiresScopes)\/v[\d.]+"), for: SECURITY\)/g,
    '$1)',
  );
}

/** The subgraphs a supergraph joins, with the routing URL `@join__graph(url:)` records for each. */
export function routingOf(supergraphSdl: string): JoinedSubgraph[] {
  const supergraph = Supergraph.build(supergraphSdl, { supportedFeatures: null });
  const subgraphs = supergraph.subgraphs();
  return supergraph.subgraphsMetadata().map(({ name, url }) => {
    const query = subgraphs.get(name)?.schema.schemaDefinition.rootType('query');
    return { name, url, answersCallerCheck: Boolean(query?.field('me') && query.field('user')) };
  });
}

/**
 * The subgraphs the gateway learns of at start, from a supergraph file: the one it serves
 * (`SUPERGRAPH_PATH`), or, composing in development, the committed `supergraph.graphql`, which
 * `npm run compose` writes from the registry's default ports. The gateway imports no registry.
 */
export async function subgraphsJoinedBy(path: string, { served }: { served: boolean }): Promise<JoinedSubgraph[]> {
  try {
    return routingOf(await readFile(path, 'utf8'));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw served
      ? new StartupError(`cannot read the supergraph at ${path} (${reason}); set SUPERGRAPH_PATH to a composed supergraph`, [
          'SUPERGRAPH_PATH',
        ])
      : new StartupError(`cannot read ${path} (${reason}), which names the subgraphs to compose from; run \`npm run compose\``, [
          'SUPERGRAPH_PATH',
        ]);
  }
}

/**
 * The public API schema of a supergraph: what clients (and their code generators) see.
 * Printing needs no runtime support for its features (`supportedFeatures: null`).
 */
export function apiSchemaOf(supergraphSdl: string): string {
  return `${printSchema(Supergraph.build(supergraphSdl, { supportedFeatures: null }).apiSchema())}\n`;
}
