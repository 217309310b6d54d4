import { join } from 'node:path';
import type { Env } from '../shared/config/config.js';
import { loadSubgraphConfig } from '../shared/config/subgraph-config.js';
import { createLogger } from '../shared/observability/logger.js';
import { openStore } from '../shared/store/orm.js';
import { repoRoot } from '../shared/config/paths.js';
import { withSecrets } from '../shared/config/secrets.js';
import { prepareStore } from '../shared/subgraph/boot.js';
import { hasStore, storeEntities, type SubgraphDefinition } from '../shared/subgraph/definition.js';

/** What `npm run migrate` does (bin/migrate.ts parses the command line). */
export type MigrateCommand = 'up' | 'down' | 'status' | 'seed' | 'create';
/** What `all` may do: nothing that reverts or writes files. */
export const ALL_COMMANDS: readonly MigrateCommand[] = ['up', 'status', 'seed'];

/** Runs one command on one subgraph's store (chosen as for `npm start`), printing what it did. */
export async function migrateSubgraph(
  definition: SubgraphDefinition,
  command: MigrateCommand,
  options: { label?: string; env: Env; print: (line: string) => void },
): Promise<void> {
  const { name } = definition;
  const { print } = options;
  if (!hasStore(definition)) {
    print('No store (the subgraph declares no entities): nothing to migrate or seed.');
    return;
  }
  const parsed = loadSubgraphConfig(name, definition.port, options.env, definition);
  const logger = createLogger(`migrate:${name}`, { ...parsed, logLevel: parsed.logLevel === 'info' ? 'warn' : parsed.logLevel });
  const store = command === 'create' ? ({ kind: 'pglite', dataDir: 'memory://' } as const) : parsed.store;
  const orm = await openStore({ name, store, entities: storeEntities(definition), logger });
  try {
    switch (command) {
      case 'up': {
        const applied = await orm.migrator.up();
        print(applied.length ? `Applied: ${applied.map((m) => m.name).join(', ')}` : 'Nothing to apply.');
        break;
      }
      case 'down': {
        const reverted = await orm.migrator.down();
        print(reverted.length ? `Reverted: ${reverted.map((m) => m.name).join(', ')}` : 'Nothing to revert.');
        break;
      }
      case 'status': {
        const executed = await orm.migrator.getExecuted();
        const pending = await orm.migrator.getPending();
        for (const m of executed) print(`executed  ${m.name}`);
        for (const m of pending) print(`pending   ${m.name}`);
        if (!executed.length && !pending.length) print('No migrations.');
        break;
      }
      case 'seed': {
        // As a subgraph's start prepares its store, so the seed gets the same services (accounts' token issuer).
        const config = await withSecrets({ ...parsed, migrateOnStart: true, seedOnStart: true }, logger);
        const services = definition.createServices?.(config) ?? {};
        const { migrations, seeded } = await prepareStore({ definition, orm, config, logger, services });
        if (migrations.length) print(`Applied: ${migrations.join(', ')}`);
        print(seeded ? 'Seed data inserted.' : 'Not empty (or no seed data): nothing inserted.');
        break;
      }
      case 'create': {
        await orm.migrator.up();
        const result = await orm.migrator.create(join(repoRoot, 'migrations', name), false, false, options.label);
        print(result.fileName ? `Created migrations/${name}/${result.fileName}` : 'Entities and migrations agree; nothing to create.');
        break;
      }
    }
  } finally {
    await orm.close();
  }
}

/**
 * One command on every subgraph, one after another, each line prefixed with the subgraph's
 * name. The first failure stops the rest: docker-compose's one-shot `migrate` service then
 * fails, and no subgraph starts on a half-migrated set of stores.
 */
export async function migrateAll(
  definitions: SubgraphDefinition[],
  command: MigrateCommand,
  options: { env: Env; print: (line: string) => void },
): Promise<void> {
  if (!ALL_COMMANDS.includes(command)) throw new Error(`"all" runs ${ALL_COMMANDS.join(', ')}; ${command} one subgraph at a time.`);
  for (const definition of definitions) {
    await migrateSubgraph(definition, command, { env: options.env, print: (line) => options.print(`${definition.name}: ${line}`) });
  }
}
