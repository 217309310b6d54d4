import { z } from 'zod';
import { reportChanged } from '../../shared/cache-tags/cache-tags.js';
import type { JobDefinition } from '../../shared/jobs/definition.js';
import { Product } from './entities/product.entity.js';

/** Reviews' `RatingChanged`, as the catalog reads it (its own copy of the schema: a subgraph never imports another). */
const ratingChanged = z.object({
  productId: z.uuid(),
  count: z.number().int().nonnegative(),
  average: z.number().min(1).max(5).nullable(),
  version: z.number().int().nonnegative(),
});

/**
 * Keeps the catalog's copy of a product's rating: the event with the largest version wins, whatever order they come in
 * (a repeat of the same one applies again, so a retry reports again). The rating-ordered lists depend on
 * `averageRating` (`@ListDependsOn`), which this reports changed to the gateways once written.
 */
export const ratingChangedConsumer: JobDefinition<z.infer<typeof ratingChanged>> = {
  payload: ratingChanged,
  async handler({ productId, count, average, version }, context) {
    const applied = await context.em!.nativeUpdate(
      Product,
      { id: productId, $or: [{ ratingVersion: null }, { ratingVersion: { $lte: String(version) } }] },
      { ratingCount: count, ratingAverage: average ?? 0, ratingVersion: String(version) },
    );
    if (applied) reportChanged(context, 'Product', productId, ['averageRating']);
  },
};
