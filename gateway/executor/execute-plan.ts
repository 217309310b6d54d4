import type {
  FetchDataKeyRenamer,
  FetchDataRewrite,
  FetchNode,
  PlanNode,
  QueryPlanSelectionNode,
  ResponsePath,
} from '@apollo/query-planner';
import { parse, type DocumentNode, type GraphQLFormattedError } from 'graphql';
import { ErrorCode, TesseraError } from '../../shared/errors/errors.js';
import type { GatewayContext } from '../context.js';
import { errorsAtFetchedFields } from '../subgraph-calls/failures.js';
import type { SubgraphAnswer, SubgraphClient } from '../subgraph-calls/subgraph-client.js';
import type { TypeConditions } from './type-conditions.js';

export type JsonObject = Record<string, unknown>;

/**
 * An object of the response tree a fetch reads from or writes into: where it is, and the
 * objects above it (what `..` in a context rewrite climbs to).
 */
interface Slot {
  object: JsonObject;
  path: PathLink | undefined;
  parent: Slot | undefined;
}

/** A response path, linked from its end: built step by step for free, read only for errors. */
interface PathLink {
  prev: PathLink | undefined;
  key: string | number;
}

function pathOf(link: PathLink | undefined, then: readonly (string | number)[] = []): (string | number)[] {
  const path: (string | number)[] = [];
  for (let at = link; at; at = at.prev) path.push(at.key);
  path.reverse();
  for (const key of then) path.push(key);
  return path;
}

export interface PlanExecution {
  /** The response tree every fetch writes into, shaped for the client afterwards. */
  data: JsonObject;
  errors: GraphQLFormattedError[];
}

export interface PlanExecutionInput {
  /** The client's variables as sent: what subgraph operations get (their own defaults apply there). */
  variables: JsonObject;
  /** The same, coerced with the operation's defaults: what `Condition` nodes test. */
  coercedVariables: JsonObject;
  context: Partial<GatewayContext>;
  clientOf(subgraph: string): SubgraphClient;
  conditions: TypeConditions;
  /** Each subgraph answer's `Cache-Control`, for the request's cache policy. */
  onAnswer?(subgraph: string, answer: SubgraphAnswer): void;
}

/**
 * Runs a query plan's nodes against the subgraphs: `Sequence` in order, `Parallel` at once,
 * `Flatten` at the objects its path reaches, `Fetch` sending the subgraph operation (with the
 * representations of those objects when it resolves entities) and merging the answer into the
 * tree in place, `Condition` on a variable. Failures never throw: they become errors at the
 * fields the failed fetch was to resolve, and the rest of the plan runs on what there is.
 */
export async function executePlan(
  node: PlanNode | undefined,
  input: PlanExecutionInput,
  execution: PlanExecution = { data: {}, errors: [] },
): Promise<PlanExecution> {
  if (node) await runNode(node, [{ object: execution.data, path: undefined, parent: undefined }], input, execution);
  return execution;
}

/**
 * One event of a subscription: what the subscribing fetch's subgraph sent (its data the start
 * of the response tree, its errors marked as that subgraph's), then the rest of the plan on it.
 */
export function executeSubscriptionEvent(
  rest: PlanNode | undefined,
  event: { data?: JsonObject | null; errors?: readonly GraphQLFormattedError[] },
  subgraph: string,
  input: PlanExecutionInput,
): Promise<PlanExecution> {
  const execution: PlanExecution = { data: event.data ?? {}, errors: [] };
  placeErrors(event.errors, subgraph, execution, (path) => [...path]);
  return executePlan(rest, input, execution);
}

