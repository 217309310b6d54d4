import type { z } from 'zod';
import type { CacheTags } from '../cache-tags/cache-tags.js';
import type { Logger } from '../observability/logger.js';
import type { EntityManager } from '../store/orm.js';
import type { OutboxWriter } from './outbox.js';

/** What a job's handler gets besides its payload. */
export interface JobContext<Services extends object = object> {
  /** 1 on the first run, 2 on the first retry…: handlers are idempotent by contract, and may use it to log or give up early. */
  attempt: number;
  /** The job's id: its outbox row's id (or the schedule's id and time), the same on every retry. */
  jobId: string;
  logger: Logger;
  /** A fresh EntityManager fork of the subgraph's store (none for a storeless subgraph); flushed by the framework once the handler returns. */
  em?: EntityManager;
  services: Services;
  /** Further jobs and events, written to the outbox on `em` (with the handler's writes) and relayed once flushed. */
  jobs: OutboxWriter;
  /**
   * What the handler changed that the gateways' response caches may hold, recorded with `reportChanged(context, …)` as a
   * mutation does: published to every gateway once the handler's writes are flushed (shared/cache-tags/purge-channel.ts).
   */
  cacheTags: CacheTags;
}

/** One kind of job a subgraph runs: its payload (validated when enqueued and when run) and its handler. */
export interface JobDefinition<Payload = any, Services extends object = any> {
  payload: z.ZodType<Payload>;
  handler(payload: Payload, context: JobContext<Services>): Promise<void>;
  /** Runs at most this many times in all (the first run and its retries). Default 3. */
  attempts?: number;
  /** Delay before the first retry, in ms; doubled before each next one (exponential backoff). Default 1000. */
  backoffMs?: number;
}

/** A job enqueued on a clock: a cron expression or every `everyMs`, in `timeZone`. */
export interface ScheduleDefinition {
  /** The job it enqueues (one of the subgraph's `jobs`). */
  job: string;
  /** Default `{}`. */
  payload?: unknown;
  /** Five or six fields, as BullMQ (cron-parser) reads them: `0 3 * * *` is 03:00 daily. */
  cron?: string;
  everyMs?: number;
  /** IANA time zone the cron expression is read in. Default UTC. */
  timeZone?: string;
}

/**
 * Domain events: what a subgraph publishes (name → payload schema) and what it consumes of others'
 * (`<subgraph>.<Event>` → a job run on its own queue). A consumer never calls the publisher: each
 * event is copied onto every consumer's queue when it is relayed.
 */
export interface EventsDefinition<Services extends object = any> {
  publishes?: Record<string, z.ZodType>;
  consumes?: Record<string, JobDefinition<any, Services>>;
}

/** What a definition declares about jobs (all optional; a subgraph declaring none runs no jobs machinery). */
export interface JobsDeclaration<Services extends object = any> {
  jobs?: Record<string, JobDefinition<any, Services>>;
  /** Schedule id → when and what. */
  schedules?: Record<string, ScheduleDefinition>;
  events?: EventsDefinition<Services>;
}

export const DEFAULT_ATTEMPTS = 3;
export const DEFAULT_BACKOFF_MS = 1_000;

/** The name a consumed event's jobs run under on the consumer's queue. */
export function eventJobName(event: string): string {
  return `event:${event}`;
}

/** Whether a definition declares any job, schedule or event (then a store subgraph has an outbox). */
export function declaresJobs(declaration: JobsDeclaration): boolean {
  const { jobs = {}, schedules = {}, events = {} } = declaration;
  return [jobs, schedules, events.publishes ?? {}, events.consumes ?? {}].some((entries) => Object.keys(entries).length > 0);
}

/** Checks a declaration once at start: every schedule names a job it has, with a valid payload and exactly one clock. */
export function checkJobsDeclaration(subgraph: string, declaration: JobsDeclaration): void {
  for (const [id, schedule] of Object.entries(declaration.schedules ?? {})) {
    const job = declaration.jobs?.[schedule.job];
    if (!job) throw new Error(`${subgraph}: schedule ${id} enqueues ${schedule.job}, which is not one of its jobs.`);
    if ((schedule.cron === undefined) === (schedule.everyMs === undefined))
      throw new Error(`${subgraph}: schedule ${id} needs exactly one of cron and everyMs.`);
    job.payload.parse(schedule.payload ?? {});
  }
  for (const event of Object.keys(declaration.events?.consumes ?? {})) {
    if (!/^[a-z][a-z0-9-]*\.[A-Za-z]\w*$/.test(event)) throw new Error(`${subgraph}: consumed event ${event} is not <subgraph>.<Event>.`);
  }
}
