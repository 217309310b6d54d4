import { describe, expect, it } from '@jest/globals';
import { Stock } from '../entities/stock.entity.js';
import { inventory } from '../index.js';
import { testIdentity } from '../../../test/support/config.js';
import { subgraphForSuite } from '../../../test/support/subgraph.js';

const staff = testIdentity('grace', 'staff');
const ADJUST = `mutation($id: ID!, $delta: Int!) { adjustStock(productId: $id, delta: $delta) { id quantity inStock } }`;

describe('adjustStock', () => {
  const subgraph = subgraphForSuite(inventory, { seed: false });

  async function stockOf(productId: string, quantity: number): Promise<void> {
    const em = subgraph.orm.em.fork();
    em.create(Stock, { productId, quantity });
    await em.flush();
  }

  async function quantityOf(productId: string): Promise<number | undefined> {
    return (await subgraph.orm.em.fork().findOne(Stock, { productId }))?.quantity;
  }

  it('50 concurrent takes of 1 from 20 leave exactly 0 and refuse 30 cleanly', async () => {
    const productId = '7b0c1f52-8f1e-4c43-9d43-2d1f6f0a0001';
    await stockOf(productId, 20);
    const results = await Promise.all(Array.from({ length: 50 }, () => subgraph.query(ADJUST, { id: productId, delta: -1 }, staff)));
    const succeeded = results.filter((r) => !r.errors);
    const refused = results.filter((r) => r.errors);
    expect(succeeded).toHaveLength(20);
    expect(refused).toHaveLength(30);
    for (const r of refused) {
      expect(r.errors).toHaveLength(1);
      expect(r.errors![0]!.extensions).toMatchObject({ code: 'INSUFFICIENT_STOCK', delta: -1 });
    }
    // Each success saw a distinct remaining quantity: 19 down to 0.
    expect(succeeded.map((r) => r.data!.adjustStock.quantity).sort((a: number, b: number) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
    expect(await quantityOf(productId)).toBe(0);
  });

  it('adds stock to a product it has never stocked', async () => {
    const productId = '7b0c1f52-8f1e-4c43-9d43-2d1f6f0a0002';
    const { data } = await subgraph.query(ADJUST, { id: productId, delta: 5 }, staff);
    expect(data?.adjustStock).toEqual({ id: productId, quantity: 5, inStock: true });
    expect(await quantityOf(productId)).toBe(5);
  });

  it('refuses to take from a product with no stock, and changes nothing', async () => {
    const productId = '7b0c1f52-8f1e-4c43-9d43-2d1f6f0a0003';
    const { errors } = await subgraph.query(ADJUST, { id: productId, delta: -1 }, staff);
    expect(errors?.[0]?.extensions).toMatchObject({ code: 'INSUFFICIENT_STOCK', available: 0 });
    expect(await quantityOf(productId)).toBeUndefined();
  });

  it('refuses a malformed product id and an absurd delta as BAD_USER_INPUT', async () => {
    const badId = await subgraph.query(ADJUST, { id: 'nope', delta: 1 }, staff);
    expect(badId.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      fields: [{ field: 'productId', message: 'not a product id' }],
    });
    const huge = await subgraph.query(ADJUST, { id: '7b0c1f52-8f1e-4c43-9d43-2d1f6f0a0004', delta: 2_000_000 }, staff);
    expect(huge.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
