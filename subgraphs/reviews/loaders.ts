import DataLoader from 'dataloader';
import type { SubgraphContext } from '../../shared/subgraph/context.js';
import { isUuid, loadByKeys } from '../../shared/subgraph/loaders.js';
import type { EntityManager } from '../../shared/store/orm.js';
import { observeBatches } from '../../shared/subgraph/metrics.js';
import { pagesByParent, type Connection, type PageArgs } from '../../shared/subgraph/pagination.js';
import { Review } from './entities/review.entity.js';

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
          ? await em.execute<{ product_id: string; average: string }[]>(
              `select product_id, avg(rating) as average from ${em.getMetadata().get(Review).tableName}
             where product_id in (${wanted.map(() => '?').join(', ')}) group by product_id`,
              wanted,
            )
          : [];
        const byId = new Map(rows.map((row) => [row.product_id, Math.round(Number(row.average) * 100) / 100]));
        return productIds.map((id) => byId.get(id) ?? null);
      }),
    ),
  };
}

type ReviewsLoaders = ReturnType<typeof createReviewsLoaders>;
export type ReviewsContext = SubgraphContext<ReviewsLoaders>;
