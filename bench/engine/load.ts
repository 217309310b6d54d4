import { Pool } from 'undici';

/**
 * The engine benchmark's load generator, in a process of its own so that it does not share a
 * gateway's event loop: an undici Pool of keep-alive connections (no pipelining), each sending
 * the order's body again as soon as its answer is read, until the duration or the request
 * count runs out. Takes a `LoadOrder` by IPC and sends back a `LoadResult`.
 */
export interface LoadOrder {
  url: string;
  body: string;
  connections: number;
  seconds: number;
  maxRequests: number;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  perSecond: number;
  /** Milliseconds. */
  p50: number;
  p99: number;
  failures: number;
  /** The first failure: status, or `200 with errors`, or why there was no answer, and the body's start. */
  firstFailure?: string;
  /** How many answers said each `x-cache` (`none`: no header). */
  xCache: Record<string, number>;
}

const ERRORS = Buffer.from('"errors"');

async function drive({ url, body, connections, seconds, maxRequests }: LoadOrder): Promise<LoadResult> {
  const { origin, pathname } = new URL(url);
  const pool = new Pool(origin, { connections, pipelining: 1 });
  const headers = { 'content-type': 'application/json' };
  const latencies = new Float64Array(maxRequests);
  const xCache: Record<string, number> = {};
  let started = 0;
  let done = 0;
  let failures = 0;
  let firstFailure: string | undefined;
  const begun = performance.now();
  const deadline = begun + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (started < maxRequests && performance.now() < deadline) {
        started++;
        const t0 = performance.now();
        let failure: string | undefined;
        try {
          const answer = await pool.request({ path: pathname, method: 'POST', headers, body });
          const chunks: Buffer[] = [];
          for await (const chunk of answer.body) chunks.push(chunk as Buffer);
          const bytes = Buffer.concat(chunks);
          if (answer.statusCode !== 200 || bytes.includes(ERRORS)) {
            failure = `${answer.statusCode}${answer.statusCode === 200 ? ' with errors' : ''}: ${bytes.subarray(0, 300).toString('utf8')}`;
          }
          const cache = String(answer.headers['x-cache'] ?? 'none');
          xCache[cache] = (xCache[cache] ?? 0) + 1;
        } catch (error) {
          failure = `no answer (${(error as Error).message})`;
        }
        if (failure) {
          failures++;
          firstFailure ??= failure;
        }
        latencies[done++] = performance.now() - t0;
      }
    }),
  );
  const elapsed = (performance.now() - begun) / 1000;
  await pool.close();
  const sorted = latencies.subarray(0, done).sort();
  const at = (q: number) => (done ? sorted[Math.min(done - 1, Math.floor(q * done))]! : NaN);
  return { requests: done, seconds: elapsed, perSecond: done / elapsed, p50: at(0.5), p99: at(0.99), failures, firstFailure, xCache };
}

process.once('message', (order: LoadOrder) => {
  void drive(order).then(
    (result) => process.send!(result, () => process.exit(0)),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
});
