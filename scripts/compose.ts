import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { apiSchemaOf, composeSupergraph } from '../gateway/supergraph.js';
import { loadGatewayConfig } from '../shared/config.js';
import { repoRoot } from '../shared/paths.js';
import { subgraphs } from '../subgraphs/index.js';

/**
 * `npm run compose`: writes `supergraph.graphql`, which the gateway serves in production, and
 * `schema.graphql`, the public API schema clients see. Routing URLs are the gateway's
 * configured ones (`<NAME>_URL`, else the default ports).
 */
const { subgraphs: urls } = loadGatewayConfig(subgraphs, process.env);
const { supergraphSdl, errors } = await composeSupergraph(subgraphs, new Map(urls.map((s) => [s.name, s.url])));
if (!supergraphSdl) {
  console.error(`Composition failed with ${errors.length} error(s):\n${errors.map((e) => `  - ${e}`).join('\n')}`);
  process.exit(1);
}
await writeFile(join(repoRoot, 'supergraph.graphql'), supergraphSdl);
await writeFile(join(repoRoot, 'schema.graphql'), apiSchemaOf(supergraphSdl));
console.log(`Wrote supergraph.graphql and schema.graphql (${subgraphs.map((s) => s.name).join(', ')}).`);
