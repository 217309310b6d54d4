import { createRequire } from 'node:module';
import type { Cluster, Redis } from 'ioredis';
import type { RedisConfig } from '../config/config.js';
import { throttledWarn, type Logger } from '../observability/logger.js';

export type RedisClient = Redis | Cluster;

/**
 * One Redis connection (or Cluster) for a process, made from config and passed to whatever
 * needs it. Commands fail fast while Redis is away (no offline queue, a short timeout), so
 * callers can step aside instead of hanging; the client keeps reconnecting by itself.
 */
export function createRedisClient(config: RedisConfig, logger: Logger): RedisClient | undefined {
  const options = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 500,
    connectTimeout: 2000,
    retryStrategy: (attempt: number) => Math.min(attempt * 200, 2000),
  };
  if (!config.clusterNodes && !config.url) return undefined;
  // Loaded only when Redis is configured (it is CommonJS, so `require` gives the one instance
  // an `import` would): without Redis, as under `npm start`, each process is 7 MB lighter.
  const ioredis = createRequire(import.meta.url)('ioredis') as typeof import('ioredis');
  const client: RedisClient = config.clusterNodes
    ? new ioredis.Cluster(config.clusterNodes, { redisOptions: options, enableOfflineQueue: false })
    : new ioredis.Redis(config.url!, options);
  const warn = throttledWarn(logger);
  // Without a listener ioredis would throw its connection errors at the process.
  client.on('error', (error: Error) => warn({ err: error.message }, 'redis unavailable; caches step aside until it is back'));
  client.on('ready', () => logger.info('redis connected'));
  return client;
}

/**
 * Waits (at most `timeoutMs`) for the first connection, so a process does not start serving
 * with its caches and limits stepping aside; says whether Redis is there.
 */
export async function redisReady(client: RedisClient, timeoutMs: number): Promise<boolean> {
  if (client.status === 'ready') return true;
  return new Promise((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      resolve(ready);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    client.once('ready', onReady);
  });
}

/** Whether Redis answers now (a PING within the client's short command timeout): for readiness. */
export async function redisState(client: RedisClient): Promise<'up' | 'down'> {
  if (client.status !== 'ready') return 'down';
  return client.ping().then(
    () => 'up',
    () => 'down',
  );
}

/**
 * A pub/sub subscriber beside `redis`: unlike the process's client it waits for Redis, so a
 * SUBSCRIBE made while Redis is away is sent once it is back (a failed one would leave its
 * listeners deaf for good), and every channel is subscribed again on reconnect.
 */
export function waitingSubscriber(redis: RedisClient): RedisClient {
  const waiting = { enableOfflineQueue: true, maxRetriesPerRequest: null, commandTimeout: undefined };
  return redis.isCluster
    ? (redis as Cluster).duplicate([], {
        enableOfflineQueue: true,
        redisOptions: { ...(redis as Cluster).options.redisOptions, ...waiting },
      })
    : (redis as Redis).duplicate(waiting);
}