async function runNode(node: PlanNode, slots: Slot[], input: PlanExecutionInput, execution: PlanExecution): Promise<void> {
  switch (node.kind) {
    case 'Sequence':
      for (const child of node.nodes) await runNode(child, slots, input, execution);
      return;
    case 'Parallel':
      await Promise.all(node.nodes.map((child) => runNode(child, slots, input, execution)));
      return;
    case 'Flatten':
      return runNode(node.node, slotsAt(slots, node.path), input, execution);
    case 'Fetch':
      return runFetch(node, slots, input, execution);
    case 'Condition': {
      const branch = input.coercedVariables[node.condition] ? node.ifClause : node.elseClause;
      if (branch) await runNode(branch, slots, input, execution);
      return;
    }
    case 'Defer':
      // The planner puts Defer nodes at the top of a part, where ./run-defer.ts streams them;
      // one met anywhere else is run whole, its deferred parts after its primary.
      if (node.primary.node) await runNode(node.primary.node, slots, input, execution);
      await Promise.all(node.deferred.map((deferred) => deferred.node && runNode(deferred.node, slots, input, execution)));
      return;
  }
}

/** The objects a flatten path reaches from each slot: `@` steps into every element of a list (of lists). */
function slotsAt(slots: Slot[], path: ResponsePath): Slot[] {
  let current = slots;
  for (const step of path) {
    if (step === '@') continue;
    const next: Slot[] = [];
    const key = String(step);
    for (const slot of current) collectObjects(slot.object[key], { prev: slot.path, key }, slot, next);
    current = next;
  }
  return current;
}

function collectObjects(value: unknown, path: PathLink, parent: Slot, into: Slot[]): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) collectObjects(value[i], { prev: path, key: i }, parent, into);
    return;
  }
  into.push({ object: value as JsonObject, path, parent });
}

const documents = new WeakMap<FetchNode, DocumentNode>();
function documentOf(fetch: FetchNode): DocumentNode {
  let document = fetch.operationDocumentNode ?? documents.get(fetch);
  if (!document) documents.set(fetch, (document = parse(fetch.operation)));
  return document;
}

const prefixes = new WeakMap<FetchNode, string>();
/** `{"query":…,"operationName":…,"variables":` of a fetch's request body, serialized once per plan. */
function fetchPrefix(fetch: FetchNode): string {
  let prefix = prefixes.get(fetch);
  if (prefix === undefined) {
    const operationName = fetch.operationName ? `,"operationName":${JSON.stringify(fetch.operationName)}` : '';
    prefixes.set(fetch, (prefix = `{"query":${JSON.stringify(fetch.operation)}${operationName},"variables":`));
  }
  return prefix;
}

/** The variables of a fetch: the client's that its operation uses (as sent), and any it adds. */
export function fetchVariables(fetch: FetchNode, variables: JsonObject): JsonObject {
  const picked: JsonObject = {};
  for (const name of fetch.variableUsages ?? []) if (name in variables) picked[name] = variables[name];
  return picked;
}

async function runFetch(fetch: FetchNode, slots: Slot[], input: PlanExecutionInput, execution: PlanExecution): Promise<void> {
  if (!slots.length) return;
  if (!fetch.requires) {
    // A root fetch (queries and mutations: one slot, the root).
    const variables = fetchVariables(fetch, input.variables);
    const answer = await call(fetch, variables, input, execution, slots, [slots.map((_, i) => i)]);
    if (!answer) return;
    for (const slot of slots) {
      if (answer.data) mergeInto(slot.object, answer.data);
      placeErrors(answer.errors, fetch.serviceName, execution, (path) => pathOf(slot.path, path));
    }
    return;
  }
  for (const group of contextGroups(fetch, slots, input))
    await runEntityFetch(fetch, group.slots, { ...fetchVariables(fetch, input.variables), ...group.variables }, input, execution);
}

