import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { composeSupergraph } from '../gateway/supergraph.js';
import { repoRoot } from '../shared/paths.js';
import { subgraphs } from '../subgraphs/index.js';

/** `npm run compose`: writes `supergraph.graphql`, which the gateway serves in production. */
const { supergraphSdl, errors } = await composeSupergraph(subgraphs);
if (!supergraphSdl) {
  console.error(`Composition failed with ${errors.length} error(s):\n${errors.map((e) => `  - ${e}`).join('\n')}`);
  process.exit(1);
}
const file = join(repoRoot, 'supergraph.graphql');
await writeFile(file, supergraphSdl);
console.log(`Wrote ${file} (${subgraphs.map((s) => s.name).join(', ')}).`);
