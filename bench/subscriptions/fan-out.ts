/** What one fan-out measurement saw: every delivery's latency, and how long the events took. */
export interface FanOutMeasured {
  subscribers: number;
  events: number;
  /** Milliseconds from each event's publication to its arrival at one subscriber, one entry per delivery. */
  latencies: number[];
  /** From the first publication to the last delivery. */
  elapsedMs: number;
}

export interface FanOutSummary {
  /** Deliveries (one event reaching one subscriber) per second. */
  perSecond: number;
  p50: number;
  p99: number;
  /** Deliveries that did not happen (or came with errors): `subscribers × events` minus the ones seen. */
  missing: number;
}

/** The q-quantile of sorted `values` (nearest rank), NaN when there are none. */
export function quantile(sorted: readonly number[], q: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function summarizeFanOut({ subscribers, events, latencies, elapsedMs }: FanOutMeasured): FanOutSummary {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    perSecond: elapsedMs > 0 ? latencies.length / (elapsedMs / 1000) : NaN,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    missing: subscribers * events - latencies.length,
  };
}

/** A list of positive integers from the environment (`100,500,1000`), or the default; anything else stops the bench saying so. */
export function positiveInts(env: NodeJS.ProcessEnv, name: string, fallback: readonly number[]): number[] {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return [...fallback];
  const values = raw.split(',').map((part) => Number(part.trim()));
  if (values.some((value) => !Number.isInteger(value) || value < 1))
    throw new Error(`${name} must be positive integers, comma-separated; got "${raw}".`);
  return values;
}
