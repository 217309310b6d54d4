import type { DeferNode, PlanNode } from '@apollo/query-planner';
import {
  getDirectiveValues,
  getNamedType,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  isAbstractType,
  isObjectType,
  Kind,
  parse,
  type DocumentNode,
  type DirectiveNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLFormattedError,
  type GraphQLInterfaceType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type GraphQLUnionType,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
} from 'graphql';
import { EventQueue } from '../subscriptions/event-queue.js';
import { executePlan, mergeInto, type JsonObject, type PlanExecutionInput } from './execute-plan.js';
import type { ExecutionSlots } from './execution-slots.js';
import { shapeResponse, shapeSelection } from './shape-response.js';

/** One object a deferred fragment delivered, at its path (`deferSpec=20220824`'s `incremental` item). */
export interface IncrementalItem {
  data: JsonObject | null;
  path: (string | number)[];
  label?: string;
  errors?: GraphQLFormattedError[];
}

/** A payload of an incremental response: the first carries `data`, the later ones `incremental`; `hasNext` says whether more come. */
export type IncrementalPayload = ({ data: JsonObject | null; errors?: GraphQLFormattedError[] } | { incremental: IncrementalItem[] }) & {
  hasNext: boolean;
  extensions?: JsonObject;
};

export interface DeferredRun {
  schema: GraphQLSchema;
  document: DocumentNode;
  operation: OperationDefinitionNode;
  /** Labels the gateway gave to unlabelled `@defer`s (see deferredDocument): not sent to the client. */
  ownLabels: ReadonlySet<string>;
  /** The response key of the `__typename`s the gateway added (see deferredDocument): never sent. */
  hiddenTypename?: string;
  /** How the plan's fetches run (variables, context, subgraph clients). */
  execution: PlanExecutionInput;
  /**
   * The gateway's execution slots: each part's fetches wait for one, as a query's plan does,
   * since they run after the request's own slot is given back.
   */
  slots: ExecutionSlots;
}

type ObjectLike = GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType;

const selections = new Map<string, SelectionSetNode>();
/** A plan's `subselection` (`{ a b { c } }`) as a selection set; the planner writes a few per plan, parsed once each. */
function selectionSetOf(subselection: string): SelectionSetNode {
  let set = selections.get(subselection);
  if (!set) {
    set = (parse(subselection, { noLocation: true }).definitions[0] as OperationDefinitionNode).selectionSet;
    // Bounded like a cache: plans are bounded, and their subselections with them.
    if (selections.size >= 10_000) selections.clear();
    selections.set(subselection, set);
  }
  return set;
}

/**
 * Runs a plan with `Defer` nodes and streams its parts: the primary part (shaped for the
 * primary subselection) as soon as its fetches are done, then each deferred part as soon as
 * its own are, independently of its siblings (a deferred part starts once the part it depends
 * on has been delivered: its `depends` are that part's fetches). A deferred part is shaped for
 * its subselection at every object its query path reaches in what the client has received, one
 * `incremental` item each; the errors of its fetches go with it. Nested `Defer` nodes are parts
 * within parts; `Condition` nodes (`@defer(if:)`) pick their branch on the coerced variables.
 * All fetches write into one tree, so a later part sees what the earlier ones fetched.
 */
