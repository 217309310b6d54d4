import DataLoader from 'dataloader';
import { isUuid, loadByKeys } from '../../shared/subgraph/loaders.js';
import type { SubgraphContext } from '../../shared/subgraph/context.js';
import type { EntityManager } from '../../shared/store/orm.js';
import { observeBatches } from '../../shared/subgraph/metrics.js';
import { Category } from './entities/category.entity.js';
import { Product } from './entities/product.entity.js';

export function createCatalogLoaders(em: EntityManager) {
  return {
    productById: new DataLoader<string, Product | null>(observeBatches('productById', (ids) => loadByKeys(em, Product, 'id', ids, isUuid))),
    productByUpc: new DataLoader<string, Product | null>(observeBatches('productByUpc', (upcs) => loadByKeys(em, Product, 'upc', upcs))),
    categoryById: new DataLoader<string, Category | null>(
      observeBatches('categoryById', (ids) => loadByKeys(em, Category, 'id', ids, isUuid)),
    ),
  };
}

type CatalogLoaders = ReturnType<typeof createCatalogLoaders>;
export type CatalogContext = SubgraphContext<CatalogLoaders>;
