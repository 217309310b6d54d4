import type { Registry } from 'prom-client';
import { metricsOn } from '../observability/metrics.js';
import type { JobQueues, RunListener } from './queues.js';

/** Seconds: a row update takes milliseconds, a webhook delivery up to its timeout. */
const JOB_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * A subgraph's job metrics on its registry: its queue's jobs by state (read from the queue at each scrape),
 * and, from this process's workers, each run's duration and outcome, retries and final failures.
 */
export function createJobMetrics(registry: Registry, queues: JobQueues, queue: string): RunListener {
  const { counter, histogram, gauge } = metricsOn(registry);
  gauge({
    name: 'tessera_jobs',
    help: "Jobs in the subgraph's queue, by state (waiting, active, delayed, completed, failed)",
    labelNames: ['queue', 'state'],
    async collect() {
      const counts = await queues.counts(queue).catch(() => undefined);
      if (!counts) return;
      for (const [state, count] of Object.entries(counts)) this.set({ queue, state }, count);
    },
  });
  const duration = histogram({
    name: 'tessera_job_duration_seconds',
    help: "Duration of job runs in this process's workers, by job and outcome (completed, failed)",
    labelNames: ['queue', 'job', 'outcome'],
    buckets: JOB_BUCKETS,
  });
  const retries = counter({
    name: 'tessera_job_retries_total',
    help: 'Failed runs that will be retried, by job',
    labelNames: ['queue', 'job'],
  });
  const failures = counter({
    name: 'tessera_job_failures_total',
    help: 'Jobs that used up their attempts (now in the failed set), by job',
    labelNames: ['queue', 'job'],
  });
  return {
    completed(run, durationMs) {
      duration.observe({ queue, job: run.name, outcome: 'completed' }, durationMs / 1000);
    },
    failed(run, _error, final, durationMs) {
      (final ? failures : retries).inc({ queue, job: run.name });
      duration.observe({ queue, job: run.name, outcome: 'failed' }, durationMs / 1000);
    },
  };
}
