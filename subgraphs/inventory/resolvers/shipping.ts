import type { Money } from '../../../shared/subgraph/money.js';

/** Orders at or above this price ship free. */
export const FREE_SHIPPING_FROM = 10_000;
const BASE_RATE = 499;
const INCLUDED_GRAMS = 500;
const RATE_PER_100_GRAMS = 50;

/**
 * Shipping cost in the price's minor units: free from $100, else $4.99 covering the first
 * 500 g plus $0.50 for each started 100 g beyond.
 */
export function shippingEstimate(price: Money, weightGrams: number): number {
  if (price.amount >= FREE_SHIPPING_FROM) return 0;
  const extraGrams = Math.max(0, weightGrams - INCLUDED_GRAMS);
  return BASE_RATE + Math.ceil(extraGrams / 100) * RATE_PER_100_GRAMS;
}
