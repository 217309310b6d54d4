import { Kind, type DocumentNode, type FragmentDefinitionNode, type GraphQLFormattedError, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import { GatewayTimeoutError, SubgraphUnavailableError, type TesseraError } from '../shared/errors.js';

/**
 * What the client is told about a failed subgraph fetch: a timeout, or the subgraph being
 * unavailable (refused or dropped connection, a 4xx/5xx, a body that is not a GraphQL
 * response). Never the subgraph's URL, status or body: those go to the gateway's log.
 */
export function subgraphFailure(subgraph: string, error: unknown): TesseraError {
  const name = (error as Error | undefined)?.name;
  return name === 'TimeoutError' || name === 'AbortError' ? new GatewayTimeoutError(subgraph) : new SubgraphUnavailableError(subgraph);
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
  const at = (path?: (string | number)[]): GraphQLFormattedError => ({ message: error.message, ...(path && { path }), extensions: { ...error.extensions } });
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