export function runDeferredPlan(node: PlanNode | undefined, run: DeferredRun): AsyncIterableIterator<IncrementalPayload> {
  const tree: JsonObject = {};
  // What the client has been sent, merged: where a later part's items may go.
  const delivered: JsonObject = {};
  // Parts started and not yet delivered; the payload that brings it to 0 says `hasNext: false`.
  let pending = 1;
  let stopped = false;
  const queue = new EventQueue<IncrementalPayload>(
    Number.MAX_SAFE_INTEGER,
    () => {},
    () => {
      stopped = true;
    },
  );
  const fragments = run.document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION);
  const variables = run.execution.coercedVariables;

  const branchOf = (planNode: PlanNode | undefined): PlanNode | undefined => {
    let at = planNode;
    while (at?.kind === 'Condition') at = run.execution.coercedVariables[at.condition] ? at.ifClause : at.elseClause;
    return at;
  };

  const execute = async (planNode: PlanNode | undefined): Promise<GraphQLFormattedError[]> => {
    const errors: GraphQLFormattedError[] = [];
    await run.slots.run(() => executePlan(planNode, run.execution, { data: tree, errors }));
    return errors;
  };

  const finishPart = (payload: IncrementalPayload | undefined, children: number) => {
    pending += children - 1;
    const hasNext = pending > 0;
    if (payload) queue.push({ ...payload, hasNext });
    else if (!hasNext) queue.push({ incremental: [], hasNext: false });
    if (!hasNext) queue.finish();
  };

  /** A deferred fragment's items: one per object its query path reaches in what was delivered; each error with the item it is under. */
  const itemsOf = (
    queryPath: string[],
    subselection: SelectionSetNode | undefined,
    label: string | undefined,
    errors: GraphQLFormattedError[],
    within: readonly string[][],
  ): IncrementalItem[] => {
    const items = objectsAt(run, fragments, queryPath, label, tree, delivered).map(({ object, path, type, sets }): IncrementalItem => {
      // Without the planner's subselection (it leaves some out), the deferred fragments themselves, less what they defer in turn.
      const selectionSet = subselection ?? {
        kind: Kind.SELECTION_SET,
        selections: deferredSetsAt(sets, label, fragments, variables).flatMap((set) => set.selections),
      };
      const data = shapeSelection({
        schema: run.schema,
        document: run.document,
        operation: run.operation,
        variables: run.execution.coercedVariables,
        data: object,
        errors,
        type,
        selectionSet,
        withoutDeferred: !subselection,
        hiddenTypename: run.hiddenTypename,
      });
      if (data) for (const steps of within) materialize(data, object, steps, sets, fragments, variables);
      if (data) mergeInto(at(delivered, path)!, structuredClone(data));
      return { data, path, ...(label !== undefined && !run.ownLabels.has(label) && { label }) };
    });
    for (const error of errors) {
      const item = items.find((candidate) => isPrefix(candidate.path, error.path)) ?? items[0];
      if (item) (item.errors ??= []).push(error);
    }
    return items;
  };

  const runRoot = async () => {
    const branch = branchOf(node);
    const defer = branch?.kind === 'Defer' ? branch : undefined;
    const errors = await execute(defer ? defer.primary.node : branch);
    // The operation without what it defers, rather than the planner's primary subselection,
    // which it leaves out when the deferred fragments' fields come with the primary fetches.
    const data = shapeResponse({
      schema: run.schema,
      document: run.document,
      operation: run.operation,
      variables: run.execution.coercedVariables,
      data: tree,
      errors,
      withoutDeferred: Boolean(defer),
      hiddenTypename: run.hiddenTypename,
    });
    const children = defer && data ? defer.deferred : [];
    if (data) for (const child of children) materialize(data, tree, child.queryPath, [run.operation.selectionSet], fragments, variables);
    if (data) mergeInto(delivered, structuredClone(data));
    finishPart({ data, ...(errors.length && { errors }), hasNext: true }, children.length);
    await Promise.all(children.map((child) => runDeferred(child)));
  };

  const runDeferred = async (deferred: DeferNode['deferred'][number]): Promise<void> => {
    if (stopped) return;
    const branch = branchOf(deferred.node);
    const nested = branch?.kind === 'Defer' ? branch : undefined;
    const errors = await execute(nested ? nested.primary.node : branch);
    if (stopped) return;
    const subselection = nested ? nested.primary.subselection : deferred.subselection;
    const children = nested?.deferred ?? [];
    const within = children.map((child) => child.queryPath.slice(deferred.queryPath.length));
    const items = itemsOf(deferred.queryPath, subselection ? selectionSetOf(subselection) : undefined, deferred.label, errors, within);
    finishPart(items.length ? { incremental: items, hasNext: true } : undefined, children.length);
    await Promise.all(children.map((child) => runDeferred(child)));
  };

  runRoot().catch((error: unknown) => {
    queue.fail({ data: null, errors: [{ message: (error as Error).message }], hasNext: false });
  });
  return queue;
}

