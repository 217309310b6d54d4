import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { StoreConfig } from '../../shared/config/config.js';

import { TEST_DATABASE_PREFIX, testServerUrl } from '../global-setup.js';

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
  const dbName = `${TEST_DATABASE_PREFIX}${subgraph.replace(/-/g, '_')}_${randomBytes(4).toString('hex')}`;
  const clientUrl = new URL(testServerUrl);
  clientUrl.pathname = '/postgres';
  return {
    store: { kind: 'postgresql', clientUrl: clientUrl.toString(), dbName },
    drop: async () => {
      await adminQuery(`drop database if exists "${dbName}" with (force)`);
    },
  };
}
