import { seedDate, seedId } from '../../shared/store/seed.js';
import type { EntityManager } from '../../shared/store/orm.js';
import { Category } from './entities/category.entity.js';
import { Product } from './entities/product.entity.js';

const categories = [
  { slug: 'books', name: 'Books' },
  { slug: 'kitchen', name: 'Kitchen' },
  { slug: 'outdoors', name: 'Outdoors' },
  { slug: 'electronics', name: 'Electronics' },
];

/** [upc, name, category, price in cents, grams]; ids are `seedId('product', upc)`. */
const products: [string, string, string, number, number][] = [
  ['100000000001', 'The Pragmatic Programmer', 'books', 4299, 680],
  ['100000000002', 'Designing Data-Intensive Applications', 'books', 5499, 1050],
  ['100000000003', 'Structure and Interpretation of Computer Programs', 'books', 6200, 1200],
  ['100000000004', 'A Philosophy of Software Design', 'books', 2495, 320],
  ['100000000005', 'The Art of PostgreSQL', 'books', 3900, 750],
  ['200000000001', 'Cast Iron Skillet', 'kitchen', 3495, 2300],
  ['200000000002', 'Chef Knife', 'kitchen', 8900, 250],
  ['200000000003', 'Pour-Over Coffee Kettle', 'kitchen', 4500, 900],
  ['200000000004', 'Bamboo Cutting Board', 'kitchen', 2199, 1400],
  ['200000000005', 'Espresso Grinder', 'kitchen', 18900, 3100],
  ['300000000001', 'Two-Person Tent', 'outdoors', 22900, 2100],
  ['300000000002', 'Trail Running Shoes', 'outdoors', 12900, 620],
  ['300000000003', 'Insulated Water Bottle', 'outdoors', 2995, 410],
  ['300000000004', 'Headlamp', 'outdoors', 3499, 90],
  ['300000000005', 'Down Sleeping Bag', 'outdoors', 27900, 1100],
  ['400000000001', 'Mechanical Keyboard', 'electronics', 14900, 1050],
  ['400000000002', 'Noise-Cancelling Headphones', 'electronics', 29900, 260],
  ['400000000003', 'USB-C Hub', 'electronics', 4999, 120],
  ['400000000004', '27-inch Monitor', 'electronics', 32900, 6200],
  ['400000000005', 'E-Reader', 'electronics', 13900, 180],
];

export async function seedCatalog(em: EntityManager): Promise<void> {
  const bySlug = new Map(
    categories.map((c, i) => [c.slug, em.create(Category, { id: seedId('category', c.slug), ...c, createdAt: seedDate(100 + i) })]),
  );
  products.forEach(([upc, name, slug, price, weight], i) => {
    em.create(Product, {
      id: seedId('product', upc),
      upc,
      name,
      description: `${name}, from the ${bySlug.get(slug)!.name.toLowerCase()} shelf.`,
      priceAmount: price,
      priceCurrency: 'USD',
      weight,
      category: bySlug.get(slug)!,
      // The first product is the newest, so topProducts lists them in this order.
      createdAt: seedDate(i),
    });
  });
  await em.flush();
}
