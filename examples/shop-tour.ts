import { AddReviewDocument, createClient, LoginDocument, ProductDocument, ProductsDocument, type ClientOptions } from '../sdk/index.js';

export interface ShopTourOptions extends Pick<ClientOptions, 'url' | 'persisted' | 'fetch'> {
  email: string;
  password: string;
  /** Where the tour says what it does. */
  print: (line: string) => void;
}

const money = ({ amount, currency }: { amount: number; currency: string }) => `${(amount / 100).toFixed(2)} ${currency}`;

/**
 * What a shop client does with the typed SDK: sign in, list products, review one. Every
 * result below is typed from the operations in sdk/operations/ (hover over them in an editor).
 */
export async function shopTour({ email, password, print, ...clientOptions }: ShopTourOptions) {
  const anonymous = createClient(clientOptions);
  const { login } = await anonymous.request(LoginDocument, { email, password });
  print(`signed in as ${login.user.username}; the access token expires in ${login.expiresIn} s`);
  const client = anonymous.withToken(login.accessToken);

  const { products } = await client.request(ProductsDocument, { first: 5, orderBy: { field: 'PRICE', direction: 'ASC' } });
  print(`${products.totalCount} products; the 5 cheapest:`);
  for (const { node } of products.edges) print(`  ${node.name.padEnd(32)} ${money(node.price).padStart(12)}  ${node.category.name}${node.inStock ? '' : ' (out of stock)'}`);

  const productId = products.edges[0]!.node.id;
  const { addReview } = await client.request(AddReviewDocument, { input: { productId, rating: 5, body: 'Does what it says, and cheaply.' } });
  print(`${addReview.author.username} reviewed ${addReview.product.name}: ${'★'.repeat(addReview.rating)} (${addReview.id})`);

  const { product } = await client.request(ProductDocument, { id: productId, reviews: 3 });
  const { totalCount } = product!.reviews;
  print(`${product!.name} now has ${totalCount} review${totalCount === 1 ? '' : 's'}, average ${product!.averageRating?.toFixed(2)}`);
  return { login, products, addReview, product: product! };
}
