import {
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  Kind,
  getDirectiveValues,
  GraphQLError,
  isAbstractType,
  typeFromAST,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLObjectType,
  type GraphQLSchema,
  type InlineFragmentNode,
  type FragmentSpreadNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { BadUserInputError, ErrorCode, TesseraError } from '../../shared/errors/errors.js';

/**
 * Every walk of a document at the edge visits each fragment once and spends from a budget of
 * this many steps: a document whose fragments spread the next one twice would otherwise be
 * walked 2^n times (seconds of blocked event loop for 23 levels in under 1 KB). Linear walks
 * of any document within `MAX_DOCUMENT_BYTES` stay far below it.
 */
const VISIT_BUDGET = 100_000;

/** Counts that grow with fragment fan-out stop here rather than overflowing (JSON has no Infinity). */
export const SATURATED = Number.MAX_SAFE_INTEGER;
export const add = (a: number, b: number): number => Math.min(a + b, SATURATED);
export const multiply = (a: number, b: number): number => Math.min(a * b, SATURATED);

/** The steps one analysis may take (see `VISIT_BUDGET`); over them it refuses with `DOCUMENT_TOO_COMPLEX`. */
export class VisitBudget {
  private left: number;
  constructor(private readonly steps = VISIT_BUDGET) {
    this.left = steps;
  }

  spend(): void {
    if (--this.left < 0) {
      throw new TesseraError(
        `The document takes more than ${this.steps} steps to analyse; send a smaller one.`,
        ErrorCode.DOCUMENT_TOO_COMPLEX,
        {
          extensions: { limit: this.steps },
          refusesRequest: true,
        },
      );
    }
  }
}

export function fragmentsOf(document: DocumentNode): Record<string, FragmentDefinitionNode> {
  return Object.fromEntries(
    document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
  );
}

/** An operation's shape as written, fragments expanded (counts with multiplicity, saturating). */
export interface Shape {
  /** Deepest field nesting; root fields are depth 1. */
  depth: number;
  /** Aliased fields. */
  aliases: number;
  /** Fields at the root. */
  rootFields: number;
  /** Most directives on one field. */
  directives: number;
  /** Introspection root fields (`__schema`, `__type`). Their subtrees count here, not in `depth`. */
  introspectionFields: number;
  /** Deepest nesting inside an introspection field, counting it (its `ofType` chains included). */
  introspectionDepth: number;
  /** Deepest nesting of list fields inside an introspection field (`types { fields { args` is 3). */
  introspectionLists: number;
}

/** Meta fields whose subtrees are introspection: valid only at a query's root. */
export const INTROSPECTION_FIELDS: ReadonlySet<string> = new Set(['__schema', '__type']);

/** The fields of the introspection types (`__Schema`, `__Type`, …) that are lists of objects. */
const INTROSPECTION_LISTS = new Set(['types', 'directives', 'fields', 'args', 'inputFields', 'interfaces', 'possibleTypes', 'enumValues']);

/** A shape while it is measured: `lists` counts list fields by their introspection names, read only under an introspection field. */
type Measure = Shape & { lists: number };

const EMPTY: Measure = {
  depth: 0,
  aliases: 0,
  rootFields: 0,
  directives: 0,
  introspectionFields: 0,
  introspectionDepth: 0,
  introspectionLists: 0,
  lists: 0,
};

/**
 * The shapes of a document's operations. Each fragment is summarised once (its depth, aliases
 * and root fields relative to where it is spread) and the summary reused at every spread, so
 * the walk is linear in the document however often fragments spread each other.
 */
export function shapeAnalyzer(document: DocumentNode, budget = new VisitBudget()): (operation: OperationDefinitionNode) => Shape {
  const fragments = fragmentsOf(document);
  const summaries = new Map<string, Measure>();
  const inProgress = new Set<string>();

  const fragmentShape = (name: string): Measure => {
    const known = summaries.get(name);
    if (known) return known;
    const fragment = fragments[name];
    // Unknown fragments and cycles are validation errors reported by graphql's own rules.
    if (!fragment || inProgress.has(name)) return EMPTY;
    inProgress.add(name);
    const shape = selectionShape(fragment.selectionSet);
    inProgress.delete(name);
    summaries.set(name, shape);
    return shape;
  };

  const selectionShape = (set: SelectionSetNode): Measure => {
    const shape = { ...EMPTY };
    for (const selection of set.selections) {
      budget.spend();
      let inner: Measure;
      if (selection.kind === Kind.FIELD) {
        const child = selection.selectionSet ? selectionShape(selection.selectionSet) : EMPTY;
        const introspection = INTROSPECTION_FIELDS.has(selection.name.value);
        inner = {
          // Introspection is bounded by its own measures: the standard query nests deeper than any API operation needs to.
          depth: introspection ? 1 : child.depth + 1,
          aliases: add(child.aliases, selection.alias ? 1 : 0),
          rootFields: 1,
          directives: Math.max(child.directives, selection.directives?.length ?? 0),
          introspectionFields: introspection ? 1 : child.introspectionFields,
          introspectionDepth: introspection ? child.depth + 1 : child.introspectionDepth,
          introspectionLists: introspection ? child.lists : child.introspectionLists,
          lists: child.lists + (INTROSPECTION_LISTS.has(selection.name.value) ? 1 : 0),
        };
      } else {
        inner = selection.kind === Kind.INLINE_FRAGMENT ? selectionShape(selection.selectionSet) : fragmentShape(selection.name.value);
      }
      shape.depth = Math.max(shape.depth, inner.depth);
      shape.aliases = add(shape.aliases, inner.aliases);
      shape.rootFields = add(shape.rootFields, inner.rootFields);
      shape.directives = Math.max(shape.directives, inner.directives);
      shape.introspectionFields = add(shape.introspectionFields, inner.introspectionFields);
      shape.introspectionDepth = Math.max(shape.introspectionDepth, inner.introspectionDepth);
      shape.introspectionLists = Math.max(shape.introspectionLists, inner.introspectionLists);
      shape.lists = Math.max(shape.lists, inner.lists);
    }
    return shape;
  };

  return (operation) => {
    const { lists: _, ...shape } = selectionShape(operation.selectionSet);
    return shape;
  };
}

/**
 * Whether `@skip`/`@include` keep the node. Their `if` may not be null: a nullable variable
 * with a default is allowed there, but sent as an explicit null it is the client's mistake
 * (graphql-js execution throws), refused as one.
 */
function included(node: FieldNode | InlineFragmentNode | FragmentSpreadNode, variables: Record<string, unknown>): boolean {
  try {
    if (getDirectiveValues(GraphQLSkipDirective, node, variables)?.if === true) return false;
    return getDirectiveValues(GraphQLIncludeDirective, node, variables)?.if !== false;
  } catch (error) {
    if (error instanceof GraphQLError) throw new BadUserInputError(error.message, [], { refusesRequest: true });
    throw error;
  }
}

/**
 * The fields that run for `type` from these selection sets, by response key, as execution
 * collects them: fields of one response key merged, `@skip`/`@include` applied, fragments
 * whose type condition does not apply left out, and each named fragment collected once.
 */
export function collectFields(
  schema: GraphQLSchema,
  type: GraphQLObjectType,
  sets: readonly SelectionSetNode[],
  fragments: Record<string, FragmentDefinitionNode>,
  variables: Record<string, unknown>,
  budget: VisitBudget,
): Map<string, FieldNode[]> {
  const fields = new Map<string, FieldNode[]>();
  const visited = new Set<string>();
  const applies = (condition: FragmentDefinitionNode['typeCondition'] | undefined) => {
    if (!condition) return true;
    const on = typeFromAST(schema, condition);
    return on === type || (!!on && isAbstractType(on) && schema.isSubType(on, type));
  };
  const collect = (set: SelectionSetNode) => {
    for (const selection of set.selections) {
      budget.spend();
      if (!included(selection, variables)) continue;
      if (selection.kind === Kind.FIELD) {
        const key = selection.alias?.value ?? selection.name.value;
        const same = fields.get(key);
        if (same) same.push(selection);
        else fields.set(key, [selection]);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        if (applies(selection.typeCondition)) collect(selection.selectionSet);
      } else {
        const name = selection.name.value;
        if (visited.has(name)) continue;
        visited.add(name);
        const fragment = fragments[name];
        if (fragment && applies(fragment.typeCondition)) collect(fragment.selectionSet);
      }
    }
  };
  for (const set of sets) collect(set);
  return fields;
}
