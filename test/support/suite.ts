import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from '@jest/globals';

/**
 * Starts `start()` before the tests of the enclosing `describe` (or file) and stops it after them.
 * The handle stands for what was started: it reads through to it, and throws if read before it is.
 */
export function startedForSuite<T extends { stop(): Promise<void> }>(start: () => Promise<T>): T {
  let started: T | undefined;
  beforeAll(async () => {
    started = await start();
  });
  afterAll(async () => {
    await started?.stop();
  });
  return new Proxy({} as T, {
    get(_, property) {
      if (!started) throw new Error(`read ${String(property)} of what a suite starts before it started`);
      const value: unknown = Reflect.get(started, property);
      return typeof value === 'function' ? value.bind(started) : value;
    },
  });
}

/**
 * A fresh temporary folder (named from `prefix`) for the enclosing suite's tests, removed after them.
 * The returned function gives a path inside it (the folder itself with no segments).
 */
export function temporaryFolderForSuite(prefix: string): (...segments: string[]) => string {
  let folder: string | undefined;
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    if (folder) await rm(folder, { recursive: true, force: true });
  });
  return (...segments) => {
    if (!folder) throw new Error(`read the ${prefix} folder before the suite made it`);
    return join(folder, ...segments);
  };
}
