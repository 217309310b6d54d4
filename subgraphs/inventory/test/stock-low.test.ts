import { afterEach, describe, expect, it } from '@jest/globals';
import { OutboxMessage } from '../../../shared/jobs/outbox.entity.js';
import { startSubgraph, type RunningSubgraph } from '../../../shared/subgraph/boot.js';
import { testIdentity, testSubgraphConfig } from '../../../test/support/config.js';
import { receiver, testQueues, waitFor } from '../../../test/support/jobs.js';
import { freshStore } from '../../../test/support/postgres.js';
import { postGraphQL, signedAs, testLogger } from '../../../test/support/subgraph.js';
import { inventory } from '../index.js';
import { webhookSignature } from '../stock-low.js';

const staff = testIdentity('grace', 'staff');
const ADJUST = `mutation($id: ID!, $delta: Int!) { adjustStock(productId: $id, delta: $delta) { id quantity } }`;
const SECRET = 'stock-webhook-secret-0123456789abcdef-0123';
const PRODUCT = '7b0c1f52-8f1e-4c43-9d43-2d1f6f0a0101';

describe('StockLow', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** Inventory on a fresh store, its jobs on BullMQ, delivering to `url`. */
  async function start(url: string): Promise<RunningSubgraph> {
    const { store, drop } = freshStore('inventory');
    const { queues, dispose } = testQueues('bullmq');
    const config = testSubgraphConfig('inventory', store, {
      seedOnStart: false,
      stockLow: { threshold: 5, webhook: { url, secret: SECRET } },
      jobs: { workers: true, concurrency: 2, relayIntervalMs: 0 },
    });
    const running = await startSubgraph({ definition: inventory, config, logger: testLogger, queues });
    cleanups.push(drop, dispose, running.stop);
    return running;
  }

  const adjust = (running: RunningSubgraph, delta: number) => postGraphQL(running.url, ADJUST, { id: PRODUCT, delta }, signedAs(staff));

  it('is delivered once, signed, when an adjustment takes a product under the threshold, and not again below it', async () => {
    const hook = await receiver([200]);
    cleanups.push(hook.close);
    const running = await start(hook.url);
    expect((await adjust(running, 6)).errors).toBeUndefined();
    expect((await adjust(running, -1)).data?.adjustStock.quantity).toBe(5);
    expect((await adjust(running, -2)).data?.adjustStock.quantity).toBe(3);
    expect((await adjust(running, -1)).data?.adjustStock.quantity).toBe(2);
    // Refused: nothing changed, nothing raised.
    expect((await adjust(running, -10)).errors?.[0]?.extensions?.code).toBe('INSUFFICIENT_STOCK');
    await waitFor('the delivery', () => hook.received.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(hook.received).toHaveLength(1);
    const [delivery] = hook.received;
    expect(JSON.parse(delivery!.body)).toEqual({ type: 'StockLow', productId: PRODUCT, quantity: 3 });
    expect(delivery!.headers['x-tessera-signature']).toBe(webhookSignature(SECRET, delivery!.body));
    // The event for consumers and the delivery job, both written with the adjustment.
    const rows = await running.orm!.em.fork().find(OutboxMessage, {}, { orderBy: { kind: 'asc' } });
    expect(rows.map((row) => [row.kind, row.name])).toEqual([
      ['event', 'StockLow'],
      ['job', 'deliverStockLow'],
    ]);
  });

  it('retries a receiver that fails twice: three attempts, one success, never a fourth', async () => {
    const hook = await receiver([500, 502, 200]);
    cleanups.push(hook.close);
    const running = await start(hook.url);
    await adjust(running, 5);
    await adjust(running, -1);
    // Backoff 2 s, then 4 s.
    await waitFor('three attempts', () => hook.received.length === 3, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(hook.received).toHaveLength(3);
    expect(new Set(hook.received.map((request) => request.headers['x-tessera-delivery'])).size).toBe(1);
    expect(hook.received[1]!.at - hook.received[0]!.at).toBeGreaterThanOrEqual(1_900);
    expect(await running.jobs.queues.failed('inventory')).toEqual([]);
    expect((await running.jobs.queues.counts('inventory')).completed).toBe(1);
    // The same, as Prometheus sees it.
    expect(await running.registry.getSingleMetricAsString('tessera_job_retries_total')).toContain(
      'tessera_job_retries_total{queue="inventory",job="deliverStockLow"} 2',
    );
    expect(await running.registry.getSingleMetricAsString('tessera_job_duration_seconds')).toContain(
      'tessera_job_duration_seconds_count{queue="inventory",job="deliverStockLow",outcome="completed"} 1',
    );
    expect(await running.registry.getSingleMetricAsString('tessera_jobs')).toContain('tessera_jobs{queue="inventory",state="completed"} 1');
  }, 60_000);
});
