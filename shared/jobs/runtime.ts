import { newCacheTags } from '../cache-tags/cache-tags.js';
import type { PurgePublisher } from '../cache-tags/purge-channel.js';
import type { HubChannel } from '../ipc/supervisor-hub.js';
import type { Logger } from '../observability/logger.js';
import { outsideRequestScope } from '../http/request-scope.js';
import type { EntityManager, Orm } from '../store/orm.js';
import { BullJobQueues } from './bullmq-queues.js';
import {
  checkJobsDeclaration,
  DEFAULT_ATTEMPTS,
  DEFAULT_BACKOFF_MS,
  eventJobName,
  type JobDefinition,
  type JobsDeclaration,
} from './definition.js';
import { MemoryJobQueues } from './memory-queues.js';
import { OutboxMessage } from './outbox.entity.js';
import { OutboxWriter } from './outbox.js';
import type { JobQueues, JobRun, JobWorker, QueuedJob, RunListener } from './queues.js';

/** Rows the relay reads at a time; it goes on while full batches come. */
const RELAY_BATCH = 200;
/** Batches one relay pass moves at most, so a flood cannot hold it for ever (the next pass continues). */
const RELAY_MAX_BATCHES = 50;

export interface JobsConfig {
  /** Run this subgraph's workers in this process. */
  workers: boolean;
  concurrency: number;
  /** How often the relay looks for rows no commit woke it for (another process's, or left by a killed one). */
  relayIntervalMs: number;
}

export interface JobsRuntimeOptions {
  name: string;
  declaration: JobsDeclaration;
  /** The subgraph's store, which handlers get a fork of; none for a storeless subgraph. */
  orm: Orm | undefined;
  /** Whether the store holds an outbox (the definition declares jobs or events): else there is nothing to relay. */
  outbox?: boolean;
  queues: JobQueues;
  config: JobsConfig;
  logger: Logger;
  services: object;
  listener?: RunListener;
  /** Where a handler's reported changes go once flushed (the gateways' response caches); none: they are dropped. */
  purges?: PurgePublisher;
  /**
   * For tests: the relay never runs, as in a process stopped between a commit and its relay; the rows stay
   * for the next start.
   */
  haltBeforeRelay?: boolean;
}

export interface JobsRuntime {
  readonly queues: JobQueues;
  /** A request's (or a handler's) outbox writer on `em`. */
  writer(em: EntityManager | undefined): OutboxWriter;
  /** Moves committed rows to the queues now; resolves with how many it moved. */
  relay(): Promise<number>;
  /** Subscribes to consumed events, upserts schedules, relays what is left, starts the workers (when configured) and the relay's timer. */
  start(): Promise<void>;
  /** Stops taking jobs (running ones finish) and the relay's timer; what is queued stays queued. */
  stopWorkers(): Promise<void>;
  /** `stopWorkers`, then relays what committed until now. */
  stop(): Promise<void>;
}

/**
 * The queues of the process: BullMQ when `REDIS_URL` is set, else in memory (one per process, shared by its subgraphs),
 * joined to the other children's over the supervisor's hub when there is one.
 */
export function createJobQueues(redis: { url?: string; prefix: string }, logger: Logger, hub?: HubChannel): JobQueues {
  return redis.url ? new BullJobQueues(redis.url, redis.prefix, logger) : processMemoryQueues(hub);
}

let memoryQueues: MemoryJobQueues | undefined;
function processMemoryQueues(hub: HubChannel | undefined): MemoryJobQueues {
  return (memoryQueues ??= new MemoryJobQueues({ hub }));
}

function retryOf(job: JobDefinition): Pick<QueuedJob, 'attempts' | 'backoffMs'> {
  return { attempts: job.attempts ?? DEFAULT_ATTEMPTS, backoffMs: job.backoffMs ?? DEFAULT_BACKOFF_MS };
}

/**
 * A subgraph's jobs: the relay from its outbox to the queues, its workers, its schedules and its subscriptions
 * to other subgraphs' events. An event is copied, when relayed, onto the queue of each subgraph that subscribed
 * to it, under the outbox row's id: each consumer gets it once, on its own queue, and runs it with its own handler.
 */
