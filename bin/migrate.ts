import { ALL_COMMANDS, migrateAll, migrateSubgraph, type MigrateCommand } from '../tooling/migrations.js';
import { findSubgraph, subgraphs } from '../subgraphs/index.js';

const COMMANDS: MigrateCommand[] = ['up', 'down', 'status', 'seed', 'create'];

const usage = `Usage: npm run migrate -- <subgraph|all> <up|down|status|seed|create [name]>
  up       apply pending migrations
  down     revert the last migration
  status   list executed and pending migrations
  seed     apply pending migrations, then insert the seed data when the store is empty
           (demo data with a published password: not for production)
  create   write a migration with the difference between the entities and the migrations
           (computed on a scratch in-memory PGlite store, so no database is touched)
Subgraphs: ${subgraphs.map((s) => s.name).join(', ')}; \`all\`: each in turn (${ALL_COMMANDS.join(', ')}).
The store is chosen as for \`npm start\` (DATABASE_URL / <NAME>_DATABASE_URL, else PGlite under DATA_DIR).`;

async function main(argv: string[]): Promise<number> {
  const [name, command, label] = argv as [string?, MigrateCommand?, string?];
  if (!name || !command || !(name === 'all' ? ALL_COMMANDS : COMMANDS).includes(command)) {
    console.error(usage);
    return 2;
  }
  const print = (line: string) => console.log(line);
  if (name === 'all') await migrateAll(subgraphs, command, { env: process.env, print });
  else await migrateSubgraph(findSubgraph(name), command, { label, env: process.env, print });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
