import DataLoader from 'dataloader';
import type { SubgraphContext } from '../../shared/subgraph/context.js';
import { isUuid, loadByKeys } from '../../shared/subgraph/loaders.js';
import type { EntityManager } from '../../shared/store/orm.js';
import { observeBatches } from '../../shared/subgraph/metrics.js';
import { pagesByParent, type Connection, type PageArgs } from '../../shared/subgraph/pagination.js';
import { RatingSummary } from './entities/rating-summary.entity.js';
import { Review } from './entities/review.entity.js';
import { averageOf } from './rating-summary.js';

/**
 * Paged relations take arguments, so each distinct (first, after) gets its own loader:
 * `Product.reviews(first: 3)` over 50 products is still one batch.
 */
function pagesLoader(em: EntityManager, parent: 'product' | 'author', name: string) {
  const loaders = new Map<string, DataLoader<string, Connection<Review>>>();
  return (args: PageArgs) => {
    const key = `${args.first}:${args.after ?? ''}`;
    let loader = loaders.get(key);
    if (!loader) {
      loader = new DataLoader(observeBatches(name, (ids: readonly string[]) => pagesByParent(em, Review, parent, ids, args, isUuid)));
      loaders.set(key, loader);
    }
    return loader;
  };
}

export function createReviewsLoaders(em: EntityManager) {
  return {
    reviewById: new DataLoader<string, Review | null>(observeBatches('reviewById', (ids) => loadByKeys(em, Review, 'id', ids, isUuid))),
    reviewsByProduct: pagesLoader(em, 'product', 'reviewsByProduct'),
    reviewsByAuthor: pagesLoader(em, 'author', 'reviewsByAuthor'),
    averageRatingByProduct: new DataLoader<string, number | null>(
      observeBatches('averageRatingByProduct', async (productIds) => {
        const wanted = productIds.filter(isUuid);
        const rows = wanted.length
          ? await em.find(RatingSummary, { productId: { $in: wanted } }, { fields: ['productId', 'reviewCount', 'ratingSum'] })
          : [];
        const byId = new Map(rows.map((row) => [row.productId, averageOf(row.reviewCount, row.ratingSum)]));
        return productIds.map((id) => byId.get(id) ?? null);
      }),
    ),
  };
}

type ReviewsLoaders = ReturnType<typeof createReviewsLoaders>;
export type ReviewsContext = SubgraphContext<ReviewsLoaders>;
