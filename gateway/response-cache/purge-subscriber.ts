import type { GraphQLSchema } from 'graphql';
import { allFieldsOf } from '../../shared/cache-tags/cache-tags.js';
import { onProcessPurges, purgeChannel, purgeMessage, type PurgeMessage } from '../../shared/cache-tags/purge-channel.js';
import type { HubChannel } from '../../shared/ipc/supervisor-hub.js';
import { throttledWarn, type Logger } from '../../shared/observability/logger.js';
import { waitingSubscriber, type RedisClient } from '../../shared/redis/redis.js';
import type { ResponseCacheObserver } from './plugin.js';
import type { ResponseCacheStore } from './store.js';

export interface PurgeSubscriberOptions {
  store: ResponseCacheStore;
  /** The gateway's connection: the subscriber is a second one made like it. None: the process's own channel only. */
  redis: RedisClient | undefined;
  redisPrefix: string;
  /** Without Redis, under `npm start`: the supervisor's hub, on which the subgraphs' processes send their jobs' purges. */
  hub?: HubChannel;
  /** The schema served now: a job's "every field of Product" becomes each field Product has in it. */
  schema: () => GraphQLSchema | undefined;
  logger: Logger;
  observer?: ResponseCacheObserver;
}

export interface PurgeSubscriber {
  /** Resolves once Redis confirmed the subscription (at once without Redis): purges sent from then on are heard. */
  ready: Promise<void>;
  close(): void;
}

/**
 * Applies the purges subgraph jobs publish (shared/cache-tags/purge-channel.ts) to this gateway's response cache,
 * through the store's own purge: the tagged answers go and the epoch moves, so a read that overlapped the job's
 * write is not stored. On Redis the subscriber connection waits for Redis and subscribes again after a reconnect;
 * a purge sent while it was away is not heard (with the Redis store another gateway may have applied it; else the
 * answers show after their `max-age`). A store that fails to purge owes it (redis-store.ts) and serves nothing meanwhile.
 */
export function subscribeToPurges({ store, redis, redisPrefix, hub, schema, logger, observer }: PurgeSubscriberOptions): PurgeSubscriber {
  const warn = throttledWarn(logger);
  const apply = (raw: unknown) => {
    const parsed = purgeMessage.safeParse(raw);
    if (!parsed.success) {
      warn({ issues: parsed.error.issues.length }, 'a response-cache purge message is malformed; dropped');
      return;
    }
    const message: PurgeMessage = parsed.data;
    const served = schema();
    const tags = served ? allFieldsOf(served, message.tags) : message.tags;
    store.purge(tags).then(
      () => observer?.purge('done'),
      (error: Error) => {
        observer?.purge('deferred');
        warn({ err: error.message, subgraph: message.subgraph, tags }, 'response cache purge deferred until redis is back');
      },
    );
  };
  if (!redis) {
    const unsubscribe = onProcessPurges(apply, hub);
    return { ready: Promise.resolve(), close: unsubscribe };
  }
  const channel = purgeChannel(redisPrefix);
  const subscriber = waitingSubscriber(redis);
  subscriber.on('error', (error: Error) =>
    warn({ err: error.message }, 'redis unavailable; purges from subgraph jobs wait until it is back'),
  );
  subscriber.on('message', (from: string, text: string) => {
    if (from !== channel) return;
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      warn({ channel }, 'a response-cache purge message is not JSON; dropped');
      return;
    }
    apply(raw);
  });
  const ready = subscriber.subscribe(channel).then(
    () => undefined,
    (error: Error) => warn({ err: error.message }, 'could not subscribe to the response-cache purge channel'),
  );
  return { ready, close: () => subscriber.disconnect() };
}