async function runEntityFetch(fetch: FetchNode, slots: Slot[], variables: JsonObject, input: PlanExecutionInput, execution: PlanExecution) {
  // One representation per distinct entity; `owners[i]` are the slots it answers for.
  const representations: JsonObject[] = [];
  // Each representation's JSON: the key it is deduplicated by, and what the request body is written from.
  const serialized: string[] = [];
  const owners: number[][] = [];
  const byKey = new Map<string, number>();
  // Answers merged in place share their objects: one object met at many paths (the same
  // product under every review of it) is represented once; -1: it is no entity of this fetch.
  const byObject = new Map<JsonObject, number>();
  for (let i = 0; i < slots.length; i++) {
    const object = slots[i]!.object;
    const seen = byObject.get(object);
    if (seen !== undefined) {
      if (seen >= 0) owners[seen]!.push(i);
      continue;
    }
    const representation = select(object, fetch.requires!, input.conditions);
    if (!representation || typeof representation.__typename !== 'string') {
      byObject.set(object, -1);
      continue;
    }
    if (fetch.inputRewrites) applyRewrites(representation, fetch.inputRewrites, input.conditions);
    const key = JSON.stringify(representation);
    const known = byKey.get(key);
    if (known !== undefined) {
      owners[known]!.push(i);
      byObject.set(object, known);
      continue;
    }
    byObject.set(object, representations.length);
    byKey.set(key, representations.length);
    representations.push(representation);
    serialized.push(key);
    owners.push([i]);
  }
  if (!representations.length) return;
  const others = JSON.stringify(variables);
  const body = `${fetchPrefix(fetch)}${others === '{}' ? '{' : `${others.slice(0, -1)},`}"representations":[${serialized.join(',')}]}}`;
  variables.representations = representations;
  const answer = await call(fetch, variables, input, execution, slots, owners, body);
  if (!answer) return;
  const entities = answer.data?._entities;
  if (Array.isArray(entities)) {
    for (let j = 0; j < entities.length && j < owners.length; j++) {
      const entity = entities[j];
      if (entity === null || typeof entity !== 'object') continue;
      if (fetch.outputRewrites) applyRewrites(entity as JsonObject, fetch.outputRewrites, input.conditions);
      let merged: JsonObject | undefined;
      for (const owner of owners[j]!) {
        const object = slots[owner]!.object;
        // Owners of one answer are often one object met at several paths: merged once.
        if (object === merged) continue;
        mergeEntity(object, entity as JsonObject, input.conditions);
        merged = object;
      }
    }
  }
  if (!answer.errors) return;
  for (const received of answer.errors) {
    const error = fromSubgraph(received, fetch.serviceName);
    const path = error.path;
    if (path?.[0] === '_entities' && typeof path[1] === 'number' && owners[path[1]]) {
      for (const owner of owners[path[1]]!) execution.errors.push({ ...error, path: pathOf(slots[owner]!.path, path.slice(2)) });
    } else {
      // Not about one entity: at every object the fetch was for, as a whole.
      execution.errors.push(withoutSubgraphPath(error));
    }
  }
}

/**
 * Sends one fetch. When the subgraph gives no GraphQL answer (down, timed out, refused), the
 * failure becomes an error at every field the fetch was to resolve, at each owner's path, and
 * the fetch yields nothing.
 */
async function call(
  fetch: FetchNode,
  variables: JsonObject,
  input: PlanExecutionInput,
  execution: PlanExecution,
  slots: Slot[],
  owners: number[][],
  body?: string,
): Promise<SubgraphAnswer | undefined> {
  try {
    const answer = await input
      .clientOf(fetch.serviceName)
      .call({ query: fetch.operation, ...(fetch.operationName && { operationName: fetch.operationName }), variables, body }, input.context);
    input.onAnswer?.(fetch.serviceName, answer);
    return answer;
  } catch (error) {
    if (!(error instanceof TesseraError)) throw error;
    const failures = errorsAtFetchedFields(error, documentOf(fetch), variables).map((failure) => fromSubgraph(failure, fetch.serviceName));
    if (!fetch.requires) {
      for (const slot of slots) placeErrors(failures, undefined, execution, (path) => pathOf(slot.path, path));
      return undefined;
    }
    for (const failure of failures) {
      const [, index, ...rest] = failure.path ?? [];
      for (const owner of typeof index === 'number' ? owners[index]! : [])
        execution.errors.push({ ...failure, path: pathOf(slots[owner]!.path, rest) });
    }
    return undefined;
  }
}

