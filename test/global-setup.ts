import { randomBytes } from 'node:crypto';
import pg from 'pg';

// Jest loads this file outside its module mapper, so it imports nothing of the project's;
// test/support/postgres.ts takes these two from here.
export const testServerUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const TEST_DATABASE_PREFIX = 'tessera_test_';

/**
 * A new test database's name. It carries the pid of the process that made it, so that a
 * later run clears only what a finished or killed run left, never a run going on beside it.
 */
export function testDatabaseName(label: string): string {
  return `${TEST_DATABASE_PREFIX}${process.pid}_${label.replace(/-/g, '_')}_${randomBytes(4).toString('hex')}`;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Fails fast, with the fix, when PostgreSQL is not there; clears databases a killed run left.
 * Databases of a process still running belong to a run going on beside this one and are left alone.
 */
export default async function globalSetup(): Promise<void> {
  const client = new pg.Client({ connectionString: testServerUrl });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `Tests need PostgreSQL at ${testServerUrl} (set TEST_DATABASE_URL to use another): ${String(error)}.\n` +
        `On this machine: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`,
      { cause: error },
    );
  }
  try {
    const { rows } = await client.query<{ datname: string }>(
      `select datname from pg_database where datname like '${TEST_DATABASE_PREFIX}%'`,
    );
    const left = rows.map(({ datname }) => datname).filter((name) => !isRunning(Number(/^tessera_test_(\d+)_/.exec(name)?.[1] ?? 0)));
    for (const name of left) await client.query(`drop database if exists "${name}"`).catch(() => undefined);
  } finally {
    await client.end();
  }
}