export function createJobsRuntime(options: JobsRuntimeOptions): JobsRuntime {
  const { name, declaration, orm, queues, config, logger, services, listener } = options;
  checkJobsDeclaration(name, declaration);
  const workers: JobWorker[] = [];
  let timer: NodeJS.Timeout | undefined;
  let relaying: Promise<number> | undefined;
  let again = false;

  async function relayBatch(em: EntityManager): Promise<number> {
    const messages = await em.find(OutboxMessage, { relayedAt: null }, { orderBy: { createdAt: 'asc', id: 'asc' }, limit: RELAY_BATCH });
    if (!messages.length) return 0;
    const own: QueuedJob[] = [];
    const copies = new Map<string, QueuedJob[]>();
    for (const message of messages) {
      if (message.kind === 'job') {
        const job = declaration.jobs?.[message.name];
        // A job no longer declared (renamed since it was written) still goes to the queue, to end in the failed set for inspection.
        own.push({ id: message.id, name: message.name, data: message.payload, ...(job ? retryOf(job) : { attempts: 1, backoffMs: 0 }) });
        continue;
      }
      const event = `${name}.${message.name}`;
      for (const consumer of await queues.consumersOf(event)) {
        const list = copies.get(consumer.queue) ?? [];
        list.push({
          id: message.id,
          name: eventJobName(event),
          data: message.payload,
          attempts: consumer.attempts,
          backoffMs: consumer.backoffMs,
        });
        copies.set(consumer.queue, list);
      }
    }
    await queues.add(name, own);
    for (const [queue, jobs] of copies) await queues.add(queue, jobs);
    // Queued before marked: a crash in between relays them again, and their ids make that a no-op.
    await em.nativeUpdate(OutboxMessage, { id: { $in: messages.map((message) => message.id) } }, { relayedAt: new Date() });
    return messages.length;
  }

  async function relayPass(): Promise<number> {
    if (!orm || options.outbox === false || options.haltBeforeRelay) return 0;
    const em = orm.em.fork() as EntityManager;
    let moved = 0;
    for (let batch = 0; batch < RELAY_MAX_BATCHES; batch++) {
      const count = await relayBatch(em);
      em.clear();
      moved += count;
      if (count < RELAY_BATCH) break;
    }
    return moved;
  }

  /** One pass at a time; a wake during a pass runs one more after it, so no commit waits for the timer. */
  function relay(): Promise<number> {
    if (relaying) {
      again = true;
      return relaying;
    }
    relaying = relayPass()
      .catch((error: unknown) => {
        logger.warn({ err: error }, 'jobs relay failed; it tries again');
        return 0;
      })
      .finally(() => {
        relaying = undefined;
        if (again) {
          again = false;
          void relay();
        }
      });
    return relaying;
  }

  function writer(em: EntityManager | undefined): OutboxWriter {
    // The relay a commit wakes is the process's, not the request's: its statements are not the request's to count or log.
    return new OutboxWriter(name, declaration, em, () => outsideRequestScope(() => void relay()));
  }

  async function runJob(run: JobRun): Promise<void> {
    const job = run.name.startsWith('event:')
      ? declaration.events?.consumes?.[run.name.slice('event:'.length)]
      : declaration.jobs?.[run.name];
    if (!job) throw new Error(`${name} has no handler for ${run.name}.`);
    const payload = job.payload.parse(run.data);
    const em = orm?.em.fork() as EntityManager | undefined;
    const jobs = writer(em);
    const jobLogger = logger.child({ job: run.name, jobId: run.id, attempt: run.attempt });
    const cacheTags = newCacheTags();
    await job.handler(payload, { attempt: run.attempt, jobId: run.id, logger: jobLogger, em, services, jobs, cacheTags });
    // What the handler left unflushed (follow-up jobs among it) is written now, then relayed.
    await em?.flush();
    jobs.committed();
    // After the commit, so a gateway that purges and reads again reads the new data; a purge that cannot be sent fails
    // the attempt, and the retry (idempotent by contract) reports it again.
    if (cacheTags.changed.size) await options.purges?.({ subgraph: name, tags: [...cacheTags.changed] });
  }

  return {
    queues,
    writer,
    relay,
    async start() {
      for (const [event, job] of Object.entries(declaration.events?.consumes ?? {})) {
        await queues.subscribe(event, { queue: name, ...retryOf(job) });
      }
      for (const [id, schedule] of Object.entries(declaration.schedules ?? {})) {
        const job = declaration.jobs![schedule.job]!;
        await queues.schedule(
          name,
          `${name}:${id}`,
          { cron: schedule.cron, everyMs: schedule.everyMs, timeZone: schedule.timeZone },
          { name: schedule.job, data: job.payload.parse(schedule.payload ?? {}), ...retryOf(job) },
        );
      }
      const left = await relay();
      if (left) logger.info({ relayed: left }, 'outbox rows left by an earlier process relayed');
      if (config.workers) workers.push(queues.work(name, runJob, { concurrency: config.concurrency, listener }));
      if (orm && options.outbox !== false && config.relayIntervalMs > 0) {
        timer = setInterval(() => void relay(), config.relayIntervalMs);
        timer.unref();
      }
    },
    async stopWorkers() {
      clearInterval(timer);
      await Promise.all(workers.splice(0).map((worker) => worker.close()));
    },
    async stop() {
      await this.stopWorkers();
      // What committed before the stop is queued now, not at the next start; a pass woken meanwhile runs too.
      await relay();
      while (relaying) await relaying;
    },
  };
}
