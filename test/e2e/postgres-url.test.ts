import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from '@jest/globals';
import { loadSubgraphConfig } from '../../shared/config/subgraph-config.js';
import { openStore, type Orm } from '../../shared/store/orm.js';
import { findSubgraph } from '../../subgraphs/index.js';
import { testDatabaseName, testServerUrl } from '../global-setup.js';
import { adminQuery } from '../support/postgres.js';
import { testLogger } from '../support/subgraph.js';

/*
 * DATABASE_URL's query reaches the subgraphs' connections: MikroORM builds its connection from
 * the URL's server, user and database alone, and used to drop `?sslmode=require` silently.
 */

const SUBGRAPH = 'catalog';
const definition = findSubgraph(SUBGRAPH);
const base = testDatabaseName('url');
const databases: string[] = [];

/** The catalog subgraph's store as `npm start` configures it from DATABASE_URL (`<database>_catalog`). */
function storeFrom(query: string) {
  const url = new URL(testServerUrl);
  url.pathname = `/${base}_${databases.length}`;
  url.search = query;
  const { store } = loadSubgraphConfig(SUBGRAPH, 0, { DATABASE_URL: url.toString() });
  if (store.kind !== 'postgresql') throw new Error('expected a PostgreSQL store');
  databases.push(store.dbName);
  return store;
}

async function select1(orm: Orm): Promise<void> {
  await orm.em.fork().execute('select 1');
}

afterAll(async () => {
  for (const database of databases) await adminQuery(`drop database if exists "${database}" with (force)`);
});

describe('the query of DATABASE_URL on a real PostgreSQL server', () => {
  it("names the subgraph's connections with application_name, and sslmode=disable connects", async () => {
    const name = `tessera-url-${randomBytes(3).toString('hex')}`;
    const store = storeFrom(`?sslmode=disable&application_name=${name}`);
    const orm = await openStore({ name: SUBGRAPH, store, entities: definition.entities!, logger: testLogger });
    try {
      await orm.migrator.up();
      await select1(orm);
      const { rows } = await adminQuery(`select application_name from pg_stat_activity where datname = '${store.dbName}'`);
      expect(rows.length).toBeGreaterThan(0);
      expect(new Set(rows.map((row: { application_name: string }) => row.application_name))).toEqual(new Set([name]));
    } finally {
      await orm.close();
    }
  });

  it('refuses a plaintext connection when the URL says sslmode=require and the server has no TLS', async () => {
    const { rows } = await adminQuery('show ssl');
    // The local server runs without TLS; with it, this case says nothing.
    expect(rows[0]).toEqual({ ssl: 'off' });
    const store = storeFrom('?sslmode=require');
    const attempt = async () => {
      const orm = await openStore({ name: SUBGRAPH, store, entities: definition.entities!, logger: testLogger });
      try {
        await select1(orm);
      } finally {
        await orm.close();
      }
    };
    await expect(attempt()).rejects.toThrow(/The server does not support SSL connections/);
    const { rows: created } = await adminQuery(`select 1 from pg_database where datname = '${store.dbName}'`);
    expect(created).toEqual([]);
  });
});
