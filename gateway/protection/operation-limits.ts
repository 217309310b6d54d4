import type { GraphQLRequestContextDidResolveOperation } from '@apollo/server';
import { GraphQLError, type OperationDefinitionNode, type ValidationRule } from 'graphql';
import type { GatewayContext } from '../context.js';
import { shapeAnalyzer, type Shape } from './operation-walk.js';
import { ErrorCode, OperationResolutionError, TesseraError, type ErrorCode as Code } from '../../shared/errors/errors.js';

export interface OperationLimits {
  /** Deepest field nesting (root fields are depth 1). */
  maxDepth: number;
  /** Aliased fields in the whole operation, fragments expanded. */
  maxAliases: number;
  /** Fields at the root of the operation, fragments expanded. */
  maxRootFields: number;
  /** Directives on any one field. */
  maxDirectivesPerField: number;
}

/**
 * Introspection's own bounds, in place of `maxDepth` for its subtrees. graphql-js's standard
 * query with every option (what GraphiQL, GraphQL Code Generator and most IDE plugins send) nests
 * 15 levels (its `ofType` chain is 9 deep) and 3 lists (`types { fields { args`), in one root
 * field; Apollo Sandbox and Rover send shallower ones. The margin admits a tool asking for a
 * few more `ofType` levels or a second probe; what is refused is what no tool sends: deeper
 * chains, a fourth nested list (`types { fields { type { fields`, multiplying the answer),
 * introspection fields repeated by aliases or fragments.
 */
export const INTROSPECTION_LIMITS = { maxIntrospectionDepth: 18, maxIntrospectionLists: 3, maxIntrospectionFields: 3 } as const;

type Limits = OperationLimits & { -readonly [K in keyof typeof INTROSPECTION_LIMITS]: number };

/** Each measure of a shape, the limit it must not exceed, the code refusing it and what the refusal says of it. */
const checks: [keyof Shape, keyof Limits, Code, (actual: number) => string][] = [
  ['depth', 'maxDepth', ErrorCode.MAX_DEPTH_EXCEEDED, (actual) => `The operation nests ${actual} levels deep`],
  ['aliases', 'maxAliases', ErrorCode.MAX_ALIASES_EXCEEDED, (actual) => `The operation uses ${actual} aliases`],
  ['rootFields', 'maxRootFields', ErrorCode.MAX_ROOT_FIELDS_EXCEEDED, (actual) => `The operation asks for ${actual} root fields`],
  ['directives', 'maxDirectivesPerField', ErrorCode.MAX_DIRECTIVES_EXCEEDED, (actual) => `A field carries ${actual} directives`],
  [
    'introspectionFields',
    'maxIntrospectionFields',
    ErrorCode.MAX_INTROSPECTION_FIELDS_EXCEEDED,
    (actual) => `The operation asks for ${actual} introspection fields (__schema, __type)`,
  ],
  [
    'introspectionDepth',
    'maxIntrospectionDepth',
    ErrorCode.MAX_INTROSPECTION_DEPTH_EXCEEDED,
    (actual) => `The introspection nests ${actual} levels deep`,
  ],
  [
    'introspectionLists',
    'maxIntrospectionLists',
    ErrorCode.MAX_INTROSPECTION_LISTS_EXCEEDED,
    (actual) => `The introspection nests ${actual} lists`,
  ],
];

/**
 * A validation rule refusing operations whose shape alone could hurt (deep nesting, alias
 * bombs, many root fields, directive piles). As a validation rule it runs before any plugin
 * hook, so a refused request is neither costed nor charged to a rate limit (and a document
 * that passes is not judged again: Apollo caches validated documents). Each limit has its own
 * code; `actual` and `limit` are in `extensions` (Apollo reports it as a validation failure,
 * HTTP 400; `formatError` restores the code). Every operation of the document is judged.
 * Introspection subtrees count as depth 1 and are bounded by `INTROSPECTION_LIMITS` instead
 * (where introspection is disabled, Apollo's own rule refuses them whatever their shape).
 */
export function operationLimitsRule(operationLimits: OperationLimits): ValidationRule {
  const limits: Limits = { ...operationLimits, ...INTROSPECTION_LIMITS };
  return (context) => {
    let shapeOf: ((operation: OperationDefinitionNode) => Shape) | undefined;
    return {
      OperationDefinition(operation) {
        shapeOf ??= shapeAnalyzer(context.getDocument());
        let shape: Shape;
        try {
          shape = shapeOf(operation);
        } catch (error) {
          if (error instanceof GraphQLError) context.reportError(error);
          else throw error;
          return false;
        }
        for (const [measure, limit, code, measured] of checks) {
          if (shape[measure] > limits[limit]) {
            context.reportError(
              new TesseraError(`${measured(shape[measure])}; at most ${limits[limit]} are allowed.`, code, {
                extensions: { actual: shape[measure], limit: limits[limit] },
              }),
            );
            break;
          }
        }
        // Nothing below needs visiting for this rule.
        return false;
      },
    };
  };
}

/**
 * The operation a request runs, or its refusal as the client's mistake. With a gateway, Apollo
 * Server leaves an unknown operationName to the gateway's executor, which fails with no code (a 500).
 */
export function resolvedOperation({
  operation,
  request,
}: Pick<GraphQLRequestContextDidResolveOperation<GatewayContext>, 'operation' | 'request'>): OperationDefinitionNode {
  if (operation) return operation;
  // The name the client asked for: the context's `operationName` is the resolved operation's, null here.
  const { operationName } = request;
  throw new OperationResolutionError(
    operationName
      ? `Unknown operation named "${operationName}".`
      : 'The document has several operations; name the one to run in operationName.',
  );
}
