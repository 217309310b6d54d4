import { defineSubgraph } from '../../shared/subgraph/definition.js';
import { RatingSummary } from './entities/rating-summary.entity.js';
import { Review } from './entities/review.entity.js';
import { ratingChanged, recountRatingSummaryJob } from './rating-summary.js';
import { createReviewsLoaders } from './loaders.js';
import { Product } from './resolvers/product.type.js';
import { ProductReviewsResolver, ReviewResolver, UserReviewsResolver } from './resolvers/review.resolver.js';
import { User } from './resolvers/user.type.js';
import { seedReviews } from './seed.js';

/** Reviews of products by users; owns Review, extends Product and User with their reviews. */
export const reviews = defineSubgraph({
  name: 'reviews',
  port: 4004,
  entities: [Review, RatingSummary],
  resolvers: [ReviewResolver, ProductReviewsResolver, UserReviewsResolver],
  references: {
    Review: (reference, ctx) => ctx.loaders.reviewById.load(String(reference.id)),
    Product: (reference) => Object.assign(new Product(), { id: String(reference.id) }),
    User: (reference) => Object.assign(new User(), { id: String(reference.id) }),
  },
  createLoaders: createReviewsLoaders,
  jobs: { recountRatingSummary: recountRatingSummaryJob },
  // The catalog keeps its own copy of each product's rating from these (it never calls reviews).
  events: { publishes: { RatingChanged: ratingChanged } },
  seed: seedReviews,
  audit: {
    // A deletion returns the review's id only; a refused review names the product it was for.
    targetOf: ({ args }) => {
      const input = args.input as { productId?: unknown } | undefined;
      const id = [args.id, input?.productId].find((value) => typeof value === 'string') as string | undefined;
      return { entityType: 'Review', entityId: id ?? null };
    },
  },
});
