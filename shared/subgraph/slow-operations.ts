import type { ApolloServerPlugin } from '@apollo/server';
import type { Logger } from '../observability/logger.js';
import { whenResponseSent } from '../observability/response-timing.js';

interface SlowOperationLogOptions {
  /** Operations taking at least this long are logged at warn (`SLOW_OPERATION_MS`, default 1000). */
  slowMs: number;
}

/**
 * A subgraph's operations slower than `slowMs`, logged at warn through the request's logger
 * (so with its request id, and its trace id when traced). The gateway's request log
 * (`useRequestLogging`) does the same for whole client requests.
 */
export function useSlowOperationLog<TContext extends { logger: Logger }>({
  slowMs,
}: SlowOperationLogOptions): ApolloServerPlugin<TContext> {
  return whenResponseSent(({ contextValue, operationName, operation }, ms) => {
    if (ms < slowMs) return;
    contextValue.logger.warn(
      { operationName: operationName ?? null, operationType: operation?.operation ?? null, ms },
      'slow graphql operation',
    );
  });
}
