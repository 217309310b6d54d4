import { linkSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../observability/logger.js';

/** The lock's file inside a PGlite store's folder (PostgreSQL ignores files it does not know). */
export const STORE_LOCK_FILE = 'tessera.lock';

/** A PGlite store is open in another process (or already in this one). */
class StoreLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      pid === process.pid
        ? `The PGlite store ${dataDir} is already open in this process; close it before opening it again.`
        : `The PGlite store ${dataDir} is in use by process ${pid} (${join(dataDir, STORE_LOCK_FILE)}). ` +
            'PGlite allows one process per store: stop that process first (a running `npm start` applies ' +
            'pending migrations itself when MIGRATE_ON_START is on, the default), or point DATABASE_URL at PostgreSQL.',
    );
    this.name = 'StoreLockedError';
  }
}

export interface StoreLock {
  /** Removes the lock file; a second call does nothing. */
  release(): void;
}

/** Folders this process holds, so that a lock naming our own pid is told apart from a stale one (pid 1 in a container). */
const held = new Set<string>();

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Takes a PGlite store for this process. PGlite runs PostgreSQL inside the process with no
 * locking of its own, so two processes on one folder (a `npm run migrate` beside a running
 * `npm start`) each work on their own copy, and the last to write wins: the lock refuses
 * the second. The file is created exclusively and holds the pid; a lock whose process is
 * gone (a crash, a kill) is taken over. It is removed on release and at process exit.
 */
export function lockStore(dataDir: string, logger: Logger): StoreLock {
  const file = join(dataDir, STORE_LOCK_FILE);
  if (held.has(file)) throw new StoreLockedError(dataDir, process.pid);
  // Created whole (written aside, then linked, which fails if the name exists), so that a lock
  // is never seen empty. A second attempt follows the removal of a stale lock; finding a lock
  // again then means another process took it over first.
  for (let attempt = 0; ; attempt++) {
    const pending = `${file}.${process.pid}`;
    writeFileSync(pending, `${process.pid}\n`);
    try {
      linkSync(pending, file);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      unlinkSync(pending);
    }
    const pid = readPid(file);
    // Our own pid that we do not hold is a previous life of this pid (a restarted container).
    const stale = pid === undefined || pid === process.pid || !isRunning(pid);
    if (!stale || attempt > 0) throw new StoreLockedError(dataDir, pid ?? 0);
    logger.warn({ dataDir, stalePid: pid ?? null }, 'taking over the lock of a PGlite store whose process is gone');
    rmSync(file, { force: true });
  }
  held.add(file);
  const release = () => {
    if (!held.delete(file)) return;
    process.off('exit', release);
    try {
      // Only our own: a lock taken over meanwhile (we were presumed dead) is not ours to remove.
      if (readPid(file) === process.pid) unlinkSync(file);
    } catch {
      // Gone already.
    }
  };
  // A process that exits without closing its store (an uncaught error) does not leave its lock behind.
  process.on('exit', release);
  return { release };
}
