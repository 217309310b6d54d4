import { EventEmitter } from 'node:events';
import { z } from 'zod';
import type { HubChannel } from '../ipc/supervisor-hub.js';
import type { RedisClient } from '../redis/redis.js';

/**
 * How a change made outside a request (by a job) reaches the gateways' response caches: a request's
 * changes ride back in its response (cache-tags.ts), a job has no response, so it publishes them on a
 * channel every gateway listens to, `<REDIS_PREFIX>response-cache:purges` on Redis pub/sub. Without
 * Redis, a gateway in the same process hears them (`processPurges`), and under `npm start` the gateway's
 * process too, over the supervisor's hub (shared/ipc/supervisor-hub.ts).
 */
export function purgeChannel(redisPrefix: string): string {
  return `${redisPrefix}response-cache:purges`;
}

/** The most tags one message carries: a job reports a handful; a larger message is refused by the gateways. */
export const MAX_PURGE_TAGS = 1_000;

/** One message on the channel: the tags a job changed, as `reportChanged` recorded them (the gateway expands `Type#?`). */
export const purgeMessage = z.object({ subgraph: z.string(), tags: z.array(z.string().max(500)).min(1).max(MAX_PURGE_TAGS) });
export type PurgeMessage = z.infer<typeof purgeMessage>;

/** Sends a job's changes to the gateways; rejects when they could not be sent (the job's attempt fails, and is retried). */
export type PurgePublisher = (message: PurgeMessage) => Promise<void>;

const PROCESS_EVENT = 'purge';
/** The channel within one process, for a gateway and subgraphs run together without Redis (tests, an embedding). */
export const processPurges = new EventEmitter();

/** One message per `MAX_PURGE_TAGS` tags, so that none is refused. */
function split({ subgraph, tags }: PurgeMessage): PurgeMessage[] {
  const messages: PurgeMessage[] = [];
  for (let start = 0; start < tags.length; start += MAX_PURGE_TAGS)
    messages.push({ subgraph, tags: tags.slice(start, start + MAX_PURGE_TAGS) });
  return messages;
}

const HUB_PURGE = 'cache.purge';

/**
 * Over Redis when the subgraph has it (every gateway on the same Redis and prefix hears it), else within the process
 * and, for a supervised child, to the other children over the hub (resolved once handed to it).
 */
export function createPurgePublisher(redis: RedisClient | undefined, redisPrefix: string, hub?: HubChannel): PurgePublisher {
  if (!redis) {
    return async (message) => {
      for (const part of split(message)) {
        processPurges.emit(PROCESS_EVENT, part);
        await hub?.send({ hub: HUB_PURGE, message: part });
      }
    };
  }
  const channel = purgeChannel(redisPrefix);
  return async (message) => {
    for (const part of split(message)) await redis.publish(channel, JSON.stringify(part));
  };
}

/**
 * Hears the process's own purges and those other supervised children send over the hub (the Redis side is the
 * gateway's subscriber connection); returns the unsubscribe.
 */
export function onProcessPurges(listener: (message: PurgeMessage) => void, hub?: HubChannel): () => void {
  processPurges.on(PROCESS_EVENT, listener);
  const stopHub = hub?.onMessage((message) => {
    const parsed = message.hub === HUB_PURGE ? purgeMessage.safeParse(message.message) : undefined;
    if (parsed?.success) listener(parsed.data);
  });
  return () => {
    processPurges.off(PROCESS_EVENT, listener);
    stopHub?.();
  };
}
