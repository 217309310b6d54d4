import pg from 'pg';

// Jest loads this file outside its module mapper, so it imports nothing of the project's;
// test/support/postgres.ts takes these two from here.
export const testServerUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_DATABASE_PREFIX = 'tessera_test_';

/**
 * Fails fast, with the fix, when PostgreSQL is not there; clears databases a killed run left.
 * Databases still in use belong to a run going on beside this one and are left alone.
 */
export default async function globalSetup(): Promise<void> {
  const client = new pg.Client({ connectionString: testServerUrl });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `Tests need PostgreSQL at ${testServerUrl} (set TEST_DATABASE_URL to use another): ${String(error)}.\n` +
        `On this machine: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`,
    );
  }
  try {
    const { rows } = await client.query<{ datname: string }>(`select datname from pg_database where datname like '${TEST_DATABASE_PREFIX}%'`);
    for (const { datname } of rows) await client.query(`drop database if exists "${datname}"`).catch(() => undefined);
  } finally {
    await client.end();
  }
}
