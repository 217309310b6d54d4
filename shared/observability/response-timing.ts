import type { ApolloServerPlugin, BaseContext, GraphQLRequestContextWillSendResponse } from '@apollo/server';

/**
 * A plugin handing each response about to be sent to `sent`, with the milliseconds (rounded)
 * since its request started: what the gateway's request log and a subgraph's slow-operation
 * log both measure.
 */
export function whenResponseSent<TContext extends BaseContext>(
  sent: (requestContext: GraphQLRequestContextWillSendResponse<TContext>, ms: number) => void,
): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      const started = performance.now();
      return {
        async willSendResponse(requestContext) {
          sent(requestContext, Math.round(performance.now() - started));
        },
      };
    },
  };
}
