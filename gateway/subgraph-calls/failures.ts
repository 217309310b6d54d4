import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import {
  GraphQLError,
  Kind,
  parse,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLFormattedError,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { ErrorCode, GatewayTimeoutError, SubgraphUnavailableError, TesseraError } from '../../shared/errors/errors.js';
import { currentRequestScope } from '../../shared/http/request-scope.js';
import { throttledWarn, type Logger } from '../../shared/observability/logger.js';
import type { GatewayContext } from '../context.js';

/** While a subgraph is down every request fails alike: one warning per this interval. */
const FAILURE_WARN_INTERVAL_MS = 10_000;

/**
 * What the client is told about a failed subgraph fetch: a timeout, or the subgraph being
 * unavailable (refused or dropped connection, a 4xx/5xx, a body that is not a GraphQL
 * response). Never the subgraph's URL, status or body: those go to the gateway's log.
 */
export function subgraphFailure(subgraph: string, error: unknown): TesseraError {
  if (error instanceof TesseraError) return error;
  const timedOut =
    (error instanceof GraphQLError && error.extensions.code === ErrorCode.GATEWAY_TIMEOUT) ||
    (error as Error | undefined)?.name === 'TimeoutError' ||
    (error as Error | undefined)?.name === 'AbortError';
  return timedOut ? new GatewayTimeoutError(subgraph) : new SubgraphUnavailableError(subgraph);
}

/** Response keys (aliases or names) a selection set asks for, fragments expanded; `__typename` aside. */
function responseKeys(selectionSet: SelectionSetNode, fragments: Map<string, FragmentDefinitionNode>, typename?: string): Set<string> {
  const keys = new Set<string>();
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      const key = selection.alias?.value ?? selection.name.value;
      if (key !== '__typename') keys.add(key);
      continue;
    }
    const fragment = selection.kind === Kind.INLINE_FRAGMENT ? selection : fragments.get(selection.name.value);
    const condition = fragment?.typeCondition?.name.value;
    if (!fragment || (typename && condition && condition !== typename)) continue;
    for (const key of responseKeys(fragment.selectionSet, fragments, typename)) keys.add(key);
  }
  return keys;
}

/**
 * The failure as errors at every field the fetch was to resolve, with paths relative to the
 * fetch: `[field]` for a root fetch, `['_entities', i, field]` for entity i of an entity
 * fetch. @apollo/gateway's executor rewrites such paths to where the fields sit in the
 * client's response (as it does for a subgraph's own errors); a failure thrown instead would
 * reach the client once, without a path.
 */
export function errorsAtFetchedFields(
  error: TesseraError,
  document: DocumentNode,
  variables: Record<string, unknown> | undefined,
): GraphQLFormattedError[] {
  const at = (path?: (string | number)[]): GraphQLFormattedError => ({
    message: error.message,
    ...(path && { path }),
    extensions: { ...error.extensions },
  });
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (!operation) return [at()];
  const fragments = new Map(
    document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
  );
  const entities = operation.selectionSet.selections.find((s) => s.kind === Kind.FIELD && s.name.value === '_entities');
  const representations = variables?.representations;
  if (entities?.kind === Kind.FIELD && entities.selectionSet && Array.isArray(representations)) {
    return representations.flatMap((representation: { __typename?: string }, i) => {
      const keys = [...responseKeys(entities.selectionSet!, fragments, representation?.__typename)];
      return keys.length ? keys.map((key) => at(['_entities', i, key])) : [at(['_entities', i])];
    });
  }
  const keys = [...responseKeys(operation.selectionSet, fragments)];
  return keys.length ? keys.map((key) => at([key])) : [at()];
}

/**
 * A subgraph's data source whose failed fetches reach the client as `SUBGRAPH_UNAVAILABLE` or
 * `GATEWAY_TIMEOUT` at each field they were to resolve, the other subgraphs' data served
 * beside them. It wraps the HTTP data source from outside, so whatever observes fetches
 * there (timing, tracing, counting) still sees the failure as it happened. Nothing sticks:
 * every request tries the subgraph again, so it heals with the first one after it is back.
 * Composition and health checks get the failure itself.
 */
export function withFailuresAtFields(
  subgraph: string,
  source: GraphQLDataSource<GatewayContext>,
  logger: Logger,
): GraphQLDataSource<GatewayContext> {
  const warnLimited = throttledWarn(logger, FAILURE_WARN_INTERVAL_MS);
  const warn = (failure: TesseraError, error: unknown) => {
    const status = (error as GraphQLError | undefined)?.extensions?.response as { status?: number } | undefined;
    warnLimited(
      { subgraph, requestId: currentRequestScope()?.requestId, code: failure.code, status: status?.status, err: error },
      'subgraph fetch failed',
    );
  };
  return {
    async process(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<GatewayGraphQLResponse> {
      if (!('incomingRequestContext' in options)) return source.process(options);
      let failure: TesseraError;
      try {
        const response = await source.process(options);
        // JSON that is not a GraphQL response would otherwise read as "no data, no errors".
        if ('data' in response || 'errors' in response) return response;
        failure = new SubgraphUnavailableError(subgraph);
        warn(failure, new Error('The subgraph answered JSON that is not a GraphQL response.'));
      } catch (error) {
        failure = subgraphFailure(subgraph, error);
        warn(failure, error);
      }
      return { errors: errorsAtFetchedFields(failure, options.document ?? parse(options.request.query!), options.request.variables) };
    },
  };
}
