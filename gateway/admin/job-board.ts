import { createRequire } from 'node:module';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Queue } from 'bullmq';
import { Router, type RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import type { RedisConfig } from '../../shared/config/config.js';
import { ForbiddenError, sendError, TesseraError, UnauthenticatedError } from '../../shared/errors/errors.js';
import { authenticate, type TokenVerifier } from '../../shared/identity/tokens.js';
import { jobsKeyPrefix } from '../../shared/jobs/queues.js';
import { throttledWarn, type Logger } from '../../shared/observability/logger.js';
import { JOB_BOARD_PATH } from './job-board-path.js';

/** Only a caller whose access token (the same JWT as for `/graphql`) carries the admin role: 401 without one, 403 for anyone else. */
function adminsOnly(tokens: TokenVerifier): RequestHandler {
  return (req, res, next) => {
    authenticate(req.get('authorization'), tokens).then(
      (user) => {
        if (!user) return sendError(res, new UnauthenticatedError('Sign in as an admin to see the jobs.'));
        if (!user.roles.includes('admin')) return sendError(res, new ForbiddenError('Only admins may see the jobs.'));
        next();
      },
      (error: unknown) => (error instanceof TesseraError ? sendError(res, error) : next(error)),
    );
  };
}

/**
 * Bull Board on the gateway: every subgraph's BullMQ queue (the supergraph's subgraphs, read again at each
 * request, so a reload's new subgraph shows), for admins. Without Redis the queues are each subgraph process's
 * own memory: there is nothing here to show, and the path answers 404 as any unknown one.
 */
export function jobBoard(options: { redis: RedisConfig; subgraphNames: () => string[]; tokens: TokenVerifier; logger: Logger }) {
  const { redis, subgraphNames, tokens, logger } = options;
  if (!redis.url) return undefined;
  const ioredis = createRequire(import.meta.url)('ioredis') as typeof import('ioredis');
  const connection: Redis = new ioredis.Redis(redis.url, { maxRetriesPerRequest: null });
  const warn = throttledWarn(logger);
  connection.on('error', (error: Error) => warn({ err: error.message }, 'redis unavailable; the job board waits until it is back'));
  const queues = new Map<string, Queue>();
  const adapter = new ExpressAdapter();
  adapter.setBasePath(JOB_BOARD_PATH);
  // @bull-board/express 9.10.1 carries its own @bull-board/api 9.10.1 beside the 9.10.2 installed: the same interface, two declarations.
  const board = createBullBoard({
    queues: [],
    serverAdapter: adapter as unknown as Parameters<typeof createBullBoard>[0]['serverAdapter'],
  });
  const withCurrentQueues: RequestHandler = (_req, _res, next) => {
    const names = subgraphNames();
    if (names.length !== queues.size || names.some((name) => !queues.has(name))) {
      for (const name of names)
        if (!queues.has(name)) queues.set(name, new Queue(name, { connection, prefix: jobsKeyPrefix(redis.prefix) }));
      board.replaceQueues(names.map((name) => new BullMQAdapter(queues.get(name)!)));
    }
    next();
  };
  const router = Router();
  router.use(adminsOnly(tokens), withCurrentQueues, adapter.getRouter() as RequestHandler);
  return {
    router,
    async close() {
      await Promise.all([...queues.values()].map((queue) => queue.close()));
      connection.disconnect();
    },
  };
}
