import { describe, expect, it } from '@jest/globals';
import { supergraphForSuite } from '../support/supergraph.js';

const SHOP_FRONT = /* GraphQL */ `
  {
    topProducts(first: 5) {
      name
      price {
        amount
        currency
      }
      inStock
      shippingEstimate
      averageRating
      reviews(first: 3) {
        edges {
          node {
            rating
            author {
              username
              reviews(first: 1) {
                edges {
                  node {
                    product {
                      name
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }
`;

const review = (rating: number, username: string, latestReviewed: string) => ({
  node: { rating, author: { username, reviews: { edges: [{ node: { product: { name: latestReviewed } } }] } } },
});

describe('the supergraph, end to end through a started gateway', () => {
  const supergraph = supergraphForSuite();

  it('answers the shop front from all four subgraphs with the seed data', async () => {
    const { status, data, errors } = await supergraph.query(SHOP_FRONT);
    expect(errors).toBeUndefined();
    expect(status).toBe(200);
    expect(data).toEqual({
      topProducts: [
        {
          name: 'The Pragmatic Programmer',
          price: { amount: 4299, currency: 'USD' },
          inStock: true,
          shippingEstimate: 599,
          averageRating: 4.5,
          reviews: { edges: [review(5, 'ada', 'The Pragmatic Programmer'), review(4, 'grace', 'The Pragmatic Programmer')] },
        },
        {
          name: 'Designing Data-Intensive Applications',
          price: { amount: 5499, currency: 'USD' },
          inStock: true,
          shippingEstimate: 799,
          averageRating: 5,
          reviews: {
            edges: [
              review(5, 'edsger', 'Designing Data-Intensive Applications'),
              review(5, 'barbara', 'Designing Data-Intensive Applications'),
            ],
          },
        },
        {
          name: 'Structure and Interpretation of Computer Programs',
          price: { amount: 6200, currency: 'USD' },
          inStock: false,
          shippingEstimate: 849,
          averageRating: 5,
          reviews: { edges: [review(5, 'alan', 'Structure and Interpretation of Computer Programs')] },
        },
        {
          name: 'A Philosophy of Software Design',
          price: { amount: 2495, currency: 'USD' },
          inStock: true,
          shippingEstimate: 499,
          averageRating: 4,
          reviews: { edges: [review(4, 'barbara', 'Designing Data-Intensive Applications')] },
        },
        {
          name: 'The Art of PostgreSQL',
          price: { amount: 3900, currency: 'USD' },
          inStock: true,
          shippingEstimate: 649,
          averageRating: 3,
          reviews: { edges: [review(3, 'grace', 'The Pragmatic Programmer')] },
        },
      ],
    });
  });

  it('serves @provides: review authors come from reviews without asking accounts', async () => {
    supergraph.resetSql();
    const { data } = await supergraph.query(`{ topProducts(first: 2) { reviews(first: 2) { edges { node { author { username } } } } } }`);
    expect(data?.topProducts[0].reviews.edges[0].node.author.username).toBe('ada');
    expect(supergraph.subgraphs.accounts!.sql).toHaveLength(0);
  });

  it('resolves Product by upc, the second @key', async () => {
    const { data } = await supergraph.query(`{ product(upc: "200000000002") { name quantity inStock averageRating } }`);
    expect(data).toEqual({ product: { name: 'Chef Knife', quantity: 9, inStock: true, averageRating: 4 } });
  });

  it('pages through products with cursors, filters and ordering', async () => {
    const query = `query($after: String) { products(first: 3, after: $after, filter: { categoryId: null, search: "e", priceRange: { min: 3000, max: 20000 } }, orderBy: { field: PRICE, direction: ASC }) {
      totalCount edges { node { name price { amount } } } pageInfo { hasNextPage endCursor } } }`;
    const seen: number[] = [];
    let after: string | null = null;
    let total = 0;
    for (let page = 0; page < 10; page++) {
      const { data, errors }: { data?: any; errors?: unknown } = await supergraph.query(query, { after });
      expect(errors).toBeUndefined();
      total = data.products.totalCount;
      seen.push(...data.products.edges.map((e: any) => e.node.price.amount));
      if (!data.products.pageInfo.hasNextPage) break;
      after = data.products.pageInfo.endCursor;
    }
    expect(seen).toHaveLength(total);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen.every((amount) => amount >= 3000 && amount <= 20000)).toBe(true);
    expect(total).toBeGreaterThan(3);
  });

  it('refuses a page above 100 with a clear BAD_USER_INPUT', async () => {
    const { errors } = await supergraph.query(`{ products(first: 101) { totalCount } }`);
    expect(errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(errors?.[0]?.message).toMatch(/first must be at most 100/);
  });

  it('answers a missing product with null, not an error', async () => {
    const { data, errors } = await supergraph.query(
      `{ a: product(id: "0d1c9a8e-9a59-4d55-8a0e-6f5f5b7b8a11") { name } b: product(id: "not-an-id") { name } }`,
    );
    expect(errors).toBeUndefined();
    expect(data).toEqual({ a: null, b: null });
  });

  it('names each invalid input field', async () => {
    const { errors } = await supergraph.query(
      `mutation { createProduct(input: { upc: "12", name: "", price: { amount: -1, currency: "usd" }, weight: 10, categoryId: "x" }) { id } }`,
      {},
      await supergraph.loginAs('grace'),
    );
    expect(errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const fields = (errors?.[0]?.extensions?.fields as { field: string }[]).map((f) => f.field).sort();
    expect(fields).toEqual(['input.categoryId', 'input.name', 'input.price.amount', 'input.price.currency', 'input.upc']);
  });

  it('creates and updates a product as staff, then serves it with stock and shipping', async () => {
    const staff = await supergraph.loginAs('grace');
    const { data: categories } = await supergraph.query(`{ categories { id slug } }`);
    const books = categories?.categories.find((c: { slug: string }) => c.slug === 'books').id;
    const created = await supergraph.query(
      `mutation($c: ID!) { createProduct(input: { upc: "999000000001", name: "Refactoring", price: { amount: 4700, currency: "USD" }, weight: 900, categoryId: $c }) { id name category { slug } } }`,
      { c: books },
      staff,
    );
    expect(created.errors).toBeUndefined();
    const id = created.data?.createProduct.id;
    expect(created.data?.createProduct).toMatchObject({ name: 'Refactoring', category: { slug: 'books' } });

    const duplicate = await supergraph.query(
      `mutation($c: ID!) { createProduct(input: { upc: "999000000001", name: "Again", price: { amount: 1, currency: "USD" }, weight: 1, categoryId: $c }) { id } }`,
      { c: books },
      staff,
    );
    expect(duplicate.errors?.[0]?.extensions?.code).toBe('CONFLICT');

    const updated = await supergraph.query(
      `mutation($id: ID!) { updateProduct(id: $id, input: { price: { amount: 12000, currency: "USD" } }) { price { amount } shippingEstimate inStock quantity } }`,
      { id },
      staff,
    );
    expect(updated.data?.updateProduct).toEqual({ price: { amount: 12000 }, shippingEstimate: 0, inStock: false, quantity: 0 });

    const missing = await supergraph.query(
      `mutation { updateProduct(id: "0d1c9a8e-9a59-4d55-8a0e-6f5f5b7b8a11", input: { name: "x" }) { id } }`,
      {},
      staff,
    );
    expect(missing.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('adjusts stock through the gateway and refuses to go below zero', async () => {
    const staff = await supergraph.loginAs('grace');
    const { data } = await supergraph.query(`{ product(upc: "100000000005") { id quantity } }`);
    const id = data?.product.id;
    const taken = await supergraph.query(
      `mutation($id: ID!) { adjustStock(productId: $id, delta: -3) { quantity inStock } }`,
      { id },
      staff,
    );
    expect(taken.data?.adjustStock).toEqual({ quantity: 0, inStock: false });
    const refused = await supergraph.query(`mutation($id: ID!) { adjustStock(productId: $id, delta: -1) { quantity } }`, { id }, staff);
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'INSUFFICIENT_STOCK', available: 0, delta: -1 });
  });

  it('refuses to add a review anonymously', async () => {
    const { data } = await supergraph.query(`{ product(upc: "100000000001") { id } }`);
    const { errors } = await supergraph.query(`mutation($p: ID!) { addReview(input: { productId: $p, body: "hi", rating: 5 }) { id } }`, {
      p: data?.product.id,
    });
    expect(errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('echoes a given request id, makes one otherwise, and reports readiness', async () => {
    const given = await supergraph.query(`{ __typename }`, undefined, { 'x-request-id': 'trace-me-42' });
    expect(given.headers.get('x-request-id')).toBe('trace-me-42');
    const made = await supergraph.query(`{ __typename }`);
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const ready = await fetch(`${supergraph.origin}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, subgraphs: { accounts: 'up', catalog: 'up', inventory: 'up', reviews: 'up' } });
  });

  it('answers a body that is not JSON with a GraphQL error, not a stack trace', async () => {
    const response = await fetch(supergraph.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      errors: [{ message: 'The request body is not valid JSON.', extensions: { code: 'BAD_REQUEST' } }],
    });
  });
});
