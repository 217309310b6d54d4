import type { ApolloServerPlugin } from '@apollo/server';
import { requestScope } from '../../shared/http/request-scope.js';
import type { GatewayContext } from '../context.js';
import { codesOf } from '../../shared/errors/errors.js';
import { whenResponseSent } from '../../shared/observability/response-timing.js';

interface RequestLoggingOptions {
  /** Requests slower than this are logged at warn instead of info. Default 1000 ms. */
  slowMs?: number;
}

/**
 * One log line per GraphQL request: operation, outcome, duration and error codes, under
 * the request id. Error details were logged where they happened; this line says what the
 * client saw.
 */
export function useRequestLogging({ slowMs = 1000 }: RequestLoggingOptions = {}): ApolloServerPlugin<GatewayContext> {
  return whenResponseSent(({ operationName, operation, response }, ms) => {
    // The codes the client was told: a shape limit's refusal is wrapped as a validation failure until formatError.
    const errors = response.body.kind === 'single' ? response.body.singleResult.errors : undefined;
    logRequest({ operationName, operationType: operation?.operation, status: response.http.status ?? 200, ms, errors }, slowMs);
  });
}

/**
 * The request's log line: `useRequestLogging`'s, and that of a response cache hit answered
 * before Apollo Server (gateway/response-cache/fast-path.ts).
 */
export function logRequest(
  {
    operationName,
    operationType,
    status,
    ms,
    errors,
  }: {
    operationName: string | null | undefined;
    operationType: string | undefined;
    status: number;
    ms: number;
    errors: Parameters<typeof codesOf>[0];
  },
  slowMs: number,
): void {
  const codes = codesOf(errors);
  const entry = {
    operationName: operationName ?? null,
    operationType: operationType ?? null,
    status,
    ms,
    ...(codes.length && { errorCodes: codes }),
  };
  const { logger } = requestScope();
  if (ms >= slowMs) logger.warn(entry, 'slow graphql request');
  else logger.info(entry, 'graphql request');
}
