import { subgraphs } from '../subgraphs/index.js';
import { writeSchemaFiles } from '../tooling/checks.js';
import { registryRoutes } from '../tooling/compose.js';

/**
 * `npm run compose [-- --accept-breaking]`: writes `supergraph.graphql`, which the gateway
 * serves in production, and `schema.graphql`, the public API schema clients see. A change
 * that breaks clients is refused unless acknowledged with `--accept-breaking`. Routing URLs
 * are `<NAME>_URL`, else `<NAME>_PORT`, else the default ports: all it reads of the environment.
 */
const result = await writeSchemaFiles(subgraphs, registryRoutes(process.env, subgraphs), {
  acceptBreaking: process.argv.includes('--accept-breaking'),
});
const list = (title: string, items: string[] = []) => (items.length ? `${title}:\n${items.map((i) => `  - ${i}`).join('\n')}\n` : '');

if (!result.written && result.errors.length) {
  console.error(`Composition failed with ${result.errors.length} error(s):\n${result.errors.map((e) => `  - ${e}`).join('\n')}`);
  process.exit(1);
}
if (!result.written) {
  console.error(
    `${list('This change breaks clients of the public API', result.changes?.breaking)}Nothing was written. If it is intended, run \`npm run compose -- --accept-breaking\` and say so in the change.`,
  );
  process.exit(1);
}
process.stdout.write(
  list('Breaking (accepted)', result.changes.breaking) + list('Dangerous', result.changes.dangerous) + list('Safe', result.changes.safe),
);
console.log(`Wrote supergraph.graphql and schema.graphql (${subgraphs.map((s) => s.name).join(', ')}).`);
