import { join } from 'node:path';
import { loadSubgraphConfig } from '../shared/config.js';
import { createLogger } from '../shared/logger.js';
import { openStore } from '../shared/orm.js';
import { repoRoot } from '../shared/paths.js';
import { findSubgraph, subgraphs } from '../subgraphs/index.js';

const usage = `Usage: npm run migrate -- <subgraph> <up|down|status|create [name]>
  up       apply pending migrations
  down     revert the last migration
  status   list executed and pending migrations
  create   write a migration with the difference between the entities and the migrations
           (computed on a scratch in-memory PGlite store, so no database is touched)
Subgraphs: ${subgraphs.map((s) => s.name).join(', ')}. The store is chosen as for \`npm start\`
(DATABASE_URL / <NAME>_DATABASE_URL, else PGlite under DATA_DIR).`;

async function main(argv: string[]): Promise<number> {
  const [name, command, label] = argv;
  if (!name || !command || !['up', 'down', 'status', 'create'].includes(command)) {
    console.error(usage);
    return 2;
  }
  const definition = findSubgraph(name);
  const config = loadSubgraphConfig(definition.name, definition.port, process.env);
  const logger = createLogger(`migrate:${name}`, { ...config, logLevel: config.logLevel === 'info' ? 'warn' : config.logLevel });
  const store = command === 'create' ? ({ kind: 'pglite', dataDir: 'memory://' } as const) : config.store;
  const orm = await openStore({ name, store, entities: definition.entities, logger });
  try {
    switch (command) {
      case 'up': {
        const applied = await orm.migrator.up();
        console.log(applied.length ? `Applied: ${applied.map((m) => m.name).join(', ')}` : 'Nothing to apply.');
        break;
      }
      case 'down': {
        const reverted = await orm.migrator.down();
        console.log(reverted.length ? `Reverted: ${reverted.map((m) => m.name).join(', ')}` : 'Nothing to revert.');
        break;
      }
      case 'status': {
        const executed = await orm.migrator.getExecuted();
        const pending = await orm.migrator.getPending();
        for (const m of executed) console.log(`executed  ${m.name}`);
        for (const m of pending) console.log(`pending   ${m.name}`);
        if (!executed.length && !pending.length) console.log('No migrations.');
        break;
      }
      case 'create': {
        await orm.migrator.up();
        const result = await orm.migrator.create(join(repoRoot, 'migrations', name), false, false, label);
        console.log(result.fileName ? `Created migrations/${name}/${result.fileName}` : 'Entities and migrations agree; nothing to create.');
        break;
      }
    }
    return 0;
  } finally {
    await orm.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
