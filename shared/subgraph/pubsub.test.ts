import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from '@jest/globals';
import { execute, parse, subscribe, type ExecutionResult } from 'graphql';
import { Redis } from 'ioredis';
import { Ctx, Directive, Field, ID, Mutation, ObjectType, Query, Resolver, Root, Subscription } from 'type-graphql';
import { DisposableRedis, freePort } from '../../test/support/redis.js';
import { testLogger } from '../../test/support/subgraph.js';
import { subscribersOf } from '../../test/support/subscriptions.js';
import { createRedisClient, redisReady, type RedisClient } from '../redis/redis.js';
import { createSubgraphPubSub, PendingEvents, type SubgraphPubSub } from './pubsub.js';
import { defineSubgraph } from './definition.js';
import { buildFederatedSchema } from './schema.js';
import type { SubgraphContext } from './context.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The next value of `events`, or throws after `ms`. */
async function nextWithin<T>(events: AsyncIterator<T>, ms = 3_000): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no event within ${ms} ms`)), ms)));
  try {
    const result = await Promise.race([events.next(), timeout]);
    if (result.done) throw new Error('the events ended');
    return result.value;
  } finally {
    clearTimeout(timer!);
  }
}

describe('the in-memory PubSub', () => {
  it('delivers what is published to the topic as JSON would carry it, and counts subscribers while they listen', async () => {
    const pubSub = createSubgraphPubSub({ name: 'gizmos' });
    const events = pubSub.subscribe('GIZMO')[Symbol.asyncIterator]();
    const next = nextWithin(events);
    expect(pubSub.subscriberCount('GIZMO')).toBe(1);
    pubSub.publish('OTHER', { id: 'x' });
    pubSub.publish('GIZMO', { id: 'g1', at: new Date('2026-01-01T00:00:00Z') });
    expect(await next).toEqual({ id: 'g1', at: '2026-01-01T00:00:00.000Z' });
    await events.return?.();
    expect(pubSub.subscriberCount('GIZMO')).toBe(0);
  });
});

describe('the PubSub on Redis', () => {
  const prefix = `pubsub-test-${randomBytes(4).toString('hex')}:`;
  const clients = [new Redis(REDIS_URL), new Redis(REDIS_URL)];
  const probe = new Redis(REDIS_URL);
  const [one, other] = clients.map((redis) => createSubgraphPubSub({ name: 'gizmos', redis, prefix, logger: testLogger })) as [
    SubgraphPubSub,
    SubgraphPubSub,
  ];
  afterAll(async () => {
    await Promise.all([one.close(), other.close()]);
    [...clients, probe].forEach((client) => client.disconnect());
  });

  it('delivers an event published by one process to the subscribers of another, and leaves the channel with the last one', async () => {
    const channel = `${prefix}gizmos:events:GIZMO`;
    const first = other.subscribe('GIZMO')[Symbol.asyncIterator]();
    const second = other.subscribe('GIZMO')[Symbol.asyncIterator]();
    const [heardFirst, heardSecond] = [nextWithin(first), nextWithin(second)];
    await subscribersOf(other, 'GIZMO', 2);
    expect(await probe.pubsub('NUMSUB', channel)).toEqual([channel, 1]);
    one.publish('GIZMO', { id: 'g1' });
    expect(await heardFirst).toEqual({ id: 'g1' });
    expect(await heardSecond).toEqual({ id: 'g1' });
    await first.return?.();
    expect(await probe.pubsub('NUMSUB', channel)).toEqual([channel, 1]);
    await second.return?.();
    await subscribersOf(other, 'GIZMO', 0);
    // The UNSUBSCRIBE is on its way once the last subscriber left: bounded wait for Redis to have it.
    for (let i = 0; i < 100 && (await probe.pubsub('NUMSUB', channel))[1] !== 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await probe.pubsub('NUMSUB', channel)).toEqual([channel, 0]);
  });
});

describe('the PubSub on a Redis that is away when someone subscribes', () => {
  const redisServer = new DisposableRedis(0);
  let client: RedisClient | undefined;
  let pubSub: SubgraphPubSub | undefined;
  afterAll(async () => {
    await pubSub?.close();
    client?.disconnect();
    await redisServer.kill();
  });

  it('subscribes once Redis is there, and hears what is published then', async () => {
    redisServer.port = await freePort();
    client = createRedisClient({ url: `redis://127.0.0.1:${redisServer.port}`, clusterNodes: undefined, prefix: 'away:' }, testLogger)!;
    pubSub = createSubgraphPubSub({ name: 'gizmos', redis: client, prefix: 'away:', logger: testLogger });
    const events = pubSub.subscribe('GIZMO')[Symbol.asyncIterator]();
    const heard = nextWithin(events, 10_000);
    // Away for a while: long enough for the client's reconnection attempts to have failed a few times.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(pubSub.subscriberCount('GIZMO')).toBe(0);
    await redisServer.start();
    await subscribersOf(pubSub, 'GIZMO', 1, 10_000);
    expect(await redisReady(client, 5_000)).toBe(true);
    pubSub.publish('GIZMO', { id: 'after the outage' });
    expect(await heard).toEqual({ id: 'after the outage' });
    await events.return?.();
  });
});

