import { createClient, ProductPageDocument, TopProductsDocument, type ClientOptions, type ProductPageQuery } from '../sdk/index.js';

interface ProductPageTourOptions extends Pick<ClientOptions, 'url' | 'persisted' | 'fetch'> {
  /** Where the tour says what it shows. */
  print: (line: string) => void;
}

const money = ({ amount, currency }: { amount: number; currency: string }) => `${(amount / 100).toFixed(2)} ${currency}`;

/**
 * A product page with `@defer`: the top product's name, price and stock at once, its reviews
 * when they arrive (`client.requestIncremental`), printed as each state comes. Returns the
 * states, in order.
 */
export async function productPageTour({ print, ...client }: ProductPageTourOptions): Promise<ProductPageQuery[]> {
  const anonymous = createClient(client);
  const { topProducts } = await anonymous.request(TopProductsDocument, { first: 1 });
  const top = topProducts[0];
  if (!top) throw new Error('The shop has no products: is the seed data loaded?');
  const states: ProductPageQuery[] = [];
  const started = performance.now();
  for await (const state of anonymous.requestIncremental(ProductPageDocument, { id: top.id, reviews: 3 })) {
    states.push(state);
    const { product } = state;
    const at = `${Math.round(performance.now() - started)} ms`;
    if (!product) print(`${at}: no such product`);
    else if (!product.reviews)
      print(`${at}: ${product.name}, ${money(product.price)}, ${product.inStock ? 'in stock' : 'sold out'}; reviews loading…`);
    else {
      print(
        `${at}: ${product.reviews.totalCount} reviews, ${product.averageRating === null ? 'not rated' : `rated ${product.averageRating}`}`,
      );
      for (const { node } of product.reviews.edges) print(`  ${'★'.repeat(node.rating)} ${node.author.username}: ${node.body}`);
    }
  }
  return states;
}
