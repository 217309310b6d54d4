import type { ApolloServerPlugin } from '@apollo/server';
import { ErrorCode, TesseraError } from '../../shared/errors/errors.js';
import { requestScope } from '../../shared/http/request-scope.js';
import { throttledWarn, type Logger } from '../../shared/observability/logger.js';
import { TokenRefusedError } from '../../shared/identity/tokens.js';
import type { GatewayContext } from '../context.js';
import type { CostLimit } from '../protection/cost-limit.js';
import type { SubgraphClient } from '../subgraph-calls/subgraph-client.js';

interface CallerCheckOptions {
  /** The subgraph that knows users: `me` is null for a deleted or disabled caller, `user(id)` null for a deleted one. */
  subgraph: string;
  /** The gateway's client of that subgraph, once the supergraph is loaded. */
  client(): SubgraphClient | undefined;
  /** The cost step's verdict: a mutation it refuses (or shape or page size did) costs no fetch. */
  analysisOf: CostLimit['analysisOf'];
  logger: Logger;
}

const CHECK = 'query TesseraCallerCheck($id: ID!) { me { id } user(id: $id) { id } }';

type CallerState = 'enabled' | 'user_disabled' | 'user_not_found';

/**
 * Refuses a write by a signed-in caller who no longer exists or has been disabled, though
 * their access token still verifies: before a mutation executes, the identity subgraph is
 * asked about the caller, and a caller it does not vouch for gets HTTP 401 `UNAUTHENTICATED`
 * (`reason: user_disabled` or `user_not_found`) before any subgraph is asked to write. The
 * answer is not cached, so a disable or delete stops writes at once; reads are not checked
 * (a token outlives its user for reads until it expires). When the identity subgraph cannot
 * answer, the mutation is refused (`SUBGRAPH_UNAVAILABLE`, 503): who may write is not guessed.
 *
 * The question goes through the gateway's own client of that subgraph, so it is signed,
 * timed out, traced and counted exactly like every other subgraph fetch.
 */
export function useCallerCheck({ subgraph, client, analysisOf, logger }: CallerCheckOptions): ApolloServerPlugin<GatewayContext> {
  const warn = throttledWarn(logger, 10_000);

  async function stateOf(context: GatewayContext): Promise<CallerState> {
    const identity = client();
    if (!identity) throw new Error(`no client of the ${subgraph} subgraph in the supergraph`);
    // Signed as the caller, with no cache tags to collect into: what it reads must not join the mutation's.
    const answer = await identity.call(
      { query: CHECK, operationName: 'TesseraCallerCheck', variables: { id: context.user!.userId } },
      { user: context.user },
    );
    const data = answer.data as { me?: { id: string } | null; user?: { id: string } | null } | null | undefined;
    if (answer.errors?.length || !data) throw new Error(`${subgraph} answered ${JSON.stringify(answer.errors ?? answer).slice(0, 500)}`);
    if (data.me) return 'enabled';
    return data.user ? 'user_disabled' : 'user_not_found';
  }

  return {
    async requestDidStart() {
      return {
        async didResolveOperation(requestContext) {
          const { operation, contextValue } = requestContext;
          if (operation?.operation !== 'mutation' || !contextValue.user) return;
          analysisOf(requestContext); // throws the refusal of an operation that will not run
          let state: CallerState;
          try {
            state = await stateOf(contextValue);
          } catch (error) {
            warn({ subgraph, requestId: requestScope().requestId, err: error }, 'cannot confirm the caller of a mutation; refusing it');
            const message = `The ${subgraph} subgraph cannot confirm who is calling right now, so writes are refused; try again shortly.`;
            throw new TesseraError(message, ErrorCode.SUBGRAPH_UNAVAILABLE, {
              extensions: { subgraph },
              refusesRequest: true,
              headers: { 'retry-after': '1' },
            });
          }
          if (state === 'enabled') return;
          requestScope().logger.info(
            { userId: contextValue.user.userId, reason: state },
            'mutation refused: the caller is disabled or gone',
          );
          throw new TokenRefusedError(
            state === 'user_disabled'
              ? 'This account has been disabled; its writes are refused.'
              : 'The account of this access token no longer exists.',
            state,
          );
        },
      };
    },
  };
}
