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
 * An edge of the response tree from the root (a key, or an index into a list) and the object
 * it lands on (undefined: a list). Walking a flatten path makes one per edge and nothing else:
 * a path is read off the chain only for errors, and `..` in a context rewrite climbs it to the
 * nearest object above.
 */
interface Step {
  prev: Step | undefined;
  /** Undefined only at the root. */
  key: string | number | undefined;
  object: JsonObject | undefined;
}

/** An object of the response tree a fetch reads from or writes into, where it is. */
interface Slot extends Step {
  object: JsonObject;
}

function pathOf(at: Step | undefined, then: readonly (string | number)[] = []): (string | number)[] {
  const path: (string | number)[] = [];
  for (; at; at = at.prev) if (at.key !== undefined) path.push(at.key);
  path.reverse();
  for (const key of then) path.push(key);
  return path;
}

/** The object whose field holds this slot (through lists): what `..` climbs to. */
function parentOf(slot: Slot): Slot | undefined {
  for (let at = slot.prev; at; at = at.prev) if (at.object) return at as Slot;
  return undefined;
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
  if (node) await runNode(node, [{ prev: undefined, key: undefined, object: execution.data }], input, execution);
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
      return runNode(node.node, slotsAt(slots, node.path, execution), input, execution);
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

/** A flatten path's keys (`@` steps dropped), and each prefix of them as one string: what walks are cached by. */
interface FlattenPath {
  keys: string[];
  prefixes: string[];
}

const flattenPaths = new WeakMap<ResponsePath, FlattenPath>();
function flattenPathOf(path: ResponsePath): FlattenPath {
  let flatten = flattenPaths.get(path);
  if (!flatten) {
    const keys = path.filter((step) => step !== '@').map(String);
    flattenPaths.set(path, (flatten = { keys, prefixes: keys.map((_, i) => keys.slice(0, i + 1).join('.')) }));
  }
  return flatten;
}

/**
 * The slots each path walked from a tree's root reached, kept until an answer is next merged
 * into the tree (`invalidateWalks`): a plan's Parallel branches flatten at paths that extend
 * one another (`users.@.reviews.@.product`, then `….product.reviews.@.author`), and each walks
 * on from the longest path walked before it that is a prefix of its own.
 */
const walks = new WeakMap<JsonObject, Map<string, Slot[]>>();

function invalidateWalks(execution: PlanExecution): void {
  walks.get(execution.data)?.clear();
}

/**
 * The objects a flatten path reaches from each slot, in order: `@` steps into every element
 * of a list (of lists); so does a key whose value is a list.
 */
function slotsAt(slots: Slot[], path: ResponsePath, execution: PlanExecution): Slot[] {
  const { keys, prefixes } = flattenPathOf(path);
  if (!keys.length) return slots;
  const fromRoot = slots.length === 1 && slots[0]!.object === execution.data;
  let cached = fromRoot ? walks.get(execution.data) : undefined;
  if (fromRoot && !cached) walks.set(execution.data, (cached = new Map()));
  let reached = slots;
  let level = 0;
  for (let at = keys.length; cached && at > 0; at--) {
    const found = cached.get(prefixes[at - 1]!);
    if (found) {
      reached = found;
      level = at;
      break;
    }
  }
  if (level === keys.length) return reached;
  const into: Slot[] = [];
  for (const slot of reached) descend(slot, keys, level, into);
  cached?.set(prefixes[keys.length - 1]!, into);
  return into;
}

function descend(from: Slot, keys: string[], at: number, into: Slot[]): void {
  if (at === keys.length) {
    into.push(from);
    return;
  }
  const key = keys[at]!;
  enter(from.object[key], from, key, keys, at + 1, into);
}

function enter(value: unknown, prev: Step, key: string | number, keys: string[], next: number, into: Slot[]): void {
  if (value === null || typeof value !== 'object') return;
  if (!Array.isArray(value)) {
    descend({ prev, key, object: value as JsonObject }, keys, next, into);
    return;
  }
  const list: Step = { prev, key, object: undefined };
  for (let i = 0; i < value.length; i++) enter(value[i], list, i, keys, next, into);
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
    const answer = await call(fetch, variables, input, execution, slots, () => []);
    if (!answer) return;
    invalidateWalks(execution);
    for (const slot of slots) {
      if (answer.data) mergeInto(slot.object, answer.data);
      placeErrors(answer.errors, fetch.serviceName, execution, (path) => pathOf(slot, path));
    }
    return;
  }
  for (const group of contextGroups(fetch, slots, input))
    await runEntityFetch(fetch, group.slots, { ...fetchVariables(fetch, input.variables), ...group.variables }, input, execution);
}

