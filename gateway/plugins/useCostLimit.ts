import type { ApolloServerPlugin } from '@apollo/server';
import {
  GraphQLError,
  Kind,
  getNamedType,
  isCompositeType,
  isListType,
  isNonNullType,
  isObjectType,
  parse,
  valueFromASTUntyped,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLOutputType,
  type GraphQLSchema,
  type GraphQLType,
  type SelectionSetNode,
} from 'graphql';
import type { GatewayContext } from '../context.js';
import { fragmentsOf } from '../operation-walk.js';
import { ErrorCode } from '../../shared/errors.js';

export interface CostLimitOptions {
  /** Largest estimated cost an operation may have. */
  maxCost: number;
  /** Size assumed for a list field with neither a slicing argument nor `assumedSize`. */
  defaultListSize: number;
}

interface FieldCost {
  weight?: number;
  listSize?: { slicingArguments?: string[]; sizedFields?: string[]; assumedSize?: number };
}

/** `@cost` and `@listSize` of every field and type, read from the supergraph's SDL. */
export function costDirectives(supergraphSdl: string): Map<string, FieldCost> {
  const costs = new Map<string, FieldCost>();
  for (const definition of parse(supergraphSdl).definitions) {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.OBJECT_TYPE_EXTENSION) continue;
    const typeCost = definition.directives?.find((d) => d.name.value === 'cost');
    if (typeCost) costs.set(definition.name.value, { weight: Number(valueFromASTUntyped(typeCost.arguments![0]!.value)) });
    for (const field of definition.fields ?? []) {
      const entry: FieldCost = {};
      for (const directive of field.directives ?? []) {
        const args = Object.fromEntries((directive.arguments ?? []).map((a) => [a.name.value, valueFromASTUntyped(a.value)]));
        if (directive.name.value === 'cost') entry.weight = Number(args.weight);
        if (directive.name.value === 'listSize') entry.listSize = args as FieldCost['listSize'];
      }
      if (entry.weight !== undefined || entry.listSize) costs.set(`${definition.name.value}.${field.name.value}`, entry);
    }
  }
  return costs;
}

function isList(type: GraphQLType): boolean {
  return isListType(isNonNullType(type) ? type.ofType : type);
}

/**
 * Estimates an operation's cost in the manner of the demand control spec: each object costs
 * 1 (scalars 0) unless `@cost` says otherwise; a list multiplies what it holds by its size,
 * taken from the slicing argument (`first`), else `@listSize(assumedSize)`, else a default;
 * with `sizedFields` the size applies to those fields of a connection.
 */
export function estimateCost(
  schema: GraphQLSchema,
  costs: Map<string, FieldCost>,
  selectionSet: SelectionSetNode,
  rootType: GraphQLOutputType,
  fragments: Record<string, FragmentDefinitionNode>,
  variables: Record<string, unknown>,
  defaultListSize: number,
): number {
  const argument = (field: FieldNode, name: string): unknown => {
    const node = field.arguments?.find((a) => a.name.value === name);
    if (!node) return undefined;
    return node.value.kind === Kind.VARIABLE ? variables[node.value.name.value] : valueFromASTUntyped(node.value);
  };

  const selectionCost = (set: SelectionSetNode, parent: GraphQLOutputType, sizedMultiplier: Map<string, number>, seen: Set<string>): number => {
    const parentType = getNamedType(parent);
    let total = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const on = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parentType;
        total += selectionCost(selection.selectionSet, (on ?? parentType) as GraphQLOutputType, sizedMultiplier, seen);
      } else if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments[selection.name.value];
        if (!fragment || seen.has(fragment.name.value)) continue;
        const on = schema.getType(fragment.typeCondition.name.value) ?? parentType;
        total += selectionCost(fragment.selectionSet, on as GraphQLOutputType, sizedMultiplier, new Set(seen).add(fragment.name.value));
      } else {
        if (!isObjectType(parentType) && !('getFields' in parentType)) continue;
        const definition = (parentType as { getFields(): Record<string, { type: GraphQLOutputType }> }).getFields()[selection.name.value];
        if (!definition) continue; // __typename and friends
        const named = getNamedType(definition.type);
        const declared = costs.get(`${parentType.name}.${selection.name.value}`);
        const weight = declared?.weight ?? costs.get(named.name)?.weight ?? (isCompositeType(named) ? 1 : 0);
        const listSize = declared?.listSize;
        const sliced = listSize?.slicingArguments?.map((name) => Number(argument(selection, name))).filter((n) => Number.isFinite(n));
        const size = sliced?.length ? Math.max(...sliced) : (listSize?.assumedSize ?? defaultListSize);
        const childMultipliers = new Map<string, number>();
        if (listSize?.sizedFields?.length) for (const sized of listSize.sizedFields) childMultipliers.set(sized, size);
        // A sized field (a connection's `edges`) takes its parent's slicing size instead of a list default.
        const multiplier = sizedMultiplier.get(selection.name.value) ?? (isList(definition.type) && !listSize?.sizedFields?.length ? size : 1);
        const children = selection.selectionSet ? selectionCost(selection.selectionSet, definition.type, childMultipliers, seen) : 0;
        total += multiplier * (weight + children);
      }
    }
    return total;
  };
  return selectionCost(selectionSet, rootType, new Map(), new Set());
}

/**
 * Refuses an operation whose estimated cost is over budget, before planning, with
 * `COST_LIMIT_EXCEEDED` and the estimate and limit in `extensions`; otherwise reports the
 * estimate in the response's `extensions.cost`. Costs come from the supergraph being served
 * and follow its reloads.
 */
export function useCostLimit(options: CostLimitOptions): ApolloServerPlugin<GatewayContext> {
  // By API schema: a request that started before a reload is costed by the supergraph it runs on.
  const costsBySchema = new WeakMap<GraphQLSchema, Map<string, FieldCost>>();
  return {
    async serverWillStart() {
      return {
        schemaDidLoadOrUpdate({ apiSchema, coreSupergraphSdl }) {
          if (coreSupergraphSdl) costsBySchema.set(apiSchema, costDirectives(coreSupergraphSdl));
        },
      };
    },
    async requestDidStart({ schema }) {
      const costs = costsBySchema.get(schema);
      // Never estimate without the costs: that would let every operation through.
      if (!costs) throw new Error('useCostLimit has no costs for the schema being served (its schemaDidLoadOrUpdate did not run).');
      let estimated: number | undefined;
      return {
        async didResolveOperation({ operation, document, request, contextValue }) {
          if (!operation) return;
          const root = operation.operation === 'mutation' ? schema.getMutationType() : operation.operation === 'subscription' ? schema.getSubscriptionType() : schema.getQueryType();
          if (!root) return;
          estimated = estimateCost(schema, costs, operation.selectionSet, root, fragmentsOf(document), request.variables ?? {}, options.defaultListSize);
          contextValue.estimatedCost = estimated;
          if (estimated > options.maxCost) {
            throw new GraphQLError(`The operation's estimated cost is ${estimated}; the limit is ${options.maxCost}. Ask for smaller pages or fewer nested lists.`, {
              extensions: { code: ErrorCode.COST_LIMIT_EXCEEDED, estimatedCost: estimated, maxCost: options.maxCost, http: { status: 400 } },
            });
          }
        },
        async willSendResponse({ response }) {
          if (estimated === undefined || response.body.kind !== 'single') return;
          response.body.singleResult.extensions = { ...response.body.singleResult.extensions, cost: { estimated, limit: options.maxCost } };
        },
      };
    },
  };
}
