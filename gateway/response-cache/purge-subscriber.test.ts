import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { buildSchema } from 'graphql';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { reportChanged } from '../../shared/cache-tags/cache-tags.js';
import { createPurgePublisher, purgeChannel } from '../../shared/cache-tags/purge-channel.js';
import { BullJobQueues } from '../../shared/jobs/bullmq-queues.js';
import { createJobsRuntime, type JobsRuntime } from '../../shared/jobs/runtime.js';
import { createRedisClient, redisReady, type RedisClient } from '../../shared/redis/redis.js';
import { testRedisUrl, waitFor } from '../../test/support/jobs.js';
import { testLogger } from '../../test/support/subgraph.js';
import { MemoryResponseCacheStore } from './memory-store.js';
import { subscribeToPurges, type PurgeSubscriber } from './purge-subscriber.js';
import type { CachedResponse } from './store.js';

const entry = (): CachedResponse => ({
  body: Buffer.from('{"data":{"ok":true}}\n'),
  entityTag: 'W/"15-x"',
  storedAt: Date.now(),
  maxAge: 60,
  scope: 'PUBLIC',
  charge: { operationName: null, cost: 1, rootFields: [['Query.ok', 1]] },
});

const schema = buildSchema(`type Product { id: ID! name: String averageRating: Float } type Query { product: Product }`);

describe('purges sent by subgraph jobs, over Redis pub/sub', () => {
  const prefix = `tessera-test-${randomBytes(4).toString('hex')}:`;
  let redis: RedisClient;
  let queues: BullJobQueues;
  let jobs: JobsRuntime;
  const gateways: { store: MemoryResponseCacheStore; subscriber: PurgeSubscriber }[] = [];
  const runs = { done: 0 };

  beforeAll(async () => {
    redis = createRedisClient({ url: testRedisUrl, clusterNodes: undefined, prefix }, testLogger)!;
    await redisReady(redis, 3_000);
    queues = new BullJobQueues(testRedisUrl, prefix, testLogger);
    jobs = createJobsRuntime({
      name: 'purging',
      orm: undefined,
      outbox: false,
      declaration: {
        jobs: {
          // As the catalog's rating consumer reports: one product's averageRating; without fields, every field of it.
          touch: {
            payload: z.object({ id: z.string(), fields: z.array(z.string()).optional() }),
            async handler({ id, fields }, context) {
              reportChanged(context, 'Product', id, fields);
            },
          },
        },
      },
      queues,
      config: { workers: true, concurrency: 1, relayIntervalMs: 0 },
      logger: testLogger,
      services: {},
      listener: { completed: () => void runs.done++ },
      purges: createPurgePublisher(redis, prefix),
    });
    await jobs.start();
    // Two gateways, each with a cache of its own (as two processes without a shared store would have).
    for (let i = 0; i < 2; i++) {
      const store = new MemoryResponseCacheStore(100);
      const subscriber = subscribeToPurges({ store, redis, redisPrefix: prefix, schema: () => schema, logger: testLogger });
      await subscriber.ready;
      gateways.push({ store, subscriber });
    }
  });
  afterAll(async () => {
    await jobs?.stop();
    for (const { subscriber } of gateways) subscriber.close();
    await queues?.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  async function run(data: { id: string; fields?: string[] }): Promise<void> {
    const before = runs.done;
    await queues.add('purging', [{ id: randomUUID(), name: 'touch', data, attempts: 1, backoffMs: 0 }]);
    await waitFor('the job to run', () => runs.done > before);
  }

  it('reach both gateways’ caches: what the job changed goes, the rest stays, and a read that overlapped it is not stored', async () => {
    const epochs: string[] = [];
    for (const { store } of gateways) {
      await store.store('rating-order', entry(), ['Product', 'Product#averageRating'], '0');
      await store.store('name-order', entry(), ['Product', 'Product#name'], '0');
      // A read under way while the job writes: looked up before the purge, stored after it.
      epochs.push((await store.lookup(['in-flight'])).epoch);
    }
    await run({ id: 'p1', fields: ['averageRating'] });
    for (const [i, { store }] of gateways.entries()) {
      await waitFor('the purge to arrive', async () => (await store.lookup(['rating-order'])).entries[0] === null, 5_000);
      expect((await store.lookup(['name-order'])).entries[0]).not.toBeNull();
      expect(await store.store('in-flight', entry(), ['Product:p1'], epochs[i]!)).toBe(false);
    }
  });

  it('expand a change that names no fields to every field the gateway’s schema gives the type', async () => {
    for (const { store } of gateways) await store.store('name-order', entry(), ['Product', 'Product#name'], (await store.lookup([])).epoch);
    await run({ id: 'p2' });
    for (const { store } of gateways) {
      await waitFor('the purge to arrive', async () => (await store.lookup(['name-order'])).entries[0] === null, 5_000);
    }
  });

  it('arrive whole when a job changed more than one message carries', async () => {
    const fields = Array.from({ length: 1_500 }, (_, i) => `field${i}`);
    const { store } = gateways[0]!;
    const { epoch } = await store.lookup([]);
    await store.store('first', entry(), ['Product#field0'], epoch);
    await store.store('last', entry(), ['Product#field1499'], epoch);
    await run({ id: 'p4', fields });
    await waitFor(
      'both parts to arrive',
      async () => (await store.lookup(['first', 'last'])).entries.every((found) => found === null),
      5_000,
    );
  });

  it('drop a message that is not a purge, and go on hearing the next', async () => {
    const publisher = new Redis(testRedisUrl);
    try {
      const { store } = gateways[0]!;
      const { epoch } = await store.lookup([]);
      await store.store('kept', entry(), ['Product#name'], epoch);
      await publisher.publish(purgeChannel(prefix), 'not json');
      await publisher.publish(purgeChannel(prefix), JSON.stringify({ subgraph: 'x', tags: 'Product#name' }));
      await run({ id: 'p3', fields: ['averageRating'] });
      await waitFor('the job’s purge to arrive', async () => (await store.lookup([])).epoch !== epoch, 5_000);
      expect((await store.lookup(['kept'])).entries[0]).not.toBeNull();
    } finally {
      publisher.disconnect();
    }
  });
});
