import {
  AddReviewDocument,
  createClient,
  DeleteReviewDocument,
  LoginDocument,
  MyReviewsDocument,
  ProductDocument,
  ProductsDocument,
  type ClientOptions,
  type TesseraClient,
} from '../sdk/index.js';

interface ShopTourOptions extends Pick<ClientOptions, 'url' | 'persisted' | 'fetch'> {
  email: string;
  password: string;
  /** Where the tour says what it does. */
  print: (line: string) => void;
}

const money = ({ amount, currency }: { amount: number; currency: string }) => `${(amount / 100).toFixed(2)} ${currency}`;

/** The ids of the caller's reviews of one product, read page by page. */
async function ownReviewsOf(client: TesseraClient, productId: string): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null | undefined;
  do {
    const { me } = await client.request(MyReviewsDocument, { after });
    if (!me) return ids;
    ids.push(...me.reviews.edges.filter(({ node }) => node.product.id === productId).map(({ node }) => node.id));
    after = me.reviews.pageInfo.hasNextPage ? me.reviews.pageInfo.endCursor : undefined;
  } while (after);
  return ids;
}

/**
 * What a shop client does with the typed SDK: sign in, list products, review one. Every
 * result below is typed from the operations in sdk/operations/ (hover over them in an editor).
 * The review replaces the customer's earlier ones of that product, so running the tour again
 * leaves as many reviews as before.
 */
export async function shopTour({ email, password, print, ...clientOptions }: ShopTourOptions) {
  const anonymous = createClient(clientOptions);
  const { login } = await anonymous.request(LoginDocument, { email, password });
  print(`signed in as ${login.user.username}; the access token expires in ${login.expiresIn} s`);
  const client = anonymous.withToken(login.accessToken);

  const { products } = await client.request(ProductsDocument, { first: 5, orderBy: { field: 'PRICE', direction: 'ASC' } });
  print(`${products.totalCount} products; the 5 cheapest:`);
  for (const { node } of products.edges)
    print(`  ${node.name.padEnd(32)} ${money(node.price).padStart(12)}  ${node.category.name}${node.inStock ? '' : ' (out of stock)'}`);

  const productId = products.edges[0]!.node.id;
  const earlier = await ownReviewsOf(client, productId);
  for (const id of earlier) await client.request(DeleteReviewDocument, { id });
  if (earlier.length)
    print(`deleted ${login.user.username}'s earlier review${earlier.length === 1 ? '' : 's'} of it (${earlier.join(', ')})`);
  const { addReview } = await client.request(AddReviewDocument, {
    input: { productId, rating: 5, body: 'Does what it says, and cheaply.' },
  });
  print(`${addReview.author.username} reviewed ${addReview.product.name}: ${'★'.repeat(addReview.rating)} (${addReview.id})`);

  const { product } = await client.request(ProductDocument, { id: productId, reviews: 3 });
  const { totalCount } = product!.reviews;
  print(`${product!.name} now has ${totalCount} review${totalCount === 1 ? '' : 's'}, average ${product!.averageRating?.toFixed(2)}`);
  return { login, products, addReview, product: product! };
}
