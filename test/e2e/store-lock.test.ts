import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { openStore } from '../../shared/store/orm.js';
import { repoRoot } from '../../shared/config/paths.js';
import { STORE_LOCK_FILE } from '../../shared/store/store-lock.js';
import { findSubgraph } from '../../subgraphs/index.js';
import { capturingLogger } from '../support/logger.js';
import { testLogger } from '../support/subgraph.js';

/*
 * PGlite is PostgreSQL inside one process: a second process on the same folder works on a
 * copy that one of the two later overwrites. So a store is locked by the process that opens
 * it, and `npm run migrate` beside a running `npm start` is refused instead of "Applied".
 */

const run = promisify(execFile);
const SUBGRAPH = 'catalog';
const definition = findSubgraph(SUBGRAPH);

let dataDir: string;
const storeDir = () => join(dataDir, SUBGRAPH);
const open = (logger = testLogger) =>
  openStore({ name: SUBGRAPH, store: { kind: 'pglite', dataDir: storeDir() }, entities: definition.entities!, logger });

/** `npm run migrate -- catalog <command>` on the built script, on this test's DATA_DIR and no PostgreSQL. */
async function migrate(command: string): Promise<{ code: number; output: string }> {
  const { DATABASE_URL: _shared, CATALOG_DATABASE_URL: _own, ...env } = process.env;
  try {
    const { stdout, stderr } = await run(process.execPath, [join(repoRoot, 'dist/bin/migrate.js'), SUBGRAPH, command], {
      cwd: repoRoot,
      env: { ...env, DATA_DIR: dataDir, NODE_ENV: 'development', LOG_LEVEL: 'warn' },
      timeout: 120_000,
    });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
    return { code, output: stdout + stderr };
  }
}

beforeAll(async () => {
  // What `npm run migrate` does first, so that the child runs this tree's code.
  await run(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: repoRoot });
  dataDir = await mkdtemp(join(tmpdir(), 'tessera-lock-'));
}, 120_000);

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('a PGlite store open in one process', () => {
  it('refuses `npm run migrate` from another, naming the process and what to do, and changes nothing; after close, it opens', async () => {
    const orm = await open();
    let closed = false;
    try {
      const refused = await migrate('up');
      expect(refused.output).not.toContain('Applied');
      expect(refused.code).not.toBe(0);
      expect(refused.output).toContain(`is in use by process ${process.pid}`);
      expect(refused.output).toMatch(/stop that process first.*MIGRATE_ON_START/s);
      // The lock is this process's: the refused one neither took it nor removed it.
      expect((await readFile(join(storeDir(), STORE_LOCK_FILE), 'utf8')).trim()).toBe(String(process.pid));

      await orm.close();
      closed = true;
      expect(existsSync(join(storeDir(), STORE_LOCK_FILE))).toBe(false);

      // Nothing was applied by the refused run; now the store opens, and migrates.
      const status = await migrate('status');
      expect(status).toMatchObject({ code: 0 });
      expect(status.output).toMatch(/^pending {3}Migration/m);
      expect(status.output).not.toMatch(/^executed/m);
      const up = await migrate('up');
      expect(up).toMatchObject({ code: 0, output: expect.stringContaining('Applied: Migration') });
      expect(existsSync(join(storeDir(), STORE_LOCK_FILE))).toBe(false);
    } finally {
      if (!closed) await orm.close();
    }
  }, 180_000);

  it('refuses a second open in the same process until the first is closed', async () => {
    const orm = await open();
    try {
      await expect(open()).rejects.toThrow(/is already open in this process/);
    } finally {
      await orm.close();
    }
    const again = await open();
    await again.close();
  });

  it('takes over the lock of a process that is gone, with a log line', async () => {
    // A pid that existed and has exited.
    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    expect(gone).toBeGreaterThan(0);
    await writeFile(join(storeDir(), STORE_LOCK_FILE), `${gone}\n`);

    const { logger, lines } = capturingLogger('warn', { service: 'test' });
    const orm = await open(logger);
    try {
      expect((await readFile(join(storeDir(), STORE_LOCK_FILE), 'utf8')).trim()).toBe(String(process.pid));
      expect(lines).toContainEqual(
        expect.objectContaining({ level: 40, stalePid: gone, msg: expect.stringContaining('taking over the lock') }),
      );
      expect(await orm.migrator.getPending()).toEqual([]);
    } finally {
      await orm.close();
    }
    expect(existsSync(join(storeDir(), STORE_LOCK_FILE))).toBe(false);
  });
});
