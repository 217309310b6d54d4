import { getNextMillis } from 'bullmq';
import { z } from 'zod';
import type { HubChannel, HubMessage } from '../ipc/supervisor-hub.js';
import type { EventConsumer, FailedJob, JobCounts, JobQueues, JobRun, JobWorker, QueuedJob, Repeat, RunListener } from './queues.js';

type State = 'waiting' | 'delayed' | 'active' | 'completed' | 'failed';

interface Entry extends QueuedJob {
  state: State;
  attemptsMade: number;
  runAt: number;
  error?: string;
}

interface LocalWorker {
  processor: (run: JobRun) => Promise<void>;
  concurrency: number;
  running: Set<Promise<void>>;
  closing: boolean;
  listener: RunListener;
}

/** Done jobs kept per queue (their ids keep refusing a second add); the oldest are forgotten beyond this. */
const KEPT_COMPLETED = 10_000;

const consumer = z.object({ queue: z.string(), attempts: z.number().int().min(1), backoffMs: z.number().min(0) });
const queuedJob = z.object({
  id: z.string(),
  name: z.string(),
  data: z.unknown(),
  attempts: z.number().int().min(1),
  backoffMs: z.number().min(0),
});
/** What the queues of supervised children tell each other: who consumes what, copies of events, and "tell me again". */
const hubJobsMessage = z.discriminatedUnion('hub', [
  z.object({ hub: z.literal('jobs.hello') }),
  z.object({ hub: z.literal('jobs.subscribe'), event: z.string(), consumer }),
  z.object({ hub: z.literal('jobs.add'), queue: z.string(), jobs: z.array(queuedJob) }),
]);

class MemoryQueue {
  readonly entries = new Map<string, Entry>();
  readonly workers = new Set<LocalWorker>();
  readonly completed: string[] = [];
  timer: NodeJS.Timeout | undefined;
}

/**
 * Queues in this process: what `npm start` runs without Redis. The same semantics as BullMQ, timed by
 * `setTimeout` and `Date.now` (so fake timers drive them in tests); gone when the process ends, which the
 * outbox makes up for only until a row is relayed.
 *
 * With a hub (a child of `npm start`'s supervisor, shared/ipc/supervisor-hub.ts) the children's queues act as one
 * for events: each tells the others which events its queues consume (again whenever a child starts and asks), and
 * a copy for a queue another child consumes on is handed to the hub rather than kept, for that child to enqueue.
 */
export class MemoryJobQueues implements JobQueues {
  readonly kind = 'memory';
  private readonly queues = new Map<string, MemoryQueue>();
  private readonly subscriptions = new Map<string, Map<string, EventConsumer>>();
  /** Consumers other children announced, by event: their copies go over the hub. */
  private readonly remoteSubscriptions = new Map<string, Map<string, EventConsumer>>();
  /** Queues this process works or consumes on: what arrives for them over the hub is enqueued here. */
  private readonly ownQueues = new Set<string>();
  private readonly scheduleTimers = new Map<string, NodeJS.Timeout>();
  private readonly hub: HubChannel | undefined;
  private readonly stopHearing: () => void = () => undefined;

  constructor(options: { hub?: HubChannel } = {}) {
    this.hub = options.hub;
    if (!this.hub) return;
    this.stopHearing = this.hub.onMessage((message) => this.hear(message));
    // Consumers that announced themselves before this process listened tell it again.
    void this.hub.send({ hub: 'jobs.hello' }).catch(() => undefined);
  }

  private hear(raw: HubMessage): void {
    const parsed = hubJobsMessage.safeParse(raw);
    if (!parsed.success) return;
    const message = parsed.data;
    if (message.hub === 'jobs.hello') {
      for (const [event, consumers] of this.subscriptions) for (const consumer of consumers.values()) this.announce(event, consumer);
    } else if (message.hub === 'jobs.subscribe') {
      if (this.ownQueues.has(message.consumer.queue)) return;
      let consumers = this.remoteSubscriptions.get(message.event);
      if (!consumers) this.remoteSubscriptions.set(message.event, (consumers = new Map()));
      consumers.set(message.consumer.queue, message.consumer);
    } else if (this.ownQueues.has(message.queue)) {
      this.enqueue(message.queue, message.jobs);
    }
  }

  private announce(event: string, consumer: EventConsumer): void {
    // Unheard (no other child yet, or the supervisor gone): a child that starts later asks again.
    void this.hub?.send({ hub: 'jobs.subscribe', event, consumer }).catch(() => undefined);
  }

  /** Whether `queue` is consumed on in another child only, so that its jobs go over the hub. */
  private remote(queue: string): boolean {
    if (!this.hub || this.ownQueues.has(queue)) return false;
    return [...this.remoteSubscriptions.values()].some((consumers) => consumers.has(queue));
  }

  private queue(name: string): MemoryQueue {
    let queue = this.queues.get(name);
    if (!queue) this.queues.set(name, (queue = new MemoryQueue()));
    return queue;
  }

  /** For another child's queue, resolves once handed to the hub (what the outbox waits for before it marks the rows relayed). */
  async add(queueName: string, jobs: QueuedJob[]): Promise<void> {
    if (this.remote(queueName)) {
      if (jobs.length) await this.hub!.send({ hub: 'jobs.add', queue: queueName, jobs });
      return;
    }
    this.enqueue(queueName, jobs);
  }

