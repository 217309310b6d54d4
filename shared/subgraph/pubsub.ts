import { createPubSub } from '@graphql-yoga/subscription';
import { defaultFieldResolver, type GraphQLSchema } from 'graphql';
import type { PubSub } from 'type-graphql';
import { throttledWarn, type Logger } from '../observability/logger.js';
import { waitingSubscriber, type RedisClient } from '../redis/redis.js';
import type { OutboxWriter } from '../jobs/outbox.js';
import type { EntityManager } from '../store/orm.js';

/**
 * What `@Subscription` resolvers subscribe to (TypeGraphQL's `PubSub`), with what the framework
 * needs besides: how many subscribers a topic has that would receive an event now, and a close.
 * Payloads go through JSON on either transport, so a resolver tried on memory behaves the same
 * on Redis (a `Date` arrives as its ISO string on both).
 */
export interface SubgraphPubSub extends PubSub {
  /** Subscribers of `topic` that would receive an event published now (on Redis: once its channel is subscribed). */
  subscriberCount(topic: string): number;
  /** Topics with a subscriber in this process (for the subscribers gauge). */
  topics(): string[];
  close(): Promise<void>;
}

type Listener = ((event: Event) => void) | { handleEvent(event: Event): void };

function deliver(listener: Listener, event: Event): void {
  if (typeof listener === 'function') listener(event);
  else listener.handleEvent(event);
}

/** An EventTarget that knows its listeners per type (the native one does not say). */
class TopicEventTarget extends EventTarget {
  protected readonly listeners = new Map<string, Set<Listener>>();

  override addEventListener(type: string, listener: Listener | null): void {
    if (!listener) return;
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener);
    this.firstListener(type, set);
  }

  override removeEventListener(type: string, listener: Listener | null): void {
    const set = this.listeners.get(type);
    if (!listener || !set?.delete(listener) || set.size) return;
    this.listeners.delete(type);
    this.lastListenerLeft(type);
  }

  override dispatchEvent(event: Event): boolean {
    for (const listener of [...(this.listeners.get(event.type) ?? [])]) deliver(listener, event);
    return true;
  }

  types(): string[] {
    return [...this.listeners.keys()];
  }

  /** Listeners of `type` that hear an event dispatched now. */
  ready(type: string): number {
    return this.listeners.get(type)?.size ?? 0;
  }

  protected firstListener(_type: string, _set: Set<Listener>): void {}
  protected lastListenerLeft(_type: string): void {}
}

/**
 * Events on Redis pub/sub: one channel per topic, `<REDIS_PREFIX><subgraph>:events:<topic>`,
 * subscribed while the topic has a listener in this process; a dispatched event is published
 * as JSON and reaches every process's listeners (this one's too) through Redis, in the order
 * Redis received them. Publishing goes over the process's client, which fails fast while Redis
 * is away: such an event is lost (with a warning), not queued. The subscriber connection keeps
 * its own offline queue and resubscribes by itself when Redis comes back.
 */
class RedisEventTarget extends TopicEventTarget {
  /** Topics whose channel Redis confirmed. */
  private readonly confirmed = new Set<string>();
  private readonly warn: ReturnType<typeof throttledWarn>;

  constructor(
    private readonly publisher: RedisClient,
    private readonly subscriber: RedisClient,
    private readonly channelPrefix: string,
    logger: Logger,
  ) {
    super();
    this.warn = throttledWarn(logger);
    subscriber.on('message', (channel: string, message: string) => {
      if (!channel.startsWith(channelPrefix)) return;
      const type = channel.slice(channelPrefix.length);
      let detail: unknown;
      try {
        detail = JSON.parse(message);
      } catch {
        this.warn({ channel }, 'an event on redis is not JSON; dropped');
        return;
      }
      super.dispatchEvent(new CustomEvent(type, { detail }));
    });
  }

  protected override firstListener(type: string, set: Set<Listener>): void {
    this.subscriber.subscribe(this.channelPrefix + type).then(
      // Still the same listeners: a topic left and joined again meanwhile is confirmed by its own subscribe.
      () => this.listeners.get(type) === set && this.confirmed.add(type),
      (error: Error) => this.warn({ err: error.message, topic: type }, 'could not subscribe to an event channel on redis'),
    );
  }

  protected override lastListenerLeft(type: string): void {
    this.confirmed.delete(type);
    this.subscriber.unsubscribe(this.channelPrefix + type).catch((error: Error) => {
      this.warn({ err: error.message, topic: type }, 'could not unsubscribe from an event channel on redis');
    });
  }

