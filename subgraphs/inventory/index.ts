import { defineSubgraph } from '../../shared/subgraph/definition.js';
import { Stock } from './entities/stock.entity.js';
import { createInventoryLoaders } from './loaders.js';
import { Product } from './resolvers/product.type.js';
import { StockResolver } from './resolvers/stock.resolver.js';
import { seedInventory } from './seed.js';
import { deliverStockLow, stockLowPayload, type InventoryServices } from './stock-low.js';

/** Stock on hand; extends Product with quantity, inStock and shippingEstimate. */
export const inventory = defineSubgraph({
  name: 'inventory',
  port: 4003,
  entities: [Stock],
  resolvers: [StockResolver],
  references: {
    // The representation carries price and weight when the gateway needs shippingEstimate.
    Product: (reference) => Object.assign(new Product(), reference),
  },
  createServices: (config): InventoryServices => ({ stockLow: config.stockLow }),
  createLoaders: createInventoryLoaders,
  events: { publishes: { StockLow: stockLowPayload } },
  jobs: { deliverStockLow },
  seed: seedInventory,
  // A refused adjustment names the product whose stock it was for.
  audit: { targetOf: ({ args }) => ({ entityType: 'Stock', entityId: typeof args.productId === 'string' ? args.productId : null }) },
});