@ObjectType()
class Gizmo {
  @Field(() => ID)
  id: string;
}

@Resolver()
class GizmoResolver {
  @Query(() => Boolean)
  ok(): boolean {
    return true;
  }

  @Mutation(() => Gizmo)
  makeGizmo(@Ctx() ctx: SubgraphContext): Gizmo {
    ctx.events.publish('GIZMO_MADE', { id: 'made' });
    return { id: 'made' };
  }

  @Mutation(() => Gizmo)
  failToMakeGizmo(@Ctx() ctx: SubgraphContext): Gizmo {
    ctx.events.publish('GIZMO_MADE', { id: 'rolled back' });
    throw new Error('the write failed: nothing committed');
  }

  @Subscription(() => Gizmo, { topics: 'GIZMO_MADE' })
  gizmoMade(@Root() gizmo: Gizmo): Gizmo {
    return gizmo;
  }

  @Subscription(() => Gizmo, { topics: 'GIZMO_MADE' })
  @Directive('@requiresScopes(scopes: [["gizmos:watch"]])')
  secretGizmoMade(@Root() gizmo: Gizmo): Gizmo {
    return gizmo;
  }
}

describe('subscriptions in a subgraph schema', () => {
  const gizmos = defineSubgraph({ name: 'gizmos', port: 0, resolvers: [GizmoResolver] });
  const context = (scopes: string[] | null) =>
    ({
      events: new PendingEvents(),
      user: scopes && { userId: 'u1', username: 'ada', roles: [], scopes },
    }) as unknown as SubgraphContext;

  it("publishes a mutation's events once it returned, and none of one that threw", async () => {
    const pubSub = createSubgraphPubSub({ name: 'gizmos' });
    const schema = await buildFederatedSchema(gizmos, pubSub);
    const events = (await subscribe({
      schema,
      document: parse('subscription { gizmoMade { id } }'),
      contextValue: context(null),
    })) as AsyncGenerator<ExecutionResult>;
    // A Repeater listens from its first next(): asked for before anything is published.
    const heard = nextWithin(events);
    await subscribersOf(pubSub, 'GIZMO_MADE');
    // One context for both, as one request's mutation fields share theirs: the failed one's event must not leak into the next.
    const contextValue = context(null);
    const failed = await execute({ schema, document: parse('mutation { failToMakeGizmo { id } }'), contextValue });
    expect(failed.errors?.[0]?.message).toMatch(/nothing committed/);
    await execute({ schema, document: parse('mutation { makeGizmo { id } }'), contextValue });
    expect(await heard).toEqual({ data: { gizmoMade: { id: 'made' } } });
    await events.return(undefined);
  });

  it('checks @requiresScopes on a Subscription field when subscribing', async () => {
    const schema = await buildFederatedSchema(gizmos);
    const document = parse('subscription { secretGizmoMade { id } }');
    const anonymous = (await subscribe({ schema, document, contextValue: context(null) })) as ExecutionResult;
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const unscoped = (await subscribe({ schema, document, contextValue: context(['reviews:write']) })) as ExecutionResult;
    expect(unscoped.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const allowed = (await subscribe({ schema, document, contextValue: context(['gizmos:watch']) })) as AsyncGenerator<ExecutionResult>;
    expect(Symbol.asyncIterator in allowed).toBe(true);
    await allowed.return(undefined);
  });
});