/** A fetch's distinct representations, and which of them each of its slots is. */
interface Representations {
  objects: JsonObject[];
  /** Each one's JSON: what the request body is written from. */
  serialized: string[];
  /** By slot: the index of its representation; -1: the object is no entity of this fetch. */
  indexOf: Int32Array;
}

async function runEntityFetch(fetch: FetchNode, slots: Slot[], variables: JsonObject, input: PlanExecutionInput, execution: PlanExecution) {
  const { objects, serialized, indexOf } = representationsOf(fetch, slots, input.conditions);
  if (!objects.length) return;
  const owners = (index: number): number[] => {
    const found: number[] = [];
    for (let i = 0; i < indexOf.length; i++) if (indexOf[i] === index) found.push(i);
    return found;
  };
  const others = JSON.stringify(variables);
  const body = `${fetchPrefix(fetch)}${others === '{}' ? '{' : `${others.slice(0, -1)},`}"representations":[${serialized.join(',')}]}}`;
  variables.representations = objects;
  const answer = await call(fetch, variables, input, execution, slots, owners, body);
  if (!answer) return;
  const entities = answer.data?._entities;
  if (Array.isArray(entities)) {
    invalidateWalks(execution);
    const count = Math.min(entities.length, objects.length);
    if (fetch.outputRewrites) {
      for (let j = 0; j < count; j++) {
        const entity = entities[j];
        if (entity !== null && typeof entity === 'object') applyRewrites(entity as JsonObject, fetch.outputRewrites, input.conditions);
      }
    }
    for (let i = 0; i < slots.length; i++) {
      const j = indexOf[i]!;
      if (j < 0 || j >= count) continue;
      const entity = entities[j];
      // An object met at several paths is merged again: a no-op, its keys are the entity's already.
      if (entity !== null && typeof entity === 'object') mergeEntity(slots[i]!.object, entity as JsonObject, input.conditions);
    }
  }
  if (!answer.errors) return;
  for (const received of answer.errors) {
    const error = fromSubgraph(received, fetch.serviceName);
    const path = error.path;
    if (path?.[0] === '_entities' && typeof path[1] === 'number' && path[1] >= 0 && path[1] < objects.length) {
      for (const owner of owners(path[1])) execution.errors.push({ ...error, path: pathOf(slots[owner], path.slice(2)) });
    } else {
      // Not about one entity: at every object the fetch was for, as a whole.
      execution.errors.push(withoutSubgraphPath(error));
    }
  }
}

/**
 * One representation per distinct entity among the slots (the same product under every review
 * of it is sent once). Where a type's `requires` selects only leaves (`__typename upc`, the
 * usual keys), an object's representation is looked up by its values, and built (object and
 * JSON) only the first time: the objects of the tree are not copied. Otherwise (nested keys,
 * `inputRewrites`) it is selected, rewritten, and deduplicated by its JSON.
 */
