import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { subgraphSdl, type SubgraphDefinition } from '../shared/subgraph.js';

export type Composition = { supergraphSdl: string; errors: [] } | { supergraphSdl: undefined; errors: string[] };

/**
 * Composes the subgraphs' SDL (built in-process: no server needed) into a supergraph, as
 * Apollo Router or `rover supergraph compose` would. Errors come back as readable messages.
 */
export async function composeSupergraph(definitions: SubgraphDefinition[], routingUrls: Map<string, string>): Promise<Composition> {
  const services = await Promise.all(
    definitions.map(async (subgraph) => ({
      name: subgraph.name,
      // Recorded for Apollo Router; Tessera's gateway routes by its own configuration.
      url: routingUrls.get(subgraph.name),
      typeDefs: parse(await subgraphSdl(subgraph)),
    })),
  );
  const result = composeServices(services);
  if (result.errors) return { supergraphSdl: undefined, errors: result.errors.map((error) => error.message) };
  return { supergraphSdl: result.supergraphSdl, errors: [] };
}
