import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import type { SupergraphManager, SupergraphSdlUpdateFunction } from '@apollo/gateway';
import type { Logger } from '../../shared/observability/logger.js';
import { forApolloGateway } from './supergraph.js';

/** The supergraph being served: which one (hash), how many swaps so far (version, from 1). */
interface LoadedSupergraph {
  hash: string;
  version: number;
  /** The SDL as handed to the gateway. */
  sdl: string;
}

export type ReloadOutcome =
  | { outcome: 'reloaded'; hash: string; previousHash: string; version: number }
  | { outcome: 'unchanged'; hash: string }
  | { outcome: 'failed'; error: string };

interface ReloadableSupergraphOptions {
  /** What the SDL comes from, for the log: a path, or `composed from subgraphs`. */
  source: string;
  /** Reads (or composes) the supergraph SDL as composed; throws when it cannot. */
  load(): Promise<string>;
  /** A file whose folder is watched; any change there triggers a reload. Unset: nothing watched. */
  watchPath?: string;
  /** Reload this often as well (a fallback to the watch, or development's re-composition); 0: never. */
  pollIntervalMs: number;
  logger: Logger;
  /** How long a burst of file events is let settle before reading. Default 200. */
  debounceMs?: number;
}

/**
 * The gateway's supergraph, reloadable while it serves: an @apollo/gateway supergraph manager.
 * Each reload loads the SDL again and, when it changed, hands it to the gateway's `update`,
 * which swaps schema and query planner at once: requests already running keep the schema they
 * started with, later ones get the new one, none is dropped. A supergraph that fails to load,
 * parse or build leaves the previous one serving, with an error in the log.
 */
export interface ReloadableSupergraph extends SupergraphManager {
  current(): LoadedSupergraph | undefined;
  /** Loads now and swaps when it changed; what a file change or the poll timer does. */
  reload(): Promise<ReloadOutcome>;
  /** Called after every reload that swapped or failed. */
  onReload(listener: (outcome: ReloadOutcome) => void): () => void;
}

function hashOf(sdl: string): string {
  return createHash('sha256').update(sdl).digest('hex').slice(0, 16);
}

export function reloadableSupergraph({
  source,
  load,
  watchPath,
  pollIntervalMs,
  logger,
  debounceMs = 200,
}: ReloadableSupergraphOptions): ReloadableSupergraph {
  let current: LoadedSupergraph | undefined;
  let update: SupergraphSdlUpdateFunction | undefined;
  let stopped = false;
  let inFlight: Promise<ReloadOutcome> | undefined;
  let again = false;
  let lastFailure: string | undefined;
  const listeners = new Set<(outcome: ReloadOutcome) => void>();
  const timers: { poll?: NodeJS.Timeout; debounce?: NodeJS.Timeout } = {};
  let watcher: FSWatcher | undefined;

  const loadForGateway = async () => forApolloGateway(await load());

  async function check(): Promise<ReloadOutcome> {
    let outcome: ReloadOutcome;
    try {
      const sdl = await loadForGateway();
      const hash = hashOf(sdl);
      if (stopped || !update || !current) return { outcome: 'unchanged', hash: current?.hash ?? hash };
      if (hash === current.hash) {
        lastFailure = undefined;
        return { outcome: 'unchanged', hash };
      }
      // Builds the new schema and planner synchronously, and throws (changing nothing) when the SDL is not a valid supergraph.
      update(sdl);
      const previousHash = current.hash;
      current = { hash, version: current.version + 1, sdl };
      lastFailure = undefined;
      logger.info({ hash, previousHash, version: current.version, source }, 'supergraph reloaded');
      outcome = { outcome: 'reloaded', hash, previousHash, version: current.version };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // Polling a broken source would repeat the same error every interval: say it once.
      if (message !== lastFailure)
        logger.error({ err: message, source, servingHash: current?.hash }, 'supergraph reload failed; still serving the previous one');
      lastFailure = message;
      outcome = { outcome: 'failed', error: message };
    }
    for (const listener of listeners) {
      try {
        listener(outcome);
      } catch (error) {
        logger.error({ err: error }, 'a supergraph reload listener failed');
      }
    }
    return outcome;
  }

  /** One check at a time; a request during one runs once more after it (the file may have changed again). */
  function reload(): Promise<ReloadOutcome> {
    if (inFlight) {
      again = true;
      return inFlight;
    }
    inFlight = check().finally(() => {
      inFlight = undefined;
      if (again && !stopped) {
        again = false;
        void reload();
      }
    });
    return inFlight;
  }

  function schedulePoll(): void {
    if (stopped || pollIntervalMs <= 0) return;
    timers.poll = setTimeout(() => void reload().finally(schedulePoll), pollIntervalMs);
    timers.poll.unref();
  }

  return {
    async initialize(hooks) {
      const supergraphSdl = await loadForGateway();
      update = hooks.update;
      current = { hash: hashOf(supergraphSdl), version: 1, sdl: supergraphSdl };
      if (watchPath) {
        // The folder, not the file: a deploy that replaces the file (rename, a ConfigMap's
        // symlink swap) would leave a watch on the old file seeing nothing.
        watcher = watch(dirname(watchPath), () => {
          clearTimeout(timers.debounce);
          timers.debounce = setTimeout(() => void reload(), debounceMs);
        });
        watcher.on('error', (error) =>
          logger.warn({ err: error.message, path: watchPath }, 'cannot watch the supergraph file; polling only'),
        );
      }
      schedulePoll();
      return {
        supergraphSdl,
        cleanup: async () => {
          stopped = true;
          watcher?.close();
          clearTimeout(timers.poll);
          clearTimeout(timers.debounce);
          await inFlight;
        },
      };
    },
    current: () => current,
    reload,
    onReload(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
