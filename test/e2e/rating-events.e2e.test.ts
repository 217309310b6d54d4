import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { OutboxMessage } from '../../shared/jobs/outbox.entity.js';
import { Product } from '../../subgraphs/catalog/entities/product.entity.js';
import { RatingSummary } from '../../subgraphs/reviews/entities/rating-summary.entity.js';
import { testRedisUrl, waitFor } from '../support/jobs.js';
import { postGraphQL } from '../support/subgraph.js';
import { startTestSupergraph, type TestSupergraph } from '../support/supergraph.js';

/** Only catalog answers it: the order comes from the catalog's copy of the ratings, not from reviews. */
const BY_RATING = `{ products(first: 50, orderBy: { field: RATING, direction: DESC }) { edges { node { id name } } } }`;
const ADD = `mutation($input: AddReviewInput!) { addReview(input: $input) { id } }`;

async function order(url: string): Promise<{ ids: string[]; cache: string | null }> {
  const { data, errors, headers } = await postGraphQL(url, BY_RATING);
  expect(errors).toBeUndefined();
  return { ids: data?.products.edges.map((edge: { node: { id: string } }) => edge.node.id), cache: headers.get('x-cache') };
}

const QUEUES = ['reviews', 'catalog'];

/** Delayed jobs per queue before the test: BullMQ keeps each schedule's next run (the audit purge's) as one. */
async function delayedNow(supergraph: TestSupergraph): Promise<Record<string, number>> {
  const entries = await Promise.all(
    QUEUES.map(async (name) => [name, (await supergraph.subgraphs[name]!.jobs.queues.counts(name)).delayed]),
  );
  return Object.fromEntries(entries);
}

/** Every queue and outbox of reviews and catalog empty: the recount ran, its event was relayed and the catalog consumed it. */
async function drained(supergraph: TestSupergraph, delayedBefore: Record<string, number>): Promise<void> {
  await waitFor('the reviews and catalog queues to drain', async () => {
    for (const name of QUEUES) {
      const subgraph = supergraph.subgraphs[name]!;
      const { waiting, active, delayed } = await subgraph.jobs.queues.counts(name);
      const unrelayed = await subgraph.orm.em.fork().count(OutboxMessage, { relayedAt: null });
      if (waiting + active + (delayed - delayedBefore[name]!) + unrelayed > 0) return false;
    }
    return true;
  });
}

/** The catalog's copy of a product's rating next to reviews' summary of it. */
async function copies(supergraph: TestSupergraph, productId: string) {
  const copy = await supergraph.subgraphs.catalog!.orm.em.fork().findOneOrFail(Product, productId);
  const summary = await supergraph.subgraphs.reviews!.orm.em.fork().findOneOrFail(RatingSummary, { productId });
  const average = Math.round((summary.ratingSum / summary.reviewCount) * 100) / 100;
  return { catalog: { count: copy.ratingCount, average: copy.ratingAverage }, reviews: { count: summary.reviewCount, average } };
}

/**
 * Adds a five-star review of the product the rating order puts last, with the catalog's workers stopped until the
 * page is cached again after the mutation's own purge: only the catalog job's purge can then show the new order.
 */
async function reviewTheLast(supergraph: TestSupergraph, gatewayUrls: string[]) {
  const before = await order(gatewayUrls[0]!);
  const last = before.ids.at(-1)!;
  const catalog = supergraph.subgraphs.catalog!;
  const delayedBefore = await delayedNow(supergraph);
  await catalog.jobs.stopWorkers();
  const ada = await supergraph.loginAs('ada');
  const added = await supergraph.query(ADD, { input: { productId: last, body: 'The best of them all.', rating: 5 } }, ada);
  expect(added.errors).toBeUndefined();
  // Cached after the mutation, the catalog not having heard of the review yet: the old order.
  for (const url of gatewayUrls) {
    expect((await order(url)).ids).toEqual(before.ids);
    expect(await order(url)).toEqual({ ids: before.ids, cache: 'HIT' });
  }
  supergraph.resetRequests();
  const reviewsRequests = supergraph.subgraphs.reviews!.requests();
  await catalog.jobs.start();
  await drained(supergraph, delayedBefore);
  // The catalog learnt the rating from the event alone: nobody asked reviews anything meanwhile.
  expect(supergraph.subgraphs.reviews!.requests()).toBe(reviewsRequests);
  return { before, last };
}

describe('ratings reach the catalog as events, and the rating order through the response cache', () => {
  describe('on Redis (BullMQ queues, purges on Redis pub/sub, the cache in Redis)', () => {
    const prefix = `tessera-test-${randomBytes(4).toString('hex')}:`;
    let supergraph: TestSupergraph;
    let redis: Redis;

    beforeAll(async () => {
      redis = new Redis(testRedisUrl);
      supergraph = await startTestSupergraph({
        redis: { url: testRedisUrl, prefix },
        subgraphRedis: { url: testRedisUrl, clusterNodes: undefined, prefix },
      });
    });
    afterAll(async () => {
      await supergraph?.stop();
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
    });

    it('a review added through the gateway moves its product up once the queue drains; the copy is reviews’ summary', async () => {
      const second = await supergraph.startGateway({ redis: { url: testRedisUrl, prefix } });
      const { before, last } = await reviewTheLast(supergraph, [supergraph.url, second.url]);
      // The gateways share the cache in Redis: the first read after the purge misses, the other gateway's then hits.
      expect((await order(supergraph.url)).cache).toBe('MISS');
      for (const url of [supergraph.url, second.url]) {
        const after = await order(url);
        expect(after.ids[0]).toBe(last);
        expect(after.ids.slice(1)).toEqual(before.ids.slice(0, -1));
      }
      const { catalog, reviews } = await copies(supergraph, last);
      expect(catalog).toEqual(reviews);
    });

    it('a late, older event changes nothing', async () => {
      const { ids } = await order(supergraph.url);
      const top = ids[0]!;
      const kept = await copies(supergraph, top);
      // As if an event from before the last one were delivered now.
      const catalog = supergraph.subgraphs.catalog!;
      const row = await catalog.orm.em.fork().findOneOrFail(Product, top);
      const { ratingChangedConsumer } = await import('../../subgraphs/catalog/rating.js');
      const em = catalog.orm.em.fork();
      const context = { em, cacheTags: { entities: new Set<string>(), changed: new Set<string>() } } as never;
      await ratingChangedConsumer.handler({ productId: top, count: 1, average: 1, version: Number(row.ratingVersion) - 1 }, context);
      expect((await copies(supergraph, top)).catalog).toEqual(kept.catalog);
      expect((context as { cacheTags: { changed: Set<string> } }).cacheTags.changed.size).toBe(0);
    });
  });

  describe('in one process without Redis (memory queues, purges within the process, two gateways each with its own cache)', () => {
    let supergraph: TestSupergraph;

    beforeAll(async () => {
      supergraph = await startTestSupergraph();
    });
    afterAll(async () => {
      await supergraph?.stop();
    });

    it('the catalog job’s purge reaches both gateways’ caches, the one the mutation went through and the other', async () => {
      const second = await supergraph.startGateway();
      const { before, last } = await reviewTheLast(supergraph, [supergraph.url, second.url]);
      for (const url of [supergraph.url, second.url]) {
        const after = await order(url);
        expect(after.cache).toBe('MISS');
        expect(after.ids[0]).toBe(last);
        expect(after.ids.slice(1)).toEqual(before.ids.slice(0, -1));
      }
      const { catalog, reviews } = await copies(supergraph, last);
      expect(catalog).toEqual(reviews);
    });
  });
});
