import { describe, expect, it } from '@jest/globals';
import { inventory } from '../../subgraphs/inventory/index.js';
import { testSubgraphConfig } from '../../test/support/config.js';
import { deleteKeys, testRedisUrl } from '../../test/support/jobs.js';
import { capturingLogger } from '../../test/support/logger.js';
import { freshStore } from '../../test/support/postgres.js';
import { startSubgraph } from '../subgraph/boot.js';

describe('a subgraph says at start where its jobs run', () => {
  it.each([
    ['without REDIS_URL', undefined, 'memory', 'jobs in memory, in this process (no REDIS_URL): queued jobs end with it'],
    ['with REDIS_URL', testRedisUrl, 'bullmq', 'jobs on BullMQ (Redis)'],
  ])('%s', async (_, url, queue, message) => {
    const { store, drop } = freshStore('inventory');
    const { logger, lines } = capturingLogger();
    const base = testSubgraphConfig('inventory', store, { seedOnStart: false });
    const config = { ...base, redis: { ...base.redis, url, prefix: `test-jobs-start-${queue}-${process.pid}:` } };
    const running = await startSubgraph({ definition: inventory, config, logger });
    try {
      expect(lines).toContainEqual(expect.objectContaining({ msg: message, queue, workers: true, concurrency: 4 }));
    } finally {
      await running.stop();
      await drop();
      await deleteKeys(config.redis.prefix);
    }
  });
});
