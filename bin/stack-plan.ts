import { loadSubgraphConfig } from '../shared/config/subgraph-config.js';
import { ensurePgliteTemplate } from '../shared/store/pglite.js';
import { subgraphs } from '../subgraphs/index.js';

/**
 * A short-lived child of `npm start` (tooling/stack.ts): the one process that imports the
 * whole registry on the supervisor's behalf. Creates the PGlite template of the data folder
 * once when a subgraph's store is new, so that the subgraphs copy it rather than each running
 * `initdb` at the same time, then prints every subgraph's name and default port as JSON and
 * exits, giving back the memory both took.
 */
async function main(): Promise<void> {
  for (const subgraph of subgraphs) {
    let store;
    try {
      ({ store } = loadSubgraphConfig(subgraph.name, subgraph.port, process.env, subgraph));
    } catch {
      // The subgraph's own process reports its configuration errors, in its own words.
      continue;
    }
    if (store.kind === 'pglite' && !store.dataDir.startsWith('memory:')) {
      // Every store of the folder shares one template: building it once is enough.
      await ensurePgliteTemplate(store.dataDir);
      break;
    }
  }
  process.stdout.write(JSON.stringify(subgraphs.map(({ name, port }) => ({ name, port }))));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
