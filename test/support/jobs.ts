import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { BullJobQueues } from '../../shared/jobs/bullmq-queues.js';
import { MemoryJobQueues } from '../../shared/jobs/memory-queues.js';
import type { JobQueues } from '../../shared/jobs/queues.js';
import { testLogger } from './subgraph.js';

export const testRedisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export type QueueBackend = 'memory' | 'bullmq';

/** Queues of a test's own: in memory, or on the test Redis under a random prefix that `dispose` removes. */
export function testQueues(backend: QueueBackend): { queues: JobQueues; prefix: string; dispose(): Promise<void> } {
  const prefix = `test-jobs-${randomUUID()}:`;
  const queues = backend === 'memory' ? new MemoryJobQueues() : new BullJobQueues(testRedisUrl, prefix, testLogger);
  return {
    queues,
    prefix,
    async dispose() {
      await queues.close();
      if (backend === 'bullmq') await deleteKeys(prefix);
    },
  };
}

/** Removes every key under `prefix` on the test Redis. */
export async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(testRedisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Polls `check` every 25 ms until it holds, at most `timeoutMs`; then throws saying what it waited for. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export interface ReceivedRequest {
  at: number;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A local HTTP receiver answering each POST with the next status of `statuses` (the last one once they run out), after `delayMs`. */
export async function receiver(
  statuses: number[],
  delayMs = 0,
): Promise<{ url: string; received: ReceivedRequest[]; close(): Promise<void> }> {
  const received: ReceivedRequest[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      received.push({ at: Date.now(), headers: req.headers, body });
      const status = statuses[Math.min(received.length - 1, statuses.length - 1)]!;
      setTimeout(() => res.writeHead(status).end(), delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
