import type { ApolloServerPlugin, GraphQLRequest, GraphQLRequestContextDidResolveOperation } from '@apollo/server';
import {
  Kind,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  getArgumentValues,
  getNamedType,
  getVariableValues,
  isAbstractType,
  isCompositeType,
  isListType,
  isNonNullType,
  parse,
  valueFromASTUntyped,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLSchema,
  type GraphQLType,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { GatewayContext } from '../context.js';
import { VisitBudget, add, collectFields, fragmentsOf, multiply } from './operation-walk.js';
import { resolvedOperation } from './operation-limits.js';
import { BadUserInputError, ErrorCode, TesseraError } from '../../shared/errors/errors.js';

export interface CostLimitOptions {
  /** Largest estimated cost an operation may have. */
  maxCost: number;
  /** Size assumed for a list field with neither a slicing argument nor `assumedSize`. */
  defaultListSize: number;
  /** Largest value a slicing argument (`first`) may take; the subgraphs' `MAX_PAGE_SIZE` by default. */
  maxPageSize: number;
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

/** What the admission steps learn of an operation: what it will cost, and which root fields it runs how often. */
interface OperationAnalysis {
  /** The estimated cost (saturating at `Number.MAX_SAFE_INTEGER`), introspection left out. */
  cost: number;
  /** The estimated cost of the introspection fields (`__schema`, `__type`), against `INTROSPECTION_MAX_COST`. */
  introspectionCost: number;
  /** `Mutation.login` → how many times it runs (one per response key, after fragments and aliases). */
  rootFields: ReadonlyMap<string, number>;
}

interface EstimateInput {
  schema: GraphQLSchema;
  costs: Map<string, FieldCost>;
  operation: OperationDefinitionNode;
  fragments: Record<string, FragmentDefinitionNode>;
  /** The operation's coerced variable values (defaults applied), as execution will use them. */
  variables: Record<string, unknown>;
  defaultListSize: number;
  maxPageSize: number;
  budget?: VisitBudget;
}

/**
 * Introspection is answered by the gateway from the schema it holds, no subgraph asked, so it
 * is costed apart from `MAX_COST`, each of its lists assumed this long whatever
 * `DEFAULT_LIST_SIZE` says. graphql-js's standard query costs 16,424 so (each further `ofType`
 * level about 1,500), the most any tool sends; this bound admits it with the `ofType` levels
 * the shape bound allows and refuses what multiplies it (lists repeated with aliases).
 */
const INTROSPECTION_LIST_SIZE = 10;
export const INTROSPECTION_MAX_COST = 25_000;
const metaFields = new Map([
  [SchemaMetaFieldDef.name, SchemaMetaFieldDef],
  [TypeMetaFieldDef.name, TypeMetaFieldDef],
]);

function badInput(message: string, field: string): BadUserInputError {
  return new BadUserInputError(message, [{ field, message }], { refusesRequest: true });
}

/**
 * Estimates an operation's cost in the manner of the demand control spec, over what execution
 * will run: fields collected as execution collects them (one response key counts once, however
 * often it is selected), arguments with their coerced values and schema defaults, and for an
 * abstract type the most expensive of its possible types. Each object costs 1 (scalars 0)
 * unless `@cost` says otherwise; a list multiplies what it holds by its size, taken from the
 * slicing argument (`first`), else `@listSize(assumedSize)`, else a default; with `sizedFields`
 * the size applies to those fields of a connection. A slicing argument over `maxPageSize` or
 * negative is refused (`BAD_USER_INPUT`, naming its path). Selection sets already costed for a
 * type are reused, so fragment fan-out is walked once; the walk spends from a `VisitBudget`.
 */
export function analyzeOperation({
  schema,
  costs,
  operation,
  fragments,
  variables,
  defaultListSize,
  maxPageSize,
  budget = new VisitBudget(),
}: EstimateInput): OperationAnalysis {
  const root = schema.getRootType(operation.operation);
  if (!root) return { cost: 0, introspectionCost: 0, rootFields: new Map() };
  let introspectionCost = 0;
  // Selection sets by identity, for the memo's keys (a WeakMap has no size to number them by).
  const ids = new WeakMap<SelectionSetNode, number>();
  let nextId = 0;
  const setId = (set: SelectionSetNode) => {
    let id = ids.get(set);
    if (id === undefined) ids.set(set, (id = ++nextId));
    return id;
  };
  const memo = new Map<string, number>();

  const objectCost = (type: GraphQLObjectType, sets: SelectionSetNode[], sized: ReadonlyMap<string, number>, path: string): number => {
    const key = `${type.name}|${sets.map(setId).join(',')}|${[...sized].join(';')}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let total = 0;
    for (const [responseKey, nodes] of collectFields(schema, type, sets, fragments, variables, budget)) {
      total = add(total, fieldCost(type, nodes, sized, path ? `${path}.${responseKey}` : responseKey));
    }
    memo.set(key, total);
    return total;
  };

  const selectionCost = (
    type: GraphQLCompositeType,
    sets: SelectionSetNode[],
    sized: ReadonlyMap<string, number>,
    path: string,
  ): number => {
    if (!isAbstractType(type)) return objectCost(type, sets, sized, path);
    // What runs is one concrete type per object: the dearest of them bounds it.
    let most = 0;
    for (const possible of schema.getPossibleTypes(type)) most = Math.max(most, objectCost(possible, sets, sized, path));
    return most;
  };

  const fieldCost = (parent: GraphQLObjectType, nodes: FieldNode[], sized: ReadonlyMap<string, number>, path: string): number => {
    budget.spend();
    const node = nodes[0]!;
    const meta = parent === root ? metaFields.get(node.name.value) : undefined;
    if (meta) {
      // Valid only at the root, so reached once per response key: its cost goes to its own bound.
      introspectionCost = add(introspectionCost, costOf(parent, meta, nodes, sized, path));
      return 0;
    }
    const definition = parent.getFields()[node.name.value];
    if (!definition) return 0; // __typename
    return costOf(parent, definition, nodes, sized, path);
  };

  const costOf = (
    parent: GraphQLObjectType,
    definition: GraphQLField<unknown, unknown>,
    nodes: FieldNode[],
    sized: ReadonlyMap<string, number>,
    path: string,
  ): number => {
    const node = nodes[0]!;
    let args: Record<string, unknown>;
    try {
      args = getArgumentValues(definition, node, variables);
    } catch (error) {
      throw badInput((error as Error).message, path);
    }
    const named = getNamedType(definition.type);
    const declared = costs.get(`${parent.name}.${node.name.value}`);
    const weight = declared?.weight ?? costs.get(named.name)?.weight ?? (isCompositeType(named) ? 1 : 0);
    const listSize = declared?.listSize;
    const sliced: number[] = [];
    for (const name of listSize?.slicingArguments ?? []) {
      const value = args[name];
      if (typeof value !== 'number') continue;
      // Worded as the subgraphs word it (shared/subgraph/pagination.ts), with the path added.
      if (value < 0) throw badInput(`${name} must not be negative (at ${path}.${name}).`, `${path}.${name}`);
      if (value > maxPageSize) {
        throw badInput(
          `${name} must be at most ${maxPageSize} (at ${path}.${name}); ask for a smaller page and follow pageInfo.endCursor.`,
          `${path}.${name}`,
        );
      }
      sliced.push(value);
    }
    const size = sliced.length
      ? Math.max(...sliced)
      : (listSize?.assumedSize ?? (parent.name.startsWith('__') ? INTROSPECTION_LIST_SIZE : defaultListSize));
    const childSized = new Map<string, number>();
    if (listSize?.sizedFields?.length) for (const field of listSize.sizedFields) childSized.set(field, size);
    // A sized field (a connection's `edges`) takes its parent's slicing size instead of a list default.
    const multiplier = sized.get(node.name.value) ?? (isList(definition.type) && !listSize?.sizedFields?.length ? size : 1);
    const sets = nodes.flatMap((field) => (field.selectionSet ? [field.selectionSet] : []));
    const children = isCompositeType(named) && sets.length ? selectionCost(named, sets, childSized, path) : 0;
    return multiply(multiplier, add(weight, children));
  };

  const rootFields = new Map<string, number>();
  for (const nodes of collectFields(schema, root, [operation.selectionSet], fragments, variables, budget).values()) {
    const key = `${root.name}.${nodes[0]!.name.value}`;
    rootFields.set(key, (rootFields.get(key) ?? 0) + 1);
  }
  const cost = selectionCost(root, [operation.selectionSet], new Map(), '');
  return { cost, introspectionCost, rootFields };
}

type AdmissionContext = Pick<GraphQLRequestContextDidResolveOperation<GatewayContext>, 'schema' | 'operation' | 'document' | 'request'>;

export interface CostLimit extends ApolloServerPlugin<GatewayContext> {
  /**
   * The request's analysis, computed once per request (whichever plugin asks first); throws
   * the request's refusal (unresolvable operation, bad variables, page size, cost) instead.
   * The rate limit calls it, so it charges only what this admitted, by what this estimated.
   */
  analysisOf(requestContext: AdmissionContext): OperationAnalysis;
}

/**
 * Refuses an operation whose estimated cost is over budget, before planning, with
 * `COST_LIMIT_EXCEEDED` and the estimate and limit in `extensions`; otherwise reports the
 * estimate in the response's `extensions.cost`. Costs come from the supergraph being served
 * and follow its reloads.
 */
export function useCostLimit(options: CostLimitOptions): CostLimit {
  // By API schema: a request that started before a reload is costed by the supergraph it runs on.
  const costsBySchema = new WeakMap<GraphQLSchema, Map<string, FieldCost>>();
  const verdicts = new WeakMap<GraphQLRequest, { analysis: OperationAnalysis } | { refusal: unknown }>();
  // An operation without variables costs the same at every request: estimated once per parsed
  // document (Apollo Server's document store hands the same one out) and supergraph.
  const admittedBySchema = new WeakMap<GraphQLSchema, WeakMap<OperationDefinitionNode, OperationAnalysis>>();

  const analyze = ({ schema, document, request, operation: resolved }: AdmissionContext): OperationAnalysis => {
    const operation = resolvedOperation({ operation: resolved, request });
    const costs = costsBySchema.get(schema);
    // Never estimate without the costs: that would let every operation through.
    if (!costs) throw new Error('useCostLimit has no costs for the schema being served (its schemaDidLoadOrUpdate did not run).');
    const constant = !operation.variableDefinitions?.length;
    let admitted = constant ? admittedBySchema.get(schema) : undefined;
    const known = admitted?.get(operation);
    if (known) return known;
    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], request.variables ?? {}, { maxErrors: 10 });
    if (coerced.errors) {
      throw new BadUserInputError(coerced.errors.map((error) => error.message).join(' '), [], { refusesRequest: true });
    }
    // The visit budget refuses the client's document with 400 itself (a plugin's error is a 500 unless it says).
    const analysis = analyzeOperation({
      schema,
      costs,
      operation,
      fragments: fragmentsOf(document),
      variables: coerced.coerced,
      ...options,
    });
    if (analysis.introspectionCost > INTROSPECTION_MAX_COST) {
      const message = `The introspection's estimated cost is ${analysis.introspectionCost}; the limit is ${INTROSPECTION_MAX_COST}. Send the standard introspection query.`;
      throw new TesseraError(message, ErrorCode.INTROSPECTION_COST_EXCEEDED, {
        extensions: { estimatedCost: analysis.introspectionCost, maxCost: INTROSPECTION_MAX_COST },
        refusesRequest: true,
      });
    }
    if (analysis.cost > options.maxCost) {
      const message = `The operation's estimated cost is ${analysis.cost}; the limit is ${options.maxCost}. Ask for smaller pages or fewer nested lists.`;
      throw new TesseraError(message, ErrorCode.COST_LIMIT_EXCEEDED, {
        extensions: { estimatedCost: analysis.cost, maxCost: options.maxCost },
        refusesRequest: true,
      });
    }
    if (constant) {
      if (!admitted) admittedBySchema.set(schema, (admitted = new WeakMap()));
      admitted.set(operation, analysis);
    }
    return analysis;
  };

  const analysisOf = (requestContext: AdmissionContext): OperationAnalysis => {
    let verdict = verdicts.get(requestContext.request);
    if (!verdict) {
      try {
        verdict = { analysis: analyze(requestContext) };
      } catch (refusal) {
        verdict = { refusal };
      }
      verdicts.set(requestContext.request, verdict);
    }
    if ('refusal' in verdict) throw verdict.refusal;
    return verdict.analysis;
  };

  return {
    analysisOf,
    async serverWillStart() {
      return {
        schemaDidLoadOrUpdate({ apiSchema, coreSupergraphSdl }) {
          if (coreSupergraphSdl) costsBySchema.set(apiSchema, costDirectives(coreSupergraphSdl));
        },
      };
    },
    async requestDidStart() {
      let estimated: number | undefined;
      return {
        async didResolveOperation(requestContext) {
          estimated = analysisOf(requestContext).cost;
        },
        async willSendResponse({ response }) {
          if (estimated === undefined || response.body.kind !== 'single') return;
          response.body.singleResult.extensions = { ...response.body.singleResult.extensions, cost: { estimated, limit: options.maxCost } };
        },
      };
    },
  };
}