/** `subgraph`: errors as the subgraph sent them, marked as its own here; undefined: marked already. */
function placeErrors(
  errors: readonly GraphQLFormattedError[] | undefined,
  subgraph: string | undefined,
  execution: PlanExecution,
  at: (path: readonly (string | number)[]) => (string | number)[],
) {
  for (const received of errors ?? []) {
    const error = subgraph ? fromSubgraph(received, subgraph) : received;
    execution.errors.push(error.path ? { ...error, path: at(error.path) } : error);
  }
}

/**
 * A subgraph's error as the client gets it: its message and extensions, with the subgraph's
 * name (`serviceName`) and `DOWNSTREAM_SERVICE_ERROR` when it has no code (what clients of
 * @apollo/gateway rely on); never its locations, which point into the subgraph's operation.
 */
function fromSubgraph({ message, path, extensions }: GraphQLFormattedError, subgraph: string): GraphQLFormattedError {
  return {
    message,
    ...(path && { path }),
    extensions: { ...extensions, code: extensions?.code ?? ErrorCode.DOWNSTREAM_SERVICE_ERROR, serviceName: subgraph },
  };
}

function withoutSubgraphPath({ path: _path, ...error }: GraphQLFormattedError): GraphQLFormattedError {
  return error;
}

/**
 * An entity's answer merged into its object. An `@interfaceObject` subgraph answers with the
 * interface's name as `__typename`; the object's concrete type, known already, stays.
 */
function mergeEntity(object: JsonObject, entity: JsonObject, conditions: TypeConditions): void {
  const known = object.__typename;
  mergeInto(object, entity);
  if (typeof known === 'string' && typeof entity.__typename === 'string' && conditions.isAbstract(entity.__typename))
    object.__typename = known;
}

/**
 * Merges a subgraph's answer into the tree in place: new keys are taken as they are (no copy),
 * objects met on both sides are merged key by key, lists element by element.
 */
export function mergeInto(target: JsonObject, source: JsonObject): void {
  for (const key in source) {
    const incoming = source[key];
    if (incoming !== undefined) target[key] = merged(target[key], incoming);
  }
}

/** `existing` with `incoming` merged into it where both are objects or both lists; else `incoming`. */
function merged(existing: unknown, incoming: unknown): unknown {
  if (existing === incoming || existing === null || incoming === null || typeof existing !== 'object' || typeof incoming !== 'object')
    return incoming;
  if (Array.isArray(existing) !== Array.isArray(incoming)) return incoming;
  if (!Array.isArray(existing)) {
    mergeInto(existing as JsonObject, incoming as JsonObject);
    return existing;
  }
  const from = incoming as unknown[];
  for (let i = 0; i < from.length; i++) existing[i] = merged(existing[i], from[i]);
  return existing;
}

/**
 * What a fetch's `requires` selects of an object: its representation. Fragments apply when the
 * object's `__typename` satisfies their type condition; a field the object lacks is left out.
 */
function select(object: JsonObject, selections: readonly QueryPlanSelectionNode[], conditions: TypeConditions): JsonObject | undefined {
  const selected: JsonObject = {};
  selectInto(selected, object, selections, conditions);
  return selected;
}

function selectInto(into: JsonObject, object: JsonObject, selections: readonly QueryPlanSelectionNode[], conditions: TypeConditions): void {
  const typename = object.__typename;
  for (const selection of selections) {
    if (selection.kind === 'InlineFragment') {
      if (!selection.typeCondition || conditions.satisfies(typeof typename === 'string' ? typename : undefined, selection.typeCondition))
        selectInto(into, object, selection.selections, conditions);
      continue;
    }
    const key = selection.alias ?? selection.name;
    const value = object[key];
    if (value === undefined) continue;
    into[key] = selection.selections && value !== null ? selectValue(value, selection.selections, conditions, into[key]) : value;
  }
}

