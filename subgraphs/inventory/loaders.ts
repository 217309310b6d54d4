import DataLoader from 'dataloader';
import type { SubgraphContext } from '../../shared/subgraph/context.js';
import { isUuid } from '../../shared/subgraph/loaders.js';
import type { EntityManager } from '../../shared/store/orm.js';
import { observeBatches } from '../../shared/subgraph/metrics.js';
import { Stock } from './entities/stock.entity.js';
import type { InventoryServices } from './stock-low.js';

export function createInventoryLoaders(em: EntityManager) {
  return {
    /** Units on hand; 0 for a product the inventory has never stocked. */
    quantityByProductId: new DataLoader<string, number>(
      observeBatches('quantityByProductId', async (productIds) => {
        const wanted = productIds.filter(isUuid);
        const rows = wanted.length ? await em.find(Stock, { productId: { $in: wanted } }, { fields: ['productId', 'quantity'] }) : [];
        const byId = new Map(rows.map((row) => [row.productId, row.quantity]));
        return productIds.map((id) => byId.get(id) ?? 0);
      }),
    ),
  };
}

type InventoryLoaders = ReturnType<typeof createInventoryLoaders>;
export type InventoryContext = SubgraphContext<InventoryLoaders, InventoryServices>;
