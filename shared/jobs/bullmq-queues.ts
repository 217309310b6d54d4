import { createRequire } from 'node:module';
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.js';
import { throttledWarn } from '../observability/logger.js';
import {
  jobsKeyPrefix,
  type EventConsumer,
  type FailedJob,
  type JobCounts,
  type JobQueues,
  type JobRun,
  type JobWorker,
  type QueuedJob,
  type Repeat,
  type RunListener,
} from './queues.js';

/**
 * How long a done job stays (its id refusing a second add of the same outbox row): longer than any relay
 * could be late. Failed jobs stay longer, for inspection.
 */
const KEEP_COMPLETED = { age: 7 * 24 * 3600, count: 100_000 };
const KEEP_FAILED = { age: 30 * 24 * 3600, count: 100_000 };

/**
 * BullMQ on Redis: one BullMQ queue per subgraph, its keys under `<REDIS_PREFIX>jobs:<subgraph>:`; the
 * consumers of each event in a Redis set beside them. Its connection waits for Redis (BullMQ's workers
 * need `maxRetriesPerRequest: null`), unlike the process's fail-fast client.
 */
export class BullJobQueues implements JobQueues {
  readonly kind = 'bullmq';
  private readonly connection: Redis;
  private readonly queues = new Map<string, Queue>();
  private readonly prefix: string;

  constructor(
    url: string,
    private readonly redisPrefix: string,
    logger: Logger,
  ) {
    const ioredis = createRequire(import.meta.url)('ioredis') as typeof import('ioredis');
    this.connection = new ioredis.Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true });
    const warn = throttledWarn(logger);
    this.connection.on('error', (error: Error) => warn({ err: error.message }, 'redis unavailable; jobs wait until it is back'));
    this.prefix = jobsKeyPrefix(redisPrefix);
  }

  private queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) this.queues.set(name, (queue = new Queue(name, { connection: this.connection, prefix: this.prefix })));
    return queue;
  }

  private static options(job: Omit<QueuedJob, 'id'>) {
    return {
      attempts: job.attempts,
      backoff: { type: 'exponential', delay: job.backoffMs },
      removeOnComplete: KEEP_COMPLETED,
      removeOnFail: KEEP_FAILED,
    };
  }

  async add(queueName: string, jobs: QueuedJob[]): Promise<void> {
    if (!jobs.length) return;
    // An id BullMQ holds already (waiting, running, done or failed) is not added again.
    await this.queue(queueName).addBulk(
      jobs.map((job) => ({ name: job.name, data: job.data, opts: { ...BullJobQueues.options(job), jobId: job.id } })),
    );
  }

  work(queueName: string, processor: (run: JobRun) => Promise<void>, options: { concurrency: number; listener?: RunListener }): JobWorker {
    const listener = options.listener ?? {};
    const worker = new Worker(
      queueName,
      async (job: Job) => {
        const run: JobRun = { id: job.id!, name: job.name, data: job.data, attempt: job.attemptsMade + 1 };
        const started = Date.now();
        try {
          await processor(run);
        } catch (error) {
          const failure = error instanceof Error ? error : new Error(String(error));
          listener.failed?.(run, failure, run.attempt >= (job.opts.attempts ?? 1), Date.now() - started);
          throw failure;
        }
        listener.completed?.(run, Date.now() - started);
      },
      { connection: this.connection, prefix: this.prefix, concurrency: options.concurrency },
    );
    // Its errors (Redis away, say) are the connection's: logged there, never thrown at the process.
    worker.on('error', () => undefined);
    return { close: () => worker.close() };
  }

  async schedule(queueName: string, id: string, repeat: Repeat, job: Omit<QueuedJob, 'id'>): Promise<void> {
    await this.queue(queueName).upsertJobScheduler(
      id,
      repeat.cron ? { pattern: repeat.cron, tz: repeat.timeZone ?? 'UTC' } : { every: repeat.everyMs! },
      { name: job.name, data: job.data, opts: BullJobQueues.options(job) },
    );
  }

  private consumersKey(event: string): string {
    return `${this.redisPrefix}jobs:consumers:${event}`;
  }

  async subscribe(event: string, consumer: EventConsumer): Promise<void> {
    await this.connection.hset(this.consumersKey(event), consumer.queue, JSON.stringify(consumer));
  }

  async consumersOf(event: string): Promise<EventConsumer[]> {
    return Object.values(await this.connection.hgetall(this.consumersKey(event))).map((value) => JSON.parse(value) as EventConsumer);
  }

  async failed(queueName: string): Promise<FailedJob[]> {
    const jobs = await this.queue(queueName).getFailed(0, 999);
    return jobs.map((job) => ({ id: job.id!, name: job.name, data: job.data, attemptsMade: job.attemptsMade, error: job.failedReason }));
  }

  async counts(queueName: string): Promise<JobCounts> {
    const counts = await this.queue(queueName).getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
    return {
      waiting: counts.waiting ?? 0,
      active: counts.active ?? 0,
      delayed: counts.delayed ?? 0,
      completed: counts.completed ?? 0,
      failed: counts.failed ?? 0,
    };
  }

  /** The BullMQ queues opened so far, for Bull Board and metrics. */
  opened(): Queue[] {
    return [...this.queues.values()];
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
    this.connection.disconnect();
  }
}