function selectValue(
  value: unknown,
  selections: readonly QueryPlanSelectionNode[],
  conditions: TypeConditions,
  existing: unknown,
): unknown {
  if (Array.isArray(value))
    return value.map((item, i) =>
      item === null ? null : selectValue(item, selections, conditions, (existing as unknown[] | undefined)?.[i]),
    );
  if (typeof value !== 'object' || value === null) return value;
  const into = existing && typeof existing === 'object' ? (existing as JsonObject) : {};
  selectInto(into, value as JsonObject, selections, conditions);
  return into;
}

/**
 * A rewrite's path: keys, and `... on T` steps that go on only where the object is a T. At the
 * end, a `ValueSetter` sets the last key; a `KeyRenamer` moves the value under its new name.
 */
function applyRewrites(object: JsonObject, rewrites: readonly FetchDataRewrite[], conditions: TypeConditions): void {
  for (const rewrite of rewrites) applyRewrite(object, rewrite, 0, conditions);
}

function applyRewrite(value: unknown, rewrite: FetchDataRewrite, at: number, conditions: TypeConditions): void {
  if (Array.isArray(value)) {
    for (const item of value) applyRewrite(item, rewrite, at, conditions);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const object = value as JsonObject;
  const step = rewrite.path[at]!;
  const condition = typeConditionOf(step);
  if (condition !== undefined) {
    const typename = typeof object.__typename === 'string' ? object.__typename : undefined;
    if (conditions.satisfies(typename, condition)) applyRewrite(object, rewrite, at + 1, conditions);
    return;
  }
  if (at < rewrite.path.length - 1) {
    applyRewrite(object[step], rewrite, at + 1, conditions);
    return;
  }
  if (rewrite.kind === 'ValueSetter') {
    object[step] = rewrite.setValueTo;
  } else if (step in object) {
    object[rewrite.renameKeyTo] = object[step];
    delete object[step];
  }
}

function typeConditionOf(step: string): string | undefined {
  return step.startsWith('... on ') ? step.slice('... on '.length) : undefined;
}

/**
 * `@fromContext`: a fetch's `contextRewrites` name values found above each entity (`..` climbs
 * to the parent object) that its operation takes as variables (`renameKeyTo`). Entities with
 * the same values are fetched together; those with others in fetches of their own.
 */
function contextGroups(fetch: FetchNode, slots: Slot[], input: PlanExecutionInput): { slots: Slot[]; variables: JsonObject }[] {
  const rewrites = fetch.contextRewrites;
  if (!rewrites?.length) return [{ slots, variables: {} }];
  const groups = new Map<string, { slots: Slot[]; variables: JsonObject }>();
  for (const slot of slots) {
    const variables: JsonObject = {};
    for (const rewrite of rewrites) {
      const value = contextValue(slot, rewrite, input.conditions);
      if (value !== undefined && !(rewrite.renameKeyTo in variables)) variables[rewrite.renameKeyTo] = value;
    }
    const key = JSON.stringify(variables);
    const group = groups.get(key);
    if (group) group.slots.push(slot);
    else groups.set(key, { slots: [slot], variables });
  }
  return [...groups.values()];
}

function contextValue(slot: Slot, rewrite: FetchDataKeyRenamer, conditions: TypeConditions): unknown {
  let current: Slot | undefined = slot;
  let value: unknown = slot.object;
  for (const step of rewrite.path) {
    if (step === '..') {
      current = current?.parent;
      value = current?.object;
      continue;
    }
    if (value === null || typeof value !== 'object') return undefined;
    const condition = typeConditionOf(step);
    if (condition !== undefined) {
      const typename = (value as JsonObject).__typename;
      if (!conditions.satisfies(typeof typename === 'string' ? typename : undefined, condition)) return undefined;
      continue;
    }
    value = (value as JsonObject)[step];
  }
  return value;
}
