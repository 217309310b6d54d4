import { describe, expect, it } from '@jest/globals';
import { FREE_SHIPPING_FROM, shippingEstimate } from '../resolvers/shipping.js';

const usd = (amount: number) => ({ amount, currency: 'USD' });

describe('shippingEstimate', () => {
  it('is free from the threshold on, whatever the weight', () => {
    expect(shippingEstimate(usd(FREE_SHIPPING_FROM), 50_000)).toBe(0);
    expect(shippingEstimate(usd(FREE_SHIPPING_FROM - 1), 100)).toBe(499);
  });

  it('charges the base rate up to 500 g and 50 per started 100 g beyond', () => {
    expect(shippingEstimate(usd(1000), 500)).toBe(499);
    expect(shippingEstimate(usd(1000), 501)).toBe(549);
    expect(shippingEstimate(usd(1000), 600)).toBe(549);
    expect(shippingEstimate(usd(1000), 601)).toBe(599);
  });
});
