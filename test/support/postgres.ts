import pg from 'pg';
import type { StoreConfig } from '../../shared/config/subgraph-config.js';

import { testDatabaseName, testServerUrl } from '../global-setup.js';

export async function adminQuery(sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: testServerUrl });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A fresh database of its own for one suite's subgraph; MikroORM creates it on first connect. */
export function freshStore(subgraph: string): { store: StoreConfig; drop(): Promise<void> } {
  const dbName = testDatabaseName(subgraph);
  const clientUrl = new URL(testServerUrl);
  clientUrl.pathname = '/postgres';
  return {
    store: { kind: 'postgresql', clientUrl: clientUrl.toString(), dbName },
    drop: async () => {
      await adminQuery(`drop database if exists "${dbName}" with (force)`);
    },
  };
}
