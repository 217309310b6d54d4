/** Where BullMQ keeps every subgraph's queue: `<REDIS_PREFIX>jobs:<subgraph>:…` (the gateway's job board reads the same). */
export function jobsKeyPrefix(redisPrefix: string): string {
  return `${redisPrefix}jobs`;
}

/** One job as it is put on a queue. Its id makes adding it idempotent: a job already there (or kept as done) is not added again. */
export interface QueuedJob {
  id: string;
  name: string;
  data: unknown;
  /** Runs in all, the first one included. */
  attempts: number;
  /** Delay before the first retry; doubled before each next one. */
  backoffMs: number;
}

/** One run of a job, as a worker's processor gets it. */
export interface JobRun {
  id: string;
  name: string;
  data: unknown;
  /** 1 for the first run. */
  attempt: number;
}

/** A job that used up its attempts, kept for inspection. */
export interface FailedJob {
  id: string;
  name: string;
  data: unknown;
  attemptsMade: number;
  error: string;
}

export interface JobCounts {
  waiting: number;
  active: number;
  delayed: number;
  completed: number;
  failed: number;
}

/** When a schedule enqueues: a cron expression in a time zone, or every so many ms. */
export interface Repeat {
  cron?: string;
  everyMs?: number;
  timeZone?: string;
}

/** A queue that gets a copy of every event of a kind, and how its copies are retried. */
export interface EventConsumer {
  queue: string;
  attempts: number;
  backoffMs: number;
}

export interface JobWorker {
  /** Takes no more jobs and resolves once the running ones have finished (or failed, to be retried). */
  close(): Promise<void>;
}

/** What a worker hears about runs, for metrics and logs. */
export interface RunListener {
  completed?(run: JobRun, durationMs: number): void;
  failed?(run: JobRun, error: Error, final: boolean, durationMs: number): void;
}

/**
 * The queues of every subgraph behind one interface: BullMQ on Redis (shared/jobs/bullmq-queues.ts) or in
 * memory (below), with the same semantics: idempotent adds by id, retries with exponential backoff up to
 * the job's attempts, then the failed set with the error.
 */
export interface JobQueues {
  readonly kind: 'bullmq' | 'memory';
  add(queue: string, jobs: QueuedJob[]): Promise<void>;
  work(queue: string, processor: (run: JobRun) => Promise<void>, options: { concurrency: number; listener?: RunListener }): JobWorker;
  /** Creates or updates schedule `id`: each time it is due, `job` is added with an id of the schedule and the time. */
  schedule(queue: string, id: string, repeat: Repeat, job: Omit<QueuedJob, 'id'>): Promise<void>;
  /** Records, durably, that `consumer.queue` wants every `event` (`<subgraph>.<Event>`) from now on, retried as it says. */
  subscribe(event: string, consumer: EventConsumer): Promise<void>;
  consumersOf(event: string): Promise<EventConsumer[]>;
  failed(queue: string): Promise<FailedJob[]>;
  counts(queue: string): Promise<JobCounts>;
  close(): Promise<void>;
}
