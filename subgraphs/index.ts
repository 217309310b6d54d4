import { StartupError } from '../shared/errors/fatal.js';
import type { SubgraphDefinition } from '../shared/subgraph/definition.js';
import { accounts } from './accounts/index.js';
import { catalog } from './catalog/index.js';
import { inventory } from './inventory/index.js';
import { reviews } from './reviews/index.js';

/** Every subgraph of the supergraph. Adding one is adding it here. */
export const subgraphs: SubgraphDefinition[] = [accounts, catalog, inventory, reviews] as SubgraphDefinition[];

export function findSubgraph(name: string | undefined): SubgraphDefinition {
  const found = subgraphs.find((subgraph) => subgraph.name === name);
  if (!found) {
    throw new StartupError(`unknown subgraph "${name ?? ''}"; known: ${subgraphs.map((s) => s.name).join(', ')}`, []);
  }
  return found;
}
