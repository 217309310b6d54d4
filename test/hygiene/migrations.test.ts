import { describe, expect, it } from '@jest/globals';
import { loadMigrations, openStore } from '../../shared/store/orm.js';
import { hasStore, storeEntities } from '../../shared/subgraph/definition.js';
import { subgraphs } from '../../subgraphs/index.js';
import { freshStore } from '../support/postgres.js';
import { testLogger } from '../support/subgraph.js';

async function tablesOf(orm: Awaited<ReturnType<typeof openStore>>): Promise<string[]> {
  const rows = await orm.em
    .fork()
    .execute<{ table_name: string }[]>(
      `select table_name from information_schema.tables where table_schema = 'public' order by table_name`,
    );
  return rows.map((row) => row.table_name);
}

// A storeless subgraph has no migrations.
describe.each(subgraphs.filter(hasStore).map((s) => [s.name, s] as const))('migrations of %s on PostgreSQL', (name, definition) => {
  it('go up, down to nothing and up again, and leave no difference from the entities', async () => {
    const { store, drop } = freshStore(name);
    const orm = await openStore({ name, store, entities: storeEntities(definition), logger: testLogger });
    try {
      const migrations = await loadMigrations(name);
      expect(migrations.length).toBeGreaterThan(0);
      const entityTables = definition.entities.map((entity) => orm.getMetadata().get(entity as never).tableName).sort();

      expect((await orm.migrator.up()).map((m) => m.name)).toEqual(migrations.map((m) => m.name));
      expect(await orm.migrator.checkSchema()).toBe(false);
      expect(await tablesOf(orm)).toEqual(expect.arrayContaining(entityTables));

      await orm.migrator.down({ to: 0 });
      expect(await orm.migrator.getExecuted()).toEqual([]);
      expect((await tablesOf(orm)).filter((table) => entityTables.includes(table))).toEqual([]);

      await orm.migrator.up();
      expect(await orm.migrator.getPending()).toEqual([]);
      expect(await orm.migrator.checkSchema()).toBe(false);
    } finally {
      await orm.close();
      await drop();
    }
  });
});
