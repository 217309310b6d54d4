import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { seedId } from '../../shared/store/seed.js';
import { DisposableRedis, freePort } from '../support/redis.js';
import { startTestSupergraph, type TestSupergraph } from '../support/supergraph.js';

const PRODUCT = `query($id: ID!) { product(id: $id) { name quantity } }`;
const kettle = seedId('product', '200000000003');

describe('the response cache when Redis fails', () => {
  let redis: DisposableRedis;
  let supergraph: TestSupergraph;

  beforeAll(async () => {
    redis = new DisposableRedis(await freePort());
    await redis.start();
    supergraph = await startTestSupergraph({ redis: { url: `redis://127.0.0.1:${redis.port}`, prefix: 'outage:' } });
  });
  afterAll(async () => {
    await supergraph?.stop();
    await redis?.kill();
  });

  const read = () => supergraph.query(PRODUCT, { id: kettle });
  async function untilHit(): Promise<void> {
    for (let i = 0; i < 60; i++) {
      await read();
      if ((await read()).headers.get('x-cache') === 'HIT') return;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error('caching did not resume');
  }

  it('serves every request while Redis is down, and caches again once it is back', async () => {
    await untilHit();
    await redis.kill();
    const during = await Promise.all(Array.from({ length: 20 }, read));
    for (const response of during) {
      expect(response.status).toBe(200);
      expect(response.errors).toBeUndefined();
      expect(response.data?.product.name).toBe('Pour-Over Coffee Kettle');
      expect(response.headers.get('x-cache')).toBe('BYPASS');
    }
    const staff = await supergraph.loginAs('grace');
    const mutation = await supergraph.query(
      `mutation($id: ID!) { adjustStock(productId: $id, delta: 3) { quantity } }`,
      { id: kettle },
      staff,
    );
    expect(mutation.data?.adjustStock.quantity).toBe(3);

    await redis.start();
    await untilHit();
    expect((await read()).data?.product.quantity).toBe(3);
  });

  it('never serves an entry a write made stale while Redis could not take the purge', async () => {
    await untilHit();
    const staff = await supergraph.loginAs('grace');
    // Writes (the purge) block while reads (the lookup that would find the old entry) still work.
    const admin = new Redis({ port: redis.port });
    await admin.call('CLIENT', 'PAUSE', '3000', 'WRITE');
    try {
      const write = await supergraph.query(
        `mutation($id: ID!) { adjustStock(productId: $id, delta: 2) { quantity } }`,
        { id: kettle },
        staff,
      );
      expect(write.data?.adjustStock.quantity).toBe(5);
      for (let i = 0; i < 5; i++) {
        const during = await read();
        expect(during.data?.product.quantity).toBe(5);
        expect(during.headers.get('x-cache')).toBe('BYPASS');
      }
    } finally {
      await admin.call('CLIENT', 'UNPAUSE');
      admin.disconnect();
    }
    await untilHit();
    expect((await read()).data?.product.quantity).toBe(5);
  });
});
