import type { EntityManager } from '../../shared/store/orm.js';
import { seedId } from '../../shared/store/seed.js';
import { Stock } from './entities/stock.entity.js';

/** Units on hand by product UPC (the catalog's seed); a few are sold out. */
const stock: Record<string, number> = {
  '100000000001': 12,
  '100000000002': 7,
  '100000000003': 0,
  '100000000004': 25,
  '100000000005': 3,
  '200000000001': 40,
  '200000000002': 9,
  '200000000003': 0,
  '200000000004': 60,
  '200000000005': 2,
  '300000000001': 5,
  '300000000002': 18,
  '300000000003': 120,
  '300000000004': 33,
  '300000000005': 0,
  '400000000001': 14,
  '400000000002': 6,
  '400000000003': 80,
  '400000000004': 4,
  '400000000005': 11,
};

export async function seedInventory(em: EntityManager): Promise<void> {
  for (const [upc, quantity] of Object.entries(stock)) {
    em.create(Stock, { productId: seedId('product', upc), quantity });
  }
  await em.flush();
}