/**
 * The objects on the way to a deferred part's path, where a part's own selection left them out
 * (`{ makers { ... @defer { revenue } } }`: the client must get `makers: [{}, {}]` for the items
 * to land in): empty objects (lists of them, or the nulls) wherever the fetched tree (`from`)
 * has values along `steps` and the operation selects them (`@skip`/`@include` applied).
 */
function materialize(
  into: JsonObject,
  from: JsonObject,
  steps: readonly string[],
  sets: readonly SelectionSetNode[],
  fragments: FragmentDefinitionNode[],
  variables: JsonObject,
): void {
  const [step, ...rest] = steps;
  if (step === undefined) return;
  if (step.startsWith('... on ')) return materialize(into, from, rest, sets, fragments, variables);
  const fields = fieldsWithKey(sets, step, fragments, variables);
  const source = from[step];
  if (!fields.length || source === undefined) return;
  // A null on the way is the part's to deliver: the client learns the field is null, and no item of the nested part comes.
  if (!(step in into)) into[step] = skeletonOf(source);
  if (source === null || typeof source !== 'object') return;
  const inner = fields.flatMap((field) => (field.selectionSet ? [field.selectionSet] : []));
  alongside(into[step], source, (target, object) => materialize(target, object, rest, inner, fragments, variables));
}

function skeletonOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(skeletonOf);
  return value !== null && typeof value === 'object' ? {} : null;
}

/** Calls `each` with the objects of `target` and `source` at the same places (lists element by element). */
function alongside(target: unknown, source: unknown, each: (target: JsonObject, source: JsonObject) => void): void {
  if (target === null || source === null || typeof target !== 'object' || typeof source !== 'object') return;
  if (Array.isArray(target) && Array.isArray(source)) {
    for (let i = 0; i < target.length && i < source.length; i++) alongside(target[i], source[i], each);
    return;
  }
  if (!Array.isArray(target) && !Array.isArray(source)) each(target as JsonObject, source as JsonObject);
}

function isPrefix(prefix: readonly (string | number)[], path: readonly (string | number)[] | undefined): boolean {
  if (!path || path.length < prefix.length) return false;
  return prefix.every((key, i) => path[i] === key);
}

function at(object: JsonObject, path: readonly (string | number)[]): JsonObject | undefined {
  let value: unknown = object;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : undefined;
}

/**
 * The objects a deferred fragment's query path (response keys, and `... on T` steps) reaches,
 * stepping into every element of a list: each with its concrete path and type, and only where
 * the client has an object at that path (a null there, or one a non-null field nulled, gets no item).
 */
function objectsAt(
  run: DeferredRun,
  fragments: FragmentDefinitionNode[],
  queryPath: readonly string[],
  label: string | undefined,
  tree: JsonObject,
  delivered: JsonObject,
): { object: JsonObject; path: (string | number)[]; type: ObjectLike; sets: readonly SelectionSetNode[] }[] {
  const variables = run.execution.coercedVariables;
  const root = run.schema.getRootType(run.operation.operation)!;
  let current: { object: JsonObject; path: (string | number)[]; type: ObjectLike; sets: readonly SelectionSetNode[] }[] = [
    { object: tree, path: [], type: root, sets: [run.operation.selectionSet] },
  ];
  for (const step of queryPath) {
    const next: typeof current = [];
    if (step.startsWith('... on ')) {
      const condition = run.schema.getType(step.slice('... on '.length));
      for (const entry of current) {
        const runtime = runtimeOf(run.schema, entry.type, entry.object);
        if (
          condition &&
          runtime &&
          (condition === runtime || (isAbstractType(condition) && run.schema.isSubType(condition, runtime as GraphQLObjectType)))
        )
          next.push({ ...entry, type: condition as ObjectLike });
      }
      current = next;
      continue;
    }
    for (const entry of current) {
      const fields = fieldsWithKey(entry.sets, step, fragments, variables);
      const name = fields[0]?.name.value;
      const runtime = runtimeOf(run.schema, entry.type, entry.object);
      const definition = name && runtime && 'getFields' in runtime ? runtime.getFields()[name] : undefined;
      if (!definition) continue;
      const type = getNamedType(definition.type) as ObjectLike;
      const sets = fields.flatMap((field) => (field.selectionSet ? [field.selectionSet] : []));
      collect(entry.object[step], [...entry.path, step], (object, path) => next.push({ object, path, type, sets }));
    }
    current = next;
  }
  // A fragment deferred within one `@skip`/`@include` leave out is planned all the same: it has no items.
  if (current[0] && !deferredSetsAt(current[0].sets, label, fragments, variables).length) return [];
  return current.filter(({ path }) => at(delivered, path) !== undefined);
}

