import { describe, expect, it } from '@jest/globals';
import { fakeHub } from '../../test/support/hub.js';
import { waitFor } from '../../test/support/jobs.js';
import { MemoryJobQueues } from './memory-queues.js';
import type { JobRun, QueuedJob } from './queues.js';

/*
 * Memory queues of two supervised children (`npm start` without Redis) joined by the supervisor's hub: the
 * consumer's process announces what it consumes, and the producer's relay hands each copy meant for it to the hub.
 */

const EVENT = 'reviews.RatingChanged';
const consumer = { queue: 'catalog', attempts: 2, backoffMs: 10 };
const copy = (id: string): QueuedJob => ({ id, name: `event:${EVENT}`, data: { productId: 'p1' }, attempts: 2, backoffMs: 10 });

function consumerQueues(hub: ReturnType<typeof fakeHub>) {
  const queues = new MemoryJobQueues({ hub: hub.connect() });
  const runs: JobRun[] = [];
  const worker = queues.work('catalog', async (run) => void runs.push(run), { concurrency: 1 });
  return { queues, runs, worker };
}

describe('memory queues over the supervisor hub', () => {
  it('a copy for a queue another child consumes on is enqueued and run there, once per id', async () => {
    const hub = fakeHub();
    const producer = new MemoryJobQueues({ hub: hub.connect() });
    const catalog = consumerQueues(hub);
    await catalog.queues.subscribe(EVENT, consumer);
    await waitFor('the producer to learn of the consumer', async () => (await producer.consumersOf(EVENT)).length === 1, 2_000);
    expect(await producer.consumersOf(EVENT)).toEqual([consumer]);

    await producer.add('catalog', [copy('row-1')]);
    await producer.add('catalog', [copy('row-1')]);
    await waitFor('the consumer to run the copy', () => catalog.runs.length === 1, 2_000);
    // Nothing of it stays with the producer, and the second hand-over of the same row ran nothing more.
    expect(await producer.counts('catalog')).toEqual({ waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(catalog.runs).toEqual([{ id: 'row-1', name: `event:${EVENT}`, data: { productId: 'p1' }, attempt: 1 }]);
    await catalog.worker.close();
    await Promise.all([producer.close(), catalog.queues.close()]);
  });

  it('a producer that starts after the consumer subscribed hears of it: its hello makes the consumer announce again', async () => {
    const hub = fakeHub();
    const catalog = consumerQueues(hub);
    await catalog.queues.subscribe(EVENT, consumer);
    const producer = new MemoryJobQueues({ hub: hub.connect() });
    await waitFor('the producer to learn of the consumer', async () => (await producer.consumersOf(EVENT)).length === 1, 2_000);
    await producer.add('catalog', [copy('row-2')]);
    await waitFor('the consumer to run the copy', () => catalog.runs.length === 1, 2_000);
    await catalog.worker.close();
    await Promise.all([producer.close(), catalog.queues.close()]);
  });

  it('a copy the hub refuses rejects the add, so the outbox row is not marked relayed', async () => {
    const hub = fakeHub();
    const channel = hub.connect();
    const producer = new MemoryJobQueues({ hub: channel });
    const catalog = consumerQueues(hub);
    await catalog.queues.subscribe(EVENT, consumer);
    await waitFor('the producer to learn of the consumer', async () => (await producer.consumersOf(EVENT)).length === 1, 2_000);
    channel.connected = false;
    await expect(producer.add('catalog', [copy('row-3')])).rejects.toThrow(/channel is closed/);
    channel.connected = true;
    await producer.add('catalog', [copy('row-3')]);
    await waitFor('the consumer to run the copy', () => catalog.runs.length === 1, 2_000);
    await catalog.worker.close();
    await Promise.all([producer.close(), catalog.queues.close()]);
  });

  it('a process’s own queues stay in it, and without a hub nothing crosses', async () => {
    const hub = fakeHub();
    const alone = new MemoryJobQueues();
    const catalog = consumerQueues(hub);
    await catalog.queues.subscribe(EVENT, consumer);
    // The consumer's own add is local even though it announced the queue.
    await catalog.queues.add('catalog', [copy('row-4')]);
    await waitFor('the consumer to run its own job', () => catalog.runs.length === 1, 2_000);
    expect(hub.sent.filter((message) => message.hub === 'jobs.add')).toEqual([]);
    expect(await alone.consumersOf(EVENT)).toEqual([]);
    await catalog.worker.close();
    await Promise.all([alone.close(), catalog.queues.close()]);
  });
});
