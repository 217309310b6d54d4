import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { composeSupergraph } from '../gateway/supergraph.js';
import { loadGatewayConfig } from '../shared/config.js';
import { repoRoot } from '../shared/paths.js';
import { subgraphs } from '../subgraphs/index.js';

/**
 * `npm run compose`: writes `supergraph.graphql`, which the gateway serves in production.
 * Routing URLs are the gateway's configured ones (`<NAME>_URL`, else the default ports).
 */
const { subgraphs: urls } = loadGatewayConfig(subgraphs, process.env);
const { supergraphSdl, errors } = await composeSupergraph(subgraphs, new Map(urls.map((s) => [s.name, s.url])));
if (!supergraphSdl) {
  console.error(`Composition failed with ${errors.length} error(s):\n${errors.map((e) => `  - ${e}`).join('\n')}`);
  process.exit(1);
}
const file = join(repoRoot, 'supergraph.graphql');
await writeFile(file, supergraphSdl);
console.log(`Wrote ${file} (${subgraphs.map((s) => s.name).join(', ')}).`);
