import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { GatewayContext } from '../context.js';
import type { GatewayMetrics } from './metrics.js';
import { codeOf, codesOf } from '../../shared/errors/errors.js';

interface MetricsPluginOptions {
  /** Where the counts go: the gateway's metrics, on the registry `/metrics` serves. */
  metrics: GatewayMetrics;
}

/**
 * Counts every GraphQL request the gateway answers: operations by name, type and outcome,
 * their duration, the error codes clients receive, and the requests in flight. A request
 * refused before it has a context (a bearer token that does not verify) counts as an
 * `unknown` operation with its error, and as an auth failure by reason.
 */
export function useMetrics({ metrics }: MetricsPluginOptions): ApolloServerPlugin<GatewayContext> {
  return {
    async contextCreationDidFail({ error }) {
      const code = codeOf(error);
      metrics.operations.inc({ operation: 'unknown', type: 'unknown', outcome: 'error' });
      metrics.errors.inc({ code });
      const reason = error instanceof GraphQLError ? error.extensions.reason : undefined;
      if (code === 'UNAUTHENTICATED' && typeof reason === 'string') metrics.authFailures.inc({ reason });
    },

    async requestDidStart() {
      const counted = countRequest(metrics);
      return {
        async willSendResponse({ operationName, operation, response }) {
          const result = response.body.kind === 'single' ? response.body.singleResult : undefined;
          counted({ operationName, operationType: operation?.operation, errors: result?.errors, data: result?.data });
        },
      };
    },
  };
}

/** What a request's metrics record of its response. */
interface CountedResponse {
  operationName: string | null | undefined;
  operationType: string | undefined;
  errors: Parameters<typeof codesOf>[0];
  data: unknown;
}

/**
 * Counts one GraphQL request, in flight since `startedAt` (`performance.now()`): call what it
 * returns as its response goes out. `useMetrics` counts so, and the response cache's hits
 * answered before Apollo Server (gateway/response-cache/fast-path.ts).
 */
export function countRequest(metrics: GatewayMetrics, startedAt = performance.now()): (response: CountedResponse) => void {
  metrics.inFlight.inc();
  return ({ operationName, operationType, errors, data }) => {
    metrics.inFlight.dec();
    const codes = codesOf(errors);
    const labels = { operation: metrics.operationLabel(operationName), type: operationType ?? 'unknown' };
    const outcome = !codes.length ? 'success' : data ? 'partial' : 'error';
    metrics.requestDuration.observe(labels, (performance.now() - startedAt) / 1000);
    metrics.operations.inc({ ...labels, outcome });
    for (const code of codes) metrics.errors.inc({ code });
  };
}
