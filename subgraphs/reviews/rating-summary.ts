import { z } from 'zod';
import type { JobDefinition } from '../../shared/jobs/definition.js';
import type { EntityManager } from '../../shared/store/orm.js';
import { RatingSummary } from './entities/rating-summary.entity.js';
import { Review } from './entities/review.entity.js';

/** Moves a product's summary by one review (`sign` 1 added, -1 deleted), in the caller's transaction. */
export async function moveRatingSummary(em: EntityManager, productId: string, rating: number, sign: 1 | -1): Promise<void> {
  const table = em.getMetadata().get(RatingSummary).tableName;
  await em.execute(
    `insert into ${table} (id, product_id, review_count, rating_sum, created_at, updated_at) values (gen_random_uuid(), ?, ?, ?, now(), now())
     on conflict (product_id) do update set review_count = ${table}.review_count + excluded.review_count,
       rating_sum = ${table}.rating_sum + excluded.rating_sum, updated_at = now()`,
    [productId, sign, sign * rating],
  );
}

/** Sets a product's summary to what its reviews say now. Idempotent. */
export async function recountRatingSummary(em: EntityManager, productId: string): Promise<void> {
  const table = em.getMetadata().get(RatingSummary).tableName;
  const reviews = em.getMetadata().get(Review).tableName;
  await em.execute(
    `insert into ${table} (id, product_id, review_count, rating_sum, created_at, updated_at)
     select gen_random_uuid(), p.product_id, count(r.id)::int, coalesce(sum(r.rating), 0)::int, now(), now()
       from (select ?::uuid as product_id) p left join ${reviews} r on r.product_id = p.product_id group by p.product_id
     on conflict (product_id) do update set review_count = excluded.review_count, rating_sum = excluded.rating_sum, updated_at = now()
     where ${table}.review_count <> excluded.review_count or ${table}.rating_sum <> excluded.rating_sum`,
    [productId],
  );
}

/**
 * Recounts a product's summary from its reviews after one was added or deleted: the summary is the reviews'
 * once the queue has drained, whatever a crash or a race between the moves left.
 */
export const recountRatingSummaryJob: JobDefinition<{ productId: string }> = {
  payload: z.object({ productId: z.uuid() }),
  async handler({ productId }, { em }) {
    await recountRatingSummary(em!, productId);
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
