import { defineSubgraph } from '../../shared/subgraph/definition.js';
import { Category } from './entities/category.entity.js';
import { Product } from './entities/product.entity.js';
import { createCatalogLoaders } from './loaders.js';
import { ratingChangedConsumer } from './rating.js';
import { CategoryResolver } from './resolvers/category.resolver.js';
import { ProductResolver } from './resolvers/product.resolver.js';
import { seedCatalog } from './seed.js';

/** Products and their categories; owns the Product entity (keyed by id and by upc). */
export const catalog = defineSubgraph({
  name: 'catalog',
  port: 4002,
  entities: [Category, Product],
  resolvers: [ProductResolver, CategoryResolver],
  references: {
    Product: (reference, ctx) =>
      typeof reference.id === 'string' ? ctx.loaders.productById.load(reference.id) : ctx.loaders.productByUpc.load(String(reference.upc)),
  },
  createLoaders: createCatalogLoaders,
  seed: seedCatalog,
  // Ratings come from reviews' events, into the catalog's own columns: the catalog never calls reviews.
  events: { consumes: { 'reviews.RatingChanged': ratingChangedConsumer } },
  // A refused write has no product to show: an update names the one it was for.
  audit: { targetOf: ({ args }) => ({ entityType: 'Product', entityId: typeof args.id === 'string' ? args.id : null }) },
});