function runtimeOf(schema: GraphQLSchema, type: ObjectLike, object: JsonObject): GraphQLObjectType | GraphQLInterfaceType | undefined {
  if (!isAbstractType(type)) return type;
  const named = typeof object.__typename === 'string' ? schema.getType(object.__typename) : undefined;
  if (isObjectType(named)) return named;
  return 'getFields' in type ? type : undefined;
}

function collect(value: unknown, path: (string | number)[], into: (object: JsonObject, path: (string | number)[]) => void): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    value.forEach((item, i) => collect(item, [...path, i], into));
    return;
  }
  into(value as JsonObject, path);
}

/** Whether `@skip`/`@include` keep a selection. */
function included(node: SelectionNode, variables: JsonObject): boolean {
  if (getDirectiveValues(GraphQLSkipDirective, node, variables)?.if === true) return false;
  return getDirectiveValues(GraphQLIncludeDirective, node, variables)?.if !== false;
}

/** A `@defer`'s `if` and `label`, read from the document (`if` defaults to true). */
function deferArguments(directive: DirectiveNode, variables: JsonObject): { label?: string; if: boolean } {
  const value = (name: string) => {
    const node = directive.arguments?.find((a) => a.name.value === name)?.value;
    if (!node) return undefined;
    return node.kind === Kind.VARIABLE
      ? variables[node.name.value]
      : node.kind === Kind.BOOLEAN || node.kind === Kind.STRING
        ? node.value
        : undefined;
  };
  const label = value('label');
  return { ...(typeof label === 'string' && { label }), if: value('if') !== false };
}

/**
 * The selection sets of the `@defer` fragments in these selection sets (with this label, when it
 * has one) that are not left out, through the fragments: where a deferred part is in the document.
 */
function deferredSetsAt(
  sets: readonly SelectionSetNode[],
  label: string | undefined,
  fragments: FragmentDefinitionNode[],
  variables: JsonObject,
): SelectionSetNode[] {
  const found: SelectionSetNode[] = [];
  const seen = new Set<string>();
  const visit = (set: SelectionSetNode) => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD || !included(selection, variables)) continue;
      let inner: SelectionSetNode | undefined;
      if (selection.kind === Kind.INLINE_FRAGMENT) inner = selection.selectionSet;
      else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        inner = fragments.find((f) => f.name.value === selection.name.value)?.selectionSet;
      }
      if (!inner) continue;
      const defer = selection.directives?.find((d) => d.name.value === 'defer');
      const values = defer && deferArguments(defer, variables);
      if (values && values.if && (label === undefined || values.label === label)) found.push(inner);
      else visit(inner);
    }
  };
  for (const set of sets) visit(set);
  return found;
}

/** The fields under `key` in these selection sets that `@skip`/`@include` keep, through every fragment (which type conditions apply is the shaper's to say). */
function fieldsWithKey(
  sets: readonly SelectionSetNode[],
  key: string,
  fragments: FragmentDefinitionNode[],
  variables: JsonObject,
): FieldNode[] {
  const found: FieldNode[] = [];
  const seen = new Set<string>();
  const visit = (set: SelectionSetNode) => {
    for (const selection of set.selections) {
      if (!included(selection, variables)) continue;
      if (selection.kind === Kind.FIELD) {
        if ((selection.alias?.value ?? selection.name.value) === key) found.push(selection);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        visit(selection.selectionSet);
      } else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = fragments.find((f) => f.name.value === selection.name.value);
        if (fragment) visit(fragment.selectionSet);
      }
    }
  };
  for (const set of sets) visit(set);
  return found;
}
