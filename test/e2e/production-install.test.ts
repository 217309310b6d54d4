import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import pg from 'pg';
import type { Env } from '../../shared/config/config.js';
import { testDatabaseName, testServerUrl } from '../global-setup.js';
import { TEST_JWT_SECRET, TEST_SIGNING_SECRET } from '../support/config.js';
import { adminQuery } from '../support/postgres.js';

/*
 * The Docker image installs production dependencies only (`npm ci --omit=dev`), which leaves
 * PGlite out. Here PGlite's packages are hidden the way that install hides them (importing
 * them fails with ERR_MODULE_NOT_FOUND, and each attempt is recorded), and the production
 * paths run on PostgreSQL as the image runs them: docker-compose's `migrate all up`, then a
 * subgraph serving.
 */
const pgliteImports: string[] = [];
for (const name of ['@mikro-orm/pglite', '@electric-sql/pglite']) {
  jest.unstable_mockModule(name, () => {
    pgliteImports.push(name);
    throw Object.assign(new Error(`Cannot find package '${name}'`), { code: 'ERR_MODULE_NOT_FOUND' });
  });
}

const { migrateAll } = await import('../../tooling/migrations.js');
const { loadSubgraphConfig } = await import('../../shared/config/subgraph-config.js');
const { withSecrets } = await import('../../shared/config/secrets.js');
const { openStore } = await import('../../shared/store/orm.js');
const { startSubgraph } = await import('../../shared/subgraph/boot.js');
const { subgraphs, findSubgraph } = await import('../../subgraphs/index.js');
const { testLogger } = await import('../support/subgraph.js');

const base = testDatabaseName('image');
const databaseUrl = Object.assign(new URL(testServerUrl), { pathname: `/${base}` }).toString();
/** What docker-compose.yml gives the migrate service and the subgraphs (metrics off: no fixed port here). */
const env: Env = {
  NODE_ENV: 'production',
  LOG_LEVEL: 'silent',
  DATABASE_URL: databaseUrl,
  SUBGRAPH_SIGNING_SECRET: TEST_SIGNING_SECRET,
  JWT_SECRET: TEST_JWT_SECRET,
  MIGRATE_ON_START: 'false',
  SEED_ON_START: 'false',
  METRICS: 'false',
};

describe('a production install, without PGlite', () => {
  const databases = subgraphs.map(({ name }) => `${base}_${name.replace(/-/g, '_')}`);
  // A connection to each database keeps a concurrent run's global setup from dropping it between steps.
  const holders: pg.Client[] = [];
  const lines: string[] = [];
  beforeAll(async () => {
    for (const database of databases) {
      await adminQuery(`create database "${database}"`);
      const holder = new pg.Client({ connectionString: Object.assign(new URL(testServerUrl), { pathname: `/${database}` }).toString() });
      // A server-side end of the connection (a test restarting things) must not crash the suite.
      holder.on('error', () => undefined);
      await holder.connect();
      holders.push(holder);
    }
    await migrateAll(subgraphs, 'up', { env, print: (line) => lines.push(line) });
  }, 120_000);
  afterAll(async () => {
    await Promise.all(holders.map((holder) => holder.end()));
    for (const database of databases) await adminQuery(`drop database if exists "${database}" with (force)`);
  });

  it('migrates every subgraph once, in its own database, without loading PGlite', async () => {
    expect(lines).toEqual(subgraphs.map(({ name }) => expect.stringMatching(new RegExp(`^${name}: Applied: Migration`))));
    const again: string[] = [];
    await migrateAll(subgraphs, 'up', { env, print: (line) => again.push(line) });
    expect(again).toEqual(subgraphs.map(({ name }) => `${name}: Nothing to apply.`));
    expect(pgliteImports).toEqual([]);
  }, 120_000);

  it('serves a subgraph on the migrated store, neither migrating nor seeding, without loading PGlite', async () => {
    const catalog = findSubgraph('catalog');
    const parsed = loadSubgraphConfig(catalog.name, catalog.port, { ...env, CATALOG_PORT: '0' });
    const config = { ...(await withSecrets(parsed, testLogger)), host: '127.0.0.1' };
    expect(config).toMatchObject({ migrateOnStart: false, seedOnStart: false, store: { kind: 'postgresql', dbName: `${base}_catalog` } });
    const running = await startSubgraph({ definition: catalog, config, logger: testLogger });
    try {
      const ready = await fetch(new URL('/ready', running.url));
      expect(ready.status).toBe(200);
      const { rows } = await holders[databases.indexOf(`${base}_catalog`)]!.query<{ count: string }>('select count(*) from product');
      // Migrated, and empty: the subgraph did not seed.
      expect(rows).toEqual([{ count: '0' }]);
    } finally {
      await running.stop();
    }
    expect(pgliteImports).toEqual([]);
  });

  it("seeds the demo data once, on request (compose's `migrate all seed`)", async () => {
    const seeded: string[] = [];
    await migrateAll(subgraphs, 'seed', { env, print: (line) => seeded.push(line) });
    expect(seeded).toEqual(
      subgraphs.map(({ name, seed }) => `${name}: ${seed ? 'Seed data inserted.' : 'Not empty (or no seed data): nothing inserted.'}`),
    );
    const again: string[] = [];
    await migrateAll(subgraphs, 'seed', { env, print: (line) => again.push(line) });
    expect(again).toEqual(subgraphs.map(({ name }) => `${name}: Not empty (or no seed data): nothing inserted.`));
    const { rows } = await holders[databases.indexOf(`${base}_catalog`)]!.query<{ count: string }>('select count(*) from product');
    expect(rows).toEqual([{ count: '20' }]);
    expect(pgliteImports).toEqual([]);
  }, 120_000);

  it('says which variable to set when a store would be PGlite', async () => {
    const open = openStore({
      name: 'catalog',
      store: { kind: 'pglite', dataDir: 'memory://' },
      entities: findSubgraph('catalog').entities!,
      logger: testLogger,
    });
    await expect(open).rejects.toThrow(/DATABASE_URL: unset, so the store is PGlite, which this install leaves out/);
    // Whichever of PGlite's packages the store's module loads first is the one found missing.
    expect(pgliteImports.length).toBeGreaterThan(0);
  });
});