function representationsOf(fetch: FetchNode, slots: Slot[], conditions: TypeConditions): Representations {
  const found: Representations = { objects: [], serialized: [], indexOf: new Int32Array(slots.length) };
  const byJson = new Map<string, number>();
  // Per type: its leaves' values, one Map level per leaf, down to the representation's index.
  const byValues = new Map<string, Map<unknown, unknown>>();
  const add = (representation: JsonObject, json: string): number => {
    found.objects.push(representation);
    found.serialized.push(json);
    return found.objects.length - 1;
  };
  for (let i = 0; i < slots.length; i++) {
    const object = slots[i]!.object;
    const typename = object.__typename;
    const leaves = typeof typename === 'string' && !fetch.inputRewrites ? leafKeysOf(fetch, typename, conditions) : undefined;
    if (!leaves) {
      const representation = select(object, fetch.requires!, conditions);
      if (typeof representation.__typename !== 'string') {
        found.indexOf[i] = -1;
        continue;
      }
      if (fetch.inputRewrites) applyRewrites(representation, fetch.inputRewrites, conditions);
      const json = JSON.stringify(representation);
      let index = byJson.get(json);
      if (index === undefined) byJson.set(json, (index = add(representation, json)));
      found.indexOf[i] = index;
      continue;
    }
    if (!leaves.withTypename) {
      found.indexOf[i] = -1;
      continue;
    }
    let level: Map<unknown, unknown> | undefined = byValues.get(typename as string);
    if (!level) byValues.set(typename as string, (level = new Map()));
    let index: number | undefined;
    for (let k = 0; k < leaves.keys.length; k++) {
      const value = object[leaves.keys[k]!];
      if (value !== null && typeof value === 'object') {
        // A key that is a JSON scalar's object: its JSON says which entity it is.
        level = undefined;
        break;
      }
      if (k === leaves.keys.length - 1) {
        index = level.get(value) as number | undefined;
        break;
      }
      let below = level.get(value) as Map<unknown, unknown> | undefined;
      if (!below) level.set(value, (below = new Map()));
      level = below;
    }
    if (index !== undefined) {
      found.indexOf[i] = index;
      continue;
    }
    const representation: JsonObject = {};
    let json = '{';
    for (let k = 0; k < leaves.keys.length; k++) {
      const key = leaves.keys[k]!;
      const value = object[key];
      if (value === undefined) continue;
      representation[key] = value;
      json += `${json.length > 1 ? ',' : ''}${leaves.prefixes[k]}${JSON.stringify(value)}`;
    }
    json += '}';
    if (level) {
      index = add(representation, json);
      level.set(object[leaves.keys[leaves.keys.length - 1]!], index);
    } else {
      index = byJson.get(json);
      if (index === undefined) byJson.set(json, (index = add(representation, json)));
    }
    found.indexOf[i] = index;
  }
  return found;
}

/** The response keys a fetch's `requires` selects of an object of one type, when all are leaves, in the order selected. */
interface LeafKeys {
  keys: string[];
  /** Each key's `"key":`. */
  prefixes: string[];
  /** Whether `__typename` is among them: without it, no object of the type is an entity of this fetch. */
  withTypename: boolean;
}

const leafKeysByFetch = new WeakMap<FetchNode, Map<string, LeafKeys | null>>();
function leafKeysOf(fetch: FetchNode, typename: string, conditions: TypeConditions): LeafKeys | undefined {
  let byType = leafKeysByFetch.get(fetch);
  if (!byType) leafKeysByFetch.set(fetch, (byType = new Map()));
  let leaves = byType.get(typename);
  if (leaves === undefined) {
    const keys: string[] = [];
    const collect = (selections: readonly QueryPlanSelectionNode[]): boolean => {
      for (const selection of selections) {
        if (selection.kind === 'InlineFragment') {
          if (selection.typeCondition && !conditions.satisfies(typename, selection.typeCondition)) continue;
          if (!collect(selection.selections)) return false;
          continue;
        }
        if (selection.selections) return false;
        const key = selection.alias ?? selection.name;
        if (!keys.includes(key)) keys.push(key);
      }
      return true;
    };
    leaves = collect(fetch.requires!)
      ? { keys, prefixes: keys.map((key) => `${JSON.stringify(key)}:`), withTypename: keys.includes('__typename') }
      : null;
    byType.set(typename, leaves);
  }
  return leaves ?? undefined;
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
  /** The slots a representation (by its index) answers for. */
  owners: (index: number) => number[],
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
      for (const slot of slots) placeErrors(failures, undefined, execution, (path) => pathOf(slot, path));
      return undefined;
    }
    for (const failure of failures) {
      const [, index, ...rest] = failure.path ?? [];
      for (const owner of typeof index === 'number' ? owners(index) : [])
        execution.errors.push({ ...failure, path: pathOf(slots[owner], rest) });
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
function select(object: JsonObject, selections: readonly QueryPlanSelectionNode[], conditions: TypeConditions): JsonObject {
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
      current = current && parentOf(current);
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
