import { describe, expect, it } from '@jest/globals';
import { subgraphForSuite } from '../../../test/support/subgraph.js';
import { catalog } from '../index.js';

describe('catalog', () => {
  const subgraph = subgraphForSuite(catalog);

  const names = async (args: string) => {
    const { data, errors } = await subgraph.query(`{ products(${args}) { totalCount edges { node { name } } } }`);
    expect(errors).toBeUndefined();
    return data?.products.edges.map((e: { node: { name: string } }) => e.node.name) as string[];
  };

  it('searches names and descriptions case-insensitively, with % and _ taken literally', async () => {
    expect(await names(`first: 5, filter: { search: "KNIFE" }`)).toEqual(['Chef Knife']);
    expect(await names(`first: 5, filter: { search: "%" }`)).toEqual([]);
    expect(await names(`first: 5, filter: { search: "_" }`)).toEqual([]);
  });

  it('filters by category and orders by name', async () => {
    const { data } = await subgraph.query(`{ categories { id slug } }`);
    const kitchen = data?.categories.find((c: { slug: string }) => c.slug === 'kitchen').id;
    expect(await names(`first: 10, filter: { categoryId: "${kitchen}" }, orderBy: { field: NAME, direction: ASC }`)).toEqual([
      'Bamboo Cutting Board',
      'Cast Iron Skillet',
      'Chef Knife',
      'Espresso Grinder',
      'Pour-Over Coffee Kettle',
    ]);
  });

  it('orders by the input’s default field when only the direction is given, or nothing', async () => {
    const newestFirst = await names('first: 20');
    expect(await names('first: 20, orderBy: {}')).toEqual(newestFirst);
    expect(await names('first: 20, orderBy: { direction: ASC }')).toEqual([...newestFirst].reverse());
  });

  it('refuses a price range upside down, and a cursor from another ordering', async () => {
    const range = await subgraph.query(`{ products(filter: { priceRange: { min: 5, max: 1 } }) { totalCount } }`);
    expect(range.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const { data } = await subgraph.query(`{ products(first: 1, orderBy: { field: NAME }) { pageInfo { endCursor } } }`);
    const cursor = data?.products.pageInfo.endCursor;
    const mixed = await subgraph.query(`{ products(first: 1, after: "${cursor}", orderBy: { field: PRICE }) { totalCount } }`);
    expect(mixed.errors?.[0]).toMatchObject({
      extensions: { code: 'BAD_USER_INPUT' },
      message: expect.stringMatching(/not a cursor of this list/),
    });
  });

  it('wants exactly one of id and upc', async () => {
    for (const args of ['', 'id: "a", upc: "b"']) {
      const { errors } = await subgraph.query(`{ product${args ? `(${args})` : ''} { name } }`);
      expect(errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
  });

  it('caps topProducts at 100', async () => {
    const { errors } = await subgraph.query(`{ topProducts(first: 1000) { name } }`);
    expect(errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
