import type { ApolloServerPlugin } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import { Kind, execute, type FragmentDefinitionNode, type SelectionSetNode } from 'graphql';
import type { GatewayContext } from '../context.js';
import { INTROSPECTION_FIELDS, fragmentsOf } from './operation-walk.js';

/** Whether every root field of this selection (fragments expanded) is introspection or `__typename`. */
function introspectionOnly(set: SelectionSetNode, fragments: Record<string, FragmentDefinitionNode>, seen = new Set<string>()): boolean {
  return set.selections.every((selection) => {
    if (selection.kind === Kind.FIELD) return INTROSPECTION_FIELDS.has(selection.name.value) || selection.name.value === '__typename';
    if (selection.kind === Kind.INLINE_FRAGMENT) return introspectionOnly(selection.selectionSet, fragments, seen);
    const name = selection.name.value;
    if (seen.has(name)) return true;
    seen.add(name);
    const fragment = fragments[name];
    return !!fragment && introspectionOnly(fragment.selectionSet, fragments, seen);
  });
}

/**
 * Answers operations that only introspect with graphql-js, from the API schema being served.
 * The gateway's query planner keeps an introspection schema of its own that lacks what
 * graphql 16 added (`isOneOf`, deprecated directives), so graphql-js's introspection query
 * with those options failed there (`INVALID_GRAPHQL`); graphql-js answers every option it
 * builds. Runs after admission (validation, cost, rate limits): where introspection is
 * disabled, validation has already refused the operation.
 */
export function useIntrospection(): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async responseForOperation({ schema, document, operation, request }) {
          if (operation.operation !== 'query' || !introspectionOnly(operation.selectionSet, fragmentsOf(document))) return null;
          const result = await execute({ schema, document, operationName: request.operationName, variableValues: request.variables });
          return {
            http: { status: undefined, headers: new HeaderMap() },
            body: {
              kind: 'single',
              singleResult: { data: result.data, ...(result.errors && { errors: result.errors.map((error) => error.toJSON()) }) },
            },
          };
        },
      };
    },
  };
}
