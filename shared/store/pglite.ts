import { cpSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import type { Options } from '@mikro-orm/core';
import { MikroORM as PgliteMikroORM } from '@mikro-orm/pglite';
import type { Logger } from '../observability/logger.js';
import type { Orm } from './orm.js';
import { lockStore, type StoreLock } from './store-lock.js';

/**
 * How Tessera runs PGlite, the embedded store of `npm start` and the tests: small, and fast to
 * create. Measured here (2 cores) on one store, RSS of a bare process 51 MB:
 * - PostgreSQL's own buffers: PGlite's `initdb` leaves `shared_buffers` at 128 MB, all of which
 *   a running store ends up touching in its WASM memory. A demo's tables are a few hundred rows,
 *   so 8 MB is plenty (-70 to -130 MB per store; 8 MB against 16 MB: -10 MB).
 * - V8 compiles PGlite's 10 MB WASM module twice: Liftoff (baseline) at once, then TurboFan in
 *   the background for hot functions. TurboFan's code and its compiler's working memory are
 *   about 100 MB of RSS per process, with peaks of 700 MB while it compiles; Liftoff alone
 *   is smaller and does not spend a core compiling; its SQL is slower, which the demo's small
 *   statements do not notice (`pgliteEngine` below).
 * - `initdb` (a second WASM instance, 4–8 s and a 1.1 GB peak) runs once per data folder, for a
 *   template that each new store is copied from (`preparePgliteFolder`).
 * PostgreSQL stores are untouched by all of this.
 */

/** PGlite's own start parameters (single-user mode, no workers), plus smaller buffers. */
const PGLITE_START_PARAMS = [
  ...PGlite.defaultStartParams,
  '-c',
  'shared_buffers=8MB',
  '-c',
  'wal_buffers=1MB',
  '-c',
  'maintenance_work_mem=16MB',
];

/** The PGlite options every store is opened with (MikroORM passes `driverOptions` on to `PGlite.create`). */
const pgliteOptions: Partial<PGliteOptions> = { startParams: PGLITE_START_PARAMS };

let engineSet = false;

/**
 * Keeps V8 to its baseline WASM compiler for this process. V8 reads these flags when it
 * compiles a module, so setting them before the first PGlite is created is enough (checked:
 * 136–147 MB after opening a store, against 190–324 MB without). They touch nothing but
 * WebAssembly, which only PGlite uses here.
 */
function pgliteEngine(): void {
  if (engineSet) return;
  setFlagsFromString('--no-wasm-tier-up');
  setFlagsFromString('--no-wasm-dynamic-tiering');
  engineSet = true;
}

/** The template store beside the stores of a data folder: an empty cluster just out of `initdb`. */
export function pgliteTemplateDir(dataDir: string): string {
  return join(dirname(dataDir), '.pglite-template');
}

const isCluster = (dir: string) => existsSync(join(dir, 'PG_VERSION'));

/**
 * Creates the template of a data folder once (`initdb`, then closed). Built under a temporary
 * name and renamed into place, so processes that race to build it never see half of one: the
 * first rename wins and the others drop their copy.
 */
export async function ensurePgliteTemplate(storeDir: string): Promise<void> {
  const template = pgliteTemplateDir(storeDir);
  if (isCluster(template)) return;
  pgliteEngine();
  mkdirSync(dirname(template), { recursive: true });
  const building = mkdtempSync(`${template}.building-`);
  try {
    const pglite = await PGlite.create({ dataDir: building, ...pgliteOptions });
    await pglite.close();
    try {
      renameSync(building, template);
    } catch (error) {
      if (!isCluster(template)) throw error;
    }
  } finally {
    rmSync(building, { recursive: true, force: true });
  }
}

/**
 * Makes a PGlite store's folder ready to open: a folder that holds no cluster yet gets a copy
 * of the template (a few MB, well under a second) instead of running `initdb` itself.
 */
async function preparePgliteFolder(storeDir: string): Promise<void> {
  pgliteEngine();
  if (isCluster(storeDir)) return;
  await ensurePgliteTemplate(storeDir);
  cpSync(pgliteTemplateDir(storeDir), storeDir, { recursive: true });
}

/** A PGlite store that holds its folder's lock (shared/store/store-lock.ts) until closed. */
class LockedPgliteMikroORM extends PgliteMikroORM {
  lock: StoreLock | undefined;

  override async close(force?: boolean): Promise<void> {
    try {
      await super.close(force);
    } finally {
      this.lock?.release();
    }
  }
}

/** Opens a PGlite store (`openStore` in shared/store/orm.ts): in memory, or a folder it locks. */
export async function openPgliteStore(dataDir: string, base: Partial<Options>, logger: Logger): Promise<Orm> {
  const options: Partial<Options> = { ...base, dbName: dataDir, driverOptions: pgliteOptions };
  pgliteEngine();
  if (dataDir.startsWith('memory:')) return (await PgliteMikroORM.init(options)) as unknown as Orm;
  mkdirSync(dataDir, { recursive: true });
  const lock = lockStore(dataDir, logger);
  try {
    // Under the lock: a new store is a copy of the data folder's template, not a fresh initdb.
    await preparePgliteFolder(dataDir);
    // MikroORM.init builds `new this`: an instance of the subclass.
    const orm = (await LockedPgliteMikroORM.init(options)) as LockedPgliteMikroORM;
    orm.lock = lock;
    return orm as unknown as Orm;
  } catch (error) {
    lock.release();
    throw error;
  }
}