  private enqueue(queueName: string, jobs: QueuedJob[]): void {
    const queue = this.queue(queueName);
    for (const job of jobs) {
      if (queue.entries.has(job.id)) continue;
      queue.entries.set(job.id, { ...job, state: 'waiting', attemptsMade: 0, runAt: Date.now() });
    }
    this.pump(queue);
  }

  work(queueName: string, processor: (run: JobRun) => Promise<void>, options: { concurrency: number; listener?: RunListener }): JobWorker {
    this.ownQueues.add(queueName);
    const queue = this.queue(queueName);
    const worker: LocalWorker = {
      processor,
      concurrency: options.concurrency,
      running: new Set(),
      closing: false,
      listener: options.listener ?? {},
    };
    queue.workers.add(worker);
    this.pump(queue);
    return {
      close: async () => {
        worker.closing = true;
        queue.workers.delete(worker);
        await Promise.allSettled([...worker.running]);
      },
    };
  }

  /** Starts due jobs on idle workers, and sets a timer for the next delayed one. */
  private pump(queue: MemoryQueue): void {
    clearTimeout(queue.timer);
    queue.timer = undefined;
    const now = Date.now();
    let nextDue = Infinity;
    for (const entry of queue.entries.values()) {
      if (entry.state !== 'waiting' && entry.state !== 'delayed') continue;
      if (entry.runAt > now) {
        nextDue = Math.min(nextDue, entry.runAt);
        continue;
      }
      const worker = [...queue.workers].find((candidate) => !candidate.closing && candidate.running.size < candidate.concurrency);
      if (!worker) break;
      this.run(queue, worker, entry);
    }
    if (nextDue !== Infinity) {
      queue.timer = setTimeout(() => this.pump(queue), nextDue - now);
      queue.timer.unref?.();
    }
  }

  private run(queue: MemoryQueue, worker: LocalWorker, entry: Entry): void {
    entry.state = 'active';
    const run: JobRun = { id: entry.id, name: entry.name, data: entry.data, attempt: entry.attemptsMade + 1 };
    const started = Date.now();
    const running: Promise<void> = Promise.resolve()
      .then(() => worker.processor(run))
      .then(
        () => {
          entry.state = 'completed';
          entry.attemptsMade++;
          queue.completed.push(entry.id);
          if (queue.completed.length > KEPT_COMPLETED) queue.entries.delete(queue.completed.shift()!);
          worker.listener.completed?.(run, Date.now() - started);
        },
        (error: unknown) => {
          const failure = error instanceof Error ? error : new Error(String(error));
          entry.attemptsMade++;
          const final = entry.attemptsMade >= entry.attempts;
          if (final) {
            entry.state = 'failed';
            entry.error = failure.message;
          } else {
            entry.state = 'delayed';
            entry.runAt = Date.now() + entry.backoffMs * 2 ** (entry.attemptsMade - 1);
          }
          worker.listener.failed?.(run, failure, final, Date.now() - started);
        },
      )
      .finally(() => {
        worker.running.delete(running);
        this.pump(queue);
      });
    worker.running.add(running);
  }

  async schedule(queueName: string, id: string, repeat: Repeat, job: Omit<QueuedJob, 'id'>): Promise<void> {
    const key = `${queueName}:${id}`;
    clearTimeout(this.scheduleTimers.get(key));
    const arm = () => {
      const now = Date.now();
      const next = getNextMillis(now, { pattern: repeat.cron, every: repeat.everyMs, tz: repeat.timeZone ?? 'UTC' });
      if (next === undefined) return;
      const timer = setTimeout(
        () => {
          void this.add(queueName, [{ ...job, id: `schedule:${id}:${next}` }]);
          arm();
        },
        Math.max(0, next - now),
      );
      timer.unref?.();
      this.scheduleTimers.set(key, timer);
    };
    arm();
  }

  async subscribe(event: string, consumer: EventConsumer): Promise<void> {
    let consumers = this.subscriptions.get(event);
    if (!consumers) this.subscriptions.set(event, (consumers = new Map()));
    consumers.set(consumer.queue, consumer);
    this.ownQueues.add(consumer.queue);
    this.announce(event, consumer);
  }

  async consumersOf(event: string): Promise<EventConsumer[]> {
    const consumers = new Map([...(this.remoteSubscriptions.get(event) ?? []), ...(this.subscriptions.get(event) ?? [])]);
    return [...consumers.values()];
  }

  async failed(queueName: string): Promise<FailedJob[]> {
    return [...this.queue(queueName).entries.values()]
      .filter((entry) => entry.state === 'failed')
      .map(({ id, name, data, attemptsMade, error }) => ({ id, name, data, attemptsMade, error: error ?? '' }));
  }

  async counts(queueName: string): Promise<JobCounts> {
    const counts: JobCounts = { waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 };
    for (const entry of this.queue(queueName).entries.values()) counts[entry.state]++;
    return counts;
  }

  async close(): Promise<void> {
    this.stopHearing();
    for (const timer of this.scheduleTimers.values()) clearTimeout(timer);
    this.scheduleTimers.clear();
    for (const queue of this.queues.values()) clearTimeout(queue.timer);
  }
}
