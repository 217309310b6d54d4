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
      metrics.inFlight.inc();
      const stopTimer = metrics.requestDuration.startTimer();
      return {
        async willSendResponse({ operationName, operation, response }) {
          metrics.inFlight.dec();
          const result = response.body.kind === 'single' ? response.body.singleResult : undefined;
          const codes = codesOf(result?.errors);
          const labels = { operation: metrics.operationLabel(operationName), type: operation?.operation ?? 'unknown' };
          const outcome = !codes.length ? 'success' : result?.data ? 'partial' : 'error';
          stopTimer(labels);
          metrics.operations.inc({ ...labels, outcome });
          for (const code of codes) metrics.errors.inc({ code });
        },
      };
    },
  };
}
