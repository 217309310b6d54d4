import type { QueryResult } from '@mikro-orm/core';
import { z } from 'zod';
import { reportChanged } from '../../shared/cache-tags/cache-tags.js';
import type { JobDefinition } from '../../shared/jobs/definition.js';
import type { EntityManager } from '../../shared/store/orm.js';
import { RatingSummary } from './entities/rating-summary.entity.js';
import { Review } from './entities/review.entity.js';

/** Mean rating, two decimals; null without reviews: `Product.averageRating`, and what `RatingChanged` carries. */
export function averageOf(reviewCount: number, ratingSum: number): number | null {
  return reviewCount > 0 ? Math.round((ratingSum / reviewCount) * 100) / 100 : null;
}

/**
 * The event reviews publishes whenever its recount job has settled a product's summary: the summary as it is then, and
 * its version (its `updated_at`, in µs since the epoch, taken under the row's lock, so a later state has a larger one):
 * a consumer keeps the copy with the largest version, whatever order the events arrive in.
 */
export const ratingChanged = z.object({
  productId: z.uuid(),
  count: z.number().int().nonnegative(),
  average: z.number().min(1).max(5).nullable(),
  version: z.number().int().nonnegative(),
});
export type RatingChanged = z.infer<typeof ratingChanged>;

/** Moves a product's summary by one review (`sign` 1 added, -1 deleted), in the caller's transaction. */
export async function moveRatingSummary(em: EntityManager, productId: string, rating: number, sign: 1 | -1): Promise<void> {
  const table = em.getMetadata().get(RatingSummary).tableName;
  await em.execute(
    `insert into ${table} (id, product_id, review_count, rating_sum, created_at, updated_at) values (gen_random_uuid(), ?, ?, ?, now(), now())
     on conflict (product_id) do update set review_count = ${table}.review_count + excluded.review_count,
       rating_sum = ${table}.rating_sum + excluded.rating_sum, updated_at = clock_timestamp()`,
    [productId, sign, sign * rating],
  );
}

/** Sets a product's summary to what its reviews say now. Idempotent; says whether the summary was other than that. */
export async function recountRatingSummary(em: EntityManager, productId: string): Promise<boolean> {
  const table = em.getMetadata().get(RatingSummary).tableName;
  const reviews = em.getMetadata().get(Review).tableName;
  const { affectedRows } = await em.execute<QueryResult>(
    `insert into ${table} (id, product_id, review_count, rating_sum, created_at, updated_at)
     select gen_random_uuid(), p.product_id, count(r.id)::int, coalesce(sum(r.rating), 0)::int, now(), now()
       from (select ?::uuid as product_id) p left join ${reviews} r on r.product_id = p.product_id group by p.product_id
     on conflict (product_id) do update set review_count = excluded.review_count, rating_sum = excluded.rating_sum, updated_at = clock_timestamp()
     where ${table}.review_count <> excluded.review_count or ${table}.rating_sum <> excluded.rating_sum`,
    [productId],
    'run',
  );
  return affectedRows > 0;
}

/** A product's summary as stored now, as the event carries it. */
async function currentSummary(em: EntityManager, productId: string): Promise<RatingChanged> {
  const table = em.getMetadata().get(RatingSummary).tableName;
  const [row] = await em.execute<{ review_count: number; rating_sum: number; version: string }[]>(
    `select review_count, rating_sum, (extract(epoch from updated_at) * 1000000)::bigint::text as version from ${table} where product_id = ?`,
    [productId],
  );
  // The recount just before wrote the row: it exists.
  const { review_count: count, rating_sum: sum, version } = row!;
  return { productId, count, average: averageOf(count, sum), version: Number(version) };
}

/**
 * Recounts a product's summary from its reviews after one was added or deleted: the summary is the reviews'
 * once the queue has drained, whatever a crash or a race between the moves left. Then it tells the other
 * subgraphs (`RatingChanged`, through the outbox with nothing else to commit) and, when the recount corrected
 * the summary, the gateways' response caches (the mutation's own report covered what it moved).
 */
export const recountRatingSummaryJob: JobDefinition<{ productId: string }> = {
  payload: z.object({ productId: z.uuid() }),
  async handler({ productId }, context) {
    const em = context.em!;
    if (await recountRatingSummary(em, productId)) reportChanged(context, 'Product', productId, ['averageRating']);
    context.jobs.emit('RatingChanged', await currentSummary(em, productId));
  },
};

/** Every reviewed product's summary, from scratch: for the seed, which writes reviews without moving them. */
export async function summariseAllReviews(em: EntityManager): Promise<void> {
  const table = em.getMetadata().get(RatingSummary).tableName;
  const reviews = em.getMetadata().get(Review).tableName;
  await em.execute(
    `insert into ${table} (id, product_id, review_count, rating_sum, created_at, updated_at)
     select gen_random_uuid(), product_id, count(*)::int, sum(rating)::int, now(), now() from ${reviews} group by product_id
     on conflict (product_id) do update set review_count = excluded.review_count, rating_sum = excluded.rating_sum, updated_at = now()`,
  );
}
