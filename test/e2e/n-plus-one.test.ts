import { beforeAll, describe, expect, it } from '@jest/globals';
import { Product } from '../../subgraphs/catalog/entities/product.entity.js';
import { Stock } from '../../subgraphs/inventory/entities/stock.entity.js';
import { Review } from '../../subgraphs/reviews/entities/review.entity.js';
import { seedId } from '../../shared/store/seed.js';
import { supergraphForSuite } from '../support/supergraph.js';

// `author { name }` is not provided by reviews, so it makes the gateway fetch Users from accounts.
const PRODUCTS_WITH_REVIEWS = /* GraphQL */ `
  query ($first: Int!) {
    products(first: $first) {
      edges {
        node {
          name
          inStock
          shippingEstimate
          averageRating
          reviews(first: 3) {
            edges {
              node {
                rating
                author {
                  username
                  name
                  reviews(first: 2) {
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
    }
  }
`;

/** Statements that read or write data (connection set-up such as `set names` is not the resolvers' doing). */
const isDataStatement = (sql: string) => /^\s*(select|insert|update|delete|with)\b/i.test(sql);

describe('DataLoader batching across the supergraph', () => {
  // The response cache would answer repeats without SQL; this measures the resolvers.
  const supergraph = supergraphForSuite({ responseCache: false });
  beforeAll(async () => {
    const { catalog, inventory, reviews } = supergraph.subgraphs;
    const category = seedId('category', 'books');
    const catalogEm = catalog!.orm.em.fork();
    const inventoryEm = inventory!.orm.em.fork();
    const reviewsEm = reviews!.orm.em.fork();
    const authors = ['ada', 'grace', 'alan'];
    for (let i = 0; i < 50; i++) {
      const product = catalogEm.create(Product, {
        upc: String(500000000000 + i),
        name: `Batch product ${i}`,
        priceAmount: 1000 + i,
        priceCurrency: 'USD',
        weight: 100 * i,
        category,
        createdAt: new Date(Date.now() + i * 1000),
      });
      inventoryEm.create(Stock, { productId: product.id, quantity: i % 3 });
      authors.forEach((author, a) =>
        reviewsEm.create(Review, {
          product: product.id,
          author: seedId('user', author),
          authorUsername: author,
          body: `review ${a}`,
          rating: 1 + ((i + a) % 5),
        }),
      );
    }
    await Promise.all([catalogEm.flush(), inventoryEm.flush(), reviewsEm.flush()]);
  });

  async function statementsFor(first: number): Promise<number> {
    supergraph.resetSql();
    const { data, errors } = await supergraph.query(PRODUCTS_WITH_REVIEWS, { first });
    expect(errors).toBeUndefined();
    expect(data?.products.edges).toHaveLength(first);
    // Every product really carries three reviews with resolved authors, so the count means something.
    for (const { node } of data?.products.edges ?? []) {
      expect(node.reviews.edges).toHaveLength(3);
      expect(node.reviews.edges[0].node.author.name).toEqual(expect.any(String));
    }
    const all = Object.values(supergraph.subgraphs).flatMap((s) => s.sql);
    return all.filter(isDataStatement).length;
  }

  it('sends as many SQL statements for 50 products as for 1', async () => {
    await statementsFor(50); // warm up pools and plans
    const one = await statementsFor(1);
    const fifty = await statementsFor(50);
    expect(one).toBeGreaterThan(0);
    expect(fifty).toBe(one);
  });
});
