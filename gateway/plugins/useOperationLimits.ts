import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { GatewayContext } from '../context.js';
import { fragmentsOf, walkFields } from '../operation-walk.js';
import { ErrorCode } from '../../shared/errors.js';

export interface OperationLimits {
  /** Deepest field nesting (root fields are depth 1). */
  maxDepth: number;
  /** Aliased fields in the whole operation. */
  maxAliases: number;
  /** Fields at the root of the operation. */
  maxRootFields: number;
  /** Directives on any one field. */
  maxDirectivesPerField: number;
}

function refuse(code: string, message: string, actual: number, limit: number): GraphQLError {
  return new GraphQLError(message, { extensions: { code, actual, limit, http: { status: 400 } } });
}

/**
 * Refuses an operation that cannot be resolved, and operations whose shape alone could hurt (deep nesting, alias bombs, many root
 * fields, directive piles) after validation and before planning, so no subgraph is asked.
 * Each limit has its own code; `actual` and `limit` are in `extensions`.
 */
export function useOperationLimits(limits: OperationLimits): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document, operationName }) {
          // With a gateway, Apollo Server leaves an unknown operationName to the gateway's
          // executor, which fails with no code (a 500); refuse it here as the client's mistake.
          if (!operation) {
            throw new GraphQLError(operationName ? `Unknown operation named "${operationName}".` : 'The document has several operations; name the one to run in operationName.', {
              extensions: { code: 'OPERATION_RESOLUTION_FAILURE', http: { status: 400 } },
            });
          }
          let depth = 0;
          let aliases = 0;
          let rootFields = 0;
          let directives = 0;
          walkFields(operation, fragmentsOf(document), (field, fieldDepth) => {
            depth = Math.max(depth, fieldDepth);
            if (field.alias) aliases++;
            if (fieldDepth === 1) rootFields++;
            directives = Math.max(directives, field.directives?.length ?? 0);
          });
          if (depth > limits.maxDepth) throw refuse(ErrorCode.MAX_DEPTH_EXCEEDED, `The operation nests ${depth} levels deep; at most ${limits.maxDepth} are allowed.`, depth, limits.maxDepth);
          if (aliases > limits.maxAliases) throw refuse(ErrorCode.MAX_ALIASES_EXCEEDED, `The operation uses ${aliases} aliases; at most ${limits.maxAliases} are allowed.`, aliases, limits.maxAliases);
          if (rootFields > limits.maxRootFields) {
            throw refuse(ErrorCode.MAX_ROOT_FIELDS_EXCEEDED, `The operation asks for ${rootFields} root fields; at most ${limits.maxRootFields} are allowed.`, rootFields, limits.maxRootFields);
          }
          if (directives > limits.maxDirectivesPerField) {
            throw refuse(ErrorCode.MAX_DIRECTIVES_EXCEEDED, `A field carries ${directives} directives; at most ${limits.maxDirectivesPerField} are allowed.`, directives, limits.maxDirectivesPerField);
          }
        },
      };
    },
  };
}
