import { createHmac } from 'node:crypto';
import { z } from 'zod';
import type { SubgraphConfig } from '../../shared/config/subgraph-config.js';
import type { JobDefinition } from '../../shared/jobs/definition.js';

/** What `StockLow` carries: the product and the units an adjustment left it with. */
export const stockLowPayload = z.object({ productId: z.uuid(), quantity: z.number().int().min(0) });
export type StockLow = z.infer<typeof stockLowPayload>;

export interface InventoryServices {
  stockLow: SubgraphConfig['stockLow'];
}

/** How long one delivery may take before it counts as failed (and is retried). */
const DELIVERY_TIMEOUT_MS = 10_000;

/** `sha256=<hex>`: the HMAC-SHA256 of the exact body with the shared secret, for the receiver to check. */
export function webhookSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * Delivers a `StockLow` to STOCK_WEBHOOK_URL as a signed POST. Any answer but 2xx (or none in time) fails the
 * attempt, retried with backoff; a 2xx completes the job, which is never run again. Each delivery carries its
 * job id, the same on every attempt, for a receiver that got an attempt whose answer was lost to ignore the next.
 */
export const deliverStockLow: JobDefinition<StockLow, InventoryServices> = {
  payload: stockLowPayload,
  attempts: 6,
  backoffMs: 2_000,
  async handler(event, { jobId, attempt, services, logger }) {
    const webhook = services.stockLow.webhook;
    if (!webhook) return;
    const body = JSON.stringify({ type: 'StockLow', ...event });
    const response = await fetch(webhook.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-tessera-signature': webhookSignature(webhook.secret, body),
        'x-tessera-delivery': jobId,
      },
      body,
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    });
    await response.body?.cancel();
    if (!response.ok) throw new Error(`the stock webhook answered ${response.status}`);
    logger.info({ productId: event.productId, attempt }, 'StockLow delivered');
  },
};
