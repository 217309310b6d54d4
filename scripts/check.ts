import { loadGatewayConfig } from '../shared/config.js';
import { subgraphs } from '../subgraphs/index.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { apiSchemaOf, composeSupergraph } from '../gateway/supergraph.js';
import { repoRoot } from '../shared/paths.js';
import { classifyApiChanges, entityDrift, staleFilesOf } from './checks.js';

/**
 * `npm run check`, for CI and before a commit: every subgraph's entities agree with its
 * migrations; the supergraph composes; `supergraph.graphql` and `schema.graphql` are what
 * the code composes now (and when not, how the public API would change).
 */
const problems: string[] = [];
for (const subgraph of subgraphs) {
  const drift = await entityDrift(subgraph);
  if (drift) {
    problems.push(`${subgraph.name}: the entities differ from the migrations. Write a migration with \`npm run migrate -- ${subgraph.name} create <label>\`. Missing:\n${drift.replace(/^/gm, '      ')}`);
  }
}
const { subgraphs: urls } = loadGatewayConfig(subgraphs, process.env);
const { supergraphSdl, errors } = await composeSupergraph(subgraphs, new Map(urls.map((s) => [s.name, s.url])));
for (const error of errors) problems.push(`composition: ${error}`);
if (supergraphSdl) {
  const stale = await staleFilesOf(supergraphSdl);
  for (const file of stale) problems.push(`${file} is not what the code composes now: run \`npm run compose\` and commit it.`);
  if (stale.includes('schema.graphql')) {
    // Say what the pending API change is, so breaking ones are seen before compose refuses them.
    const { breaking, dangerous, safe } = await classifyApiChanges(await readFile(join(repoRoot, 'schema.graphql'), 'utf8'), apiSchemaOf(supergraphSdl));
    problems.push(`the public API change: ${breaking.length} breaking, ${dangerous.length} dangerous, ${safe.length} safe${breaking.map((b) => `\n      breaking: ${b}`).join('')}`);
  }
}

if (problems.length) {
  console.error(`npm run check found ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  process.exit(1);
}
console.log(`npm run check: ${subgraphs.length} subgraphs agree with their migrations; the supergraph composes; supergraph.graphql and schema.graphql are up to date.`);