  override dispatchEvent(event: Event): boolean {
    const detail = (event as CustomEvent).detail;
    this.publisher.publish(this.channelPrefix + event.type, JSON.stringify(detail ?? null)).catch((error: Error) => {
      this.warn({ err: error.message, topic: event.type }, 'redis unavailable; an event was not published');
    });
    return true;
  }

  override ready(type: string): number {
    return this.confirmed.has(type) ? super.ready(type) : 0;
  }
}

export interface PubSubOptions {
  /** The subgraph's name: its channels on Redis are its own. */
  name: string;
  /** The process's Redis client; none: in memory, this process alone. */
  redis?: RedisClient;
  /** REDIS_PREFIX. */
  prefix?: string;
  logger?: Logger;
}

/**
 * The subgraph's PubSub: in memory unless `redis` is given, then on Redis pub/sub so that a
 * mutation on one replica reaches subscribers on every other. On Redis it opens one more
 * connection, the subscriber (a connection in subscriber mode can do nothing else), closed by `close()`.
 */
export function createSubgraphPubSub({ name, redis, prefix = '', logger }: PubSubOptions): SubgraphPubSub {
  if (!redis) {
    const target = new TopicEventTarget();
    const pubSub = createPubSub({ eventTarget: target as never });
    return {
      // Through JSON as on Redis: what a subscriber gets is what it would get from another replica.
      publish: (topic, ...args) => pubSub.publish(topic, ...(args.map((arg) => JSON.parse(JSON.stringify(arg ?? null))) as [never])),
      subscribe: (topic, id) => pubSub.subscribe(topic, id as never),
      subscriberCount: (topic) => target.ready(topic),
      topics: () => target.types(),
      close: async () => undefined,
    };
  }
  if (!logger) throw new Error('A PubSub on Redis needs a logger for its warnings.');
  const warn = throttledWarn(logger);
  const subscriber = waitingSubscriber(redis);
  subscriber.on('error', (error: Error) =>
    warn({ err: error.message }, 'redis unavailable; events from other replicas wait until it is back'),
  );
  const target = new RedisEventTarget(redis, subscriber, `${prefix}${name}:events:`, logger);
  const pubSub = createPubSub({ eventTarget: target as never });
  return {
    publish: (topic, ...args) => pubSub.publish(topic, ...(args as [never])),
    subscribe: (topic, id) => pubSub.subscribe(topic, id as never),
    subscriberCount: (topic) => target.ready(topic),
    topics: () => target.types(),
    async close() {
      subscriber.disconnect();
    },
  };
}

/**
 * The events one request's mutations publish (`ctx.events.publish(topic, payload)`), held until
 * the mutation that queued them has returned, that is once its writes committed (each flush is a
 * transaction of its own, each statement outside one commits as it runs); a mutation that throws
 * publishes none of them, so no subscriber hears of a write that was rolled back.
 */
export class PendingEvents {
  private queued: { topic: string; payload: unknown }[] = [];

  /** `outbox`: where `emit` writes the subgraph's domain events (shared/jobs/outbox.ts). */
  constructor(private readonly outbox?: OutboxWriter) {}

  /** A domain event for other subgraphs' jobs (not subscribers): written to the outbox with the mutation's writes, relayed once committed. */
  emit(event: string, payload: unknown, options: { em?: EntityManager } = {}): void {
    if (!this.outbox) throw new Error('This context has no outbox to emit events to.');
    this.outbox.emit(event, payload, options);
  }

  publish(topic: string, payload: unknown): void {
    this.queued.push({ topic, payload });
  }

  /** What was queued since the last take; the queue is left empty. */
  take(): { topic: string; payload: unknown }[] {
    return this.queued.splice(0);
  }
}

/**
 * Publishes what each Mutation field queued once it resolved, and drops it when it threw.
 * Mutation fields run one after another, so what is queued while one runs is that one's.
 */
export function publishAfterMutations(schema: GraphQLSchema, pubSub: PubSub): GraphQLSchema {
  for (const field of Object.values(schema.getMutationType()?.getFields() ?? {})) {
    const resolve = field.resolve ?? defaultFieldResolver;
    field.resolve = async (source, args, context: { events: PendingEvents }, info) => {
      let result: unknown;
      try {
        result = await resolve(source, args, context, info);
      } catch (error) {
        context.events.take();
        throw error;
      }
      for (const { topic, payload } of context.events.take()) pubSub.publish(topic, payload);
      return result;
    };
  }
  return schema;
}
