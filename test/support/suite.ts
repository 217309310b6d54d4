import { afterAll, beforeAll } from '@jest/globals';

/**
 * Starts `start()` before the tests of the enclosing `describe` (or file) and stops it after them.
 * The handle stands for what was started: it reads through to it, and throws if read before it is.
 */
export function startedForSuite<T extends { stop(): Promise<void> }>(start: () => Promise<T>, timeoutMs?: number): T {
  let started: T | undefined;
  beforeAll(async () => {
    started = await start();
  }, timeoutMs);
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

