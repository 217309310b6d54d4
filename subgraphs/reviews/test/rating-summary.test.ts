import { describe, expect, it } from '@jest/globals';
import { onProcessPurges, type PurgeMessage } from '../../../shared/cache-tags/purge-channel.js';
import { OutboxMessage } from '../../../shared/jobs/outbox.entity.js';
import { seedId } from '../../../shared/store/seed.js';
import { testIdentity } from '../../../test/support/config.js';
import { waitFor } from '../../../test/support/jobs.js';
import { subgraphForSuite } from '../../../test/support/subgraph.js';
import { RatingSummary } from '../entities/rating-summary.entity.js';
import { Review } from '../entities/review.entity.js';
import { reviews } from '../index.js';

const ada = testIdentity('ada');
const staff = testIdentity('grace', 'staff');
const product = seedId('product', '100000000003');

const ADD = `mutation($input: AddReviewInput!) { addReview(input: $input) { id } }`;
const DELETE = `mutation($id: ID!) { deleteReview(id: $id) }`;
const AVERAGE = `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Product { averageRating } } }`;

describe('rating summaries', () => {
  const subgraph = subgraphForSuite(reviews);

  async function drained(): Promise<void> {
    await waitFor('the reviews queue to drain', async () => {
      const { waiting, active, delayed } = await subgraph.jobs.queues.counts('reviews');
      const pending = await subgraph.orm.em.fork().count(OutboxMessage, { relayedAt: null });
      return waiting + active + delayed + pending === 0;
    });
  }

  async function truth(): Promise<{ reviewCount: number; ratingSum: number }> {
    const rows = await subgraph.orm.em.fork().find(Review, { product });
    return { reviewCount: rows.length, ratingSum: rows.reduce((sum, row) => sum + row.rating, 0) };
  }

  it('stay what the reviews say, through concurrent additions and deletions, once the queue has drained', async () => {
    const added = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        subgraph.query(ADD, { input: { productId: product, body: `Review ${i}`, rating: (i % 5) + 1 } }, ada),
      ),
    );
    const ids = added.map((answer) => answer.data?.addReview.id as string);
    expect(ids.every(Boolean)).toBe(true);
    // Each deletion twice at once: only one of each moves the summary.
    await Promise.all(ids.slice(0, 4).flatMap((id) => [subgraph.query(DELETE, { id }, staff), subgraph.query(DELETE, { id }, staff)]));
    await drained();
    const summary = await subgraph.orm.em.fork().findOneOrFail(RatingSummary, { productId: product });
    expect({ reviewCount: summary.reviewCount, ratingSum: summary.ratingSum }).toEqual(await truth());
  });

  it('are recounted by the job after a review, whatever drift they had', async () => {
    await subgraph.orm.em.fork().nativeUpdate(RatingSummary, { productId: product }, { reviewCount: 999, ratingSum: 1 });
    await subgraph.query(ADD, { input: { productId: product, body: 'Late to the party.', rating: 4 } }, ada);
    await drained();
    const summary = await subgraph.orm.em.fork().findOneOrFail(RatingSummary, { productId: product });
    expect({ reviewCount: summary.reviewCount, ratingSum: summary.ratingSum }).toEqual(await truth());
  });

  it('are published as RatingChanged after each recount, and a recount that corrected them purges the response cache', async () => {
    const purges: PurgeMessage[] = [];
    const unsubscribe = onProcessPurges((message) => purges.push(message));
    try {
      // In step: the recount changes nothing, so only the mutation's own report purged.
      await subgraph.query(ADD, { input: { productId: product, body: 'In step.', rating: 5 } }, ada);
      await drained();
      expect(purges).toEqual([]);

      await subgraph.orm.em.fork().nativeUpdate(RatingSummary, { productId: product }, { reviewCount: 999, ratingSum: 1 });
      await subgraph.query(ADD, { input: { productId: product, body: 'Drifted.', rating: 2 } }, ada);
      await drained();
      expect(purges).toEqual([{ subgraph: 'reviews', tags: expect.arrayContaining([`Product:${product}`, 'Product#averageRating']) }]);
    } finally {
      unsubscribe();
    }
    const { reviewCount, ratingSum } = await truth();
    const events = await subgraph.orm.em
      .fork()
      .find(OutboxMessage, { kind: 'event', name: 'RatingChanged' }, { orderBy: { createdAt: 'desc' } });
    expect(events[0]?.payload).toEqual({
      productId: product,
      count: reviewCount,
      average: Math.round((ratingSum / reviewCount) * 100) / 100,
      version: expect.any(Number),
    });
  });

  it('answer averageRating with one row, and the mutation names averageRating as changed for the response cache', async () => {
    const { reviewCount, ratingSum } = await truth();
    subgraph.resetSql();
    const { data } = await subgraph.query(AVERAGE, { reps: [{ __typename: 'Product', id: product }] });
    expect(data?._entities[0].averageRating).toBe(Math.round((ratingSum / reviewCount) * 100) / 100);
    expect(subgraph.sql).toHaveLength(1);
    expect(subgraph.sql[0]).toMatch(/from "rating_summary"/);

    const answer = await subgraph.query(ADD, { input: { productId: product, body: 'One more.', rating: 1 } }, ada);
    expect((answer.extensions?.tesseraCache as { changed: string[] }).changed).toContain('Product#averageRating');
  });
});
