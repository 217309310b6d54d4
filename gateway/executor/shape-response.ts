import {
  execute,
  isAbstractType,
  isEnumType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLAbstractType,
  type GraphQLInterfaceType,
  type GraphQLLeafType,
  type GraphQLFormattedError,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
  visit,
} from 'graphql';
import type { JsonObject } from './execute-plan.js';

/** A field of a selection once fragments are expanded for one object type: all its nodes under one response key. */
interface CollectedField {
  key: string;
  name: string;
  nodes: FieldNode[];
  /** How its values are completed (undefined: the type has no such field). */
  shape: Shape | undefined;
  /** The field's sub-selections, one array for the field's lifetime (what child lookups are memoized by). */
  selectionSets: SelectionSetNode[];
}

/** A field's output type as the shaper walks it, read off the schema's type once per type. */
type Shape =
  | { kind: 'nonNull'; of: Shape }
  | { kind: 'list'; of: Shape }
  | { kind: 'leaf'; valid(value: unknown): boolean }
  | { kind: 'object'; type: GraphQLObjectType }
  | { kind: 'abstract'; type: GraphQLAbstractType };

const shapes = new WeakMap<GraphQLOutputType, Shape>();
function shapeOf(type: GraphQLOutputType): Shape {
  let shape = shapes.get(type);
  if (shape) return shape;
  if (isNonNullType(type)) shape = { kind: 'nonNull', of: shapeOf(type.ofType) };
  else if (isListType(type)) shape = { kind: 'list', of: shapeOf(type.ofType) };
  else if (isLeafType(type)) shape = { kind: 'leaf', valid: leafCheck(type) };
  else if (isAbstractType(type)) shape = { kind: 'abstract', type };
  else shape = { kind: 'object', type: type as GraphQLObjectType };
  shapes.set(type, shape);
  return shape;
}

/** Stands for a null where the type says non-null: the parent becomes null in turn. */
const INVALID = Symbol('invalid null');
type Completed = unknown | typeof INVALID;

/**
 * Whether a subgraph's leaf value is one of its type's: the built-in scalars by their JSON
 * kind, enums by the API schema's values (an `@inaccessible` one is not), other scalars as
 * they come. One that is not becomes null, with no error (as @apollo/gateway answers).
 */
function leafCheck(type: GraphQLLeafType): (value: unknown) => boolean {
  if (isEnumType(type)) return (value) => typeof value === 'string' && type.getValue(value) !== undefined;
  switch (type.name) {
    case 'String':
      return (value) => typeof value === 'string';
    case 'Int':
      return Number.isInteger;
    case 'Float':
      return (value) => typeof value === 'number' && Number.isFinite(value);
    case 'Boolean':
      return (value) => typeof value === 'boolean';
    case 'ID':
      return (value) => typeof value === 'string' || Number.isInteger(value);
    default:
      return () => true;
  }
}

interface ShapeInput {
  schema: GraphQLSchema;
  document: DocumentNode;
  operation: OperationDefinitionNode;
  /** Coerced, defaults applied: what `@skip`/`@include` and introspection arguments read. */
  variables: JsonObject;
  /** What the plan's fetches wrote, by the response keys the subgraph operations used. */
  data: JsonObject;
  /** The plan's errors; introspection's are added. */
  errors: GraphQLFormattedError[];
  /** Leave out the fragments `@defer` defers (`if` not false): the first part of an incremental response. */
  withoutDeferred?: boolean;
  /** A `__typename` key the gateway added to the document (see deferredDocument): left out. */
  hiddenTypename?: string;
}

/**
 * The client's response from the tree the fetches built, in one pass over the operation, as
 * graphql-js execution would give it: only the fields asked for (never a key, a required
 * field or an `@inaccessible` value fetched on the way), in the order GraphQL specifies,
 * under their aliases, with `__typename`, fragments on abstract types and `@skip`/`@include`
 * resolved. A null where the type says non-null nulls the nearest nullable parent. What
 * the subgraphs got wrong (a leaf not of its type, an object of a type the API schema does
 * not have) is null too. Neither adds an error: the subgraph's own errors, at their paths,
 * say why, as with @apollo/gateway.
 */
export function shapeResponse(input: ShapeInput): JsonObject | null {
  return new Shaper(input).root();
}

/**
 * One object of the response shaped for a selection set of its own (a deferred fragment's), as
 * `shapeResponse` shapes the whole: `data` is that object of the fetched tree, `type` its type
 * (an abstract one is shaped as the object type its `__typename` names). Null when a non-null
 * field of the selection is null.
 */
export function shapeSelection(
  input: ShapeInput & { type: GraphQLObjectType | GraphQLInterfaceType | GraphQLAbstractType; selectionSet: SelectionSetNode },
): JsonObject | null {
  return new Shaper(input).at(input.type, input.selectionSet);
}

/** The fields collected for each selection sets and type: what `fieldsOf` memoizes. */
type Collected = Map<readonly SelectionSetNode[], Map<string, CollectedField[]>>;

/**
 * What a document's fields are, collected for one schema, shared by every request of the
 * document (Apollo's document store gives each the same nodes) that its directives read
 * alike: by `@skip`/`@include`/`@defer` variables' values, `withoutDeferred` and
 * `hiddenTypename`. At most MAX_VARIANTS such variants a document and schema.
 */
const collectedByDocument = new WeakMap<DocumentNode, WeakMap<GraphQLSchema, Map<string, Collected>>>();
const MAX_VARIANTS = 64;

/** The variables a document's directives read (`if:`), in the order first met. */
const directiveVariables = new WeakMap<DocumentNode, string[]>();
function directiveVariablesOf(document: DocumentNode): string[] {
  let names = directiveVariables.get(document);
  if (!names) {
    const found = new Set<string>();
    visit(document, {
      Directive(directive) {
        for (const argument of directive.arguments ?? []) if (argument.value.kind === Kind.VARIABLE) found.add(argument.value.name.value);
      },
    });
    directiveVariables.set(document, (names = [...found]));
  }
  return names;
}

function collectedFor({ document, schema, variables, withoutDeferred, hiddenTypename }: ShapeInput): Collected {
  let bySchema = collectedByDocument.get(document);
  if (!bySchema) collectedByDocument.set(document, (bySchema = new WeakMap()));
  let variants = bySchema.get(schema);
  if (!variants) bySchema.set(schema, (variants = new Map()));
  const reads = directiveVariablesOf(document)
    .map((name) => (variables[name] === true ? '1' : '0'))
    .join('');
  const variant = `${withoutDeferred ? 'd' : ''}|${hiddenTypename ?? ''}|${reads}`;
  let collected = variants.get(variant);
  if (!collected) {
    collected = new Map();
    if (variants.size < MAX_VARIANTS) variants.set(variant, collected);
  }
  return collected;
}

/** A selection set as the one-element list the memo is keyed by, the same list each time. */
const singleSets = new WeakMap<SelectionSetNode, readonly SelectionSetNode[]>();
function setsOf(selectionSet: SelectionSetNode): readonly SelectionSetNode[] {
  let sets = singleSets.get(selectionSet);
  if (!sets) singleSets.set(selectionSet, (sets = [selectionSet]));
  return sets;
}

class Shaper {
  private readonly fragments: Record<string, FragmentDefinitionNode> = {};
  private readonly collected: Collected;

  constructor(private readonly input: ShapeInput) {
    for (const definition of input.document.definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) this.fragments[definition.name.value] = definition;
    }
    this.collected = collectedFor(input);
  }

  root(): JsonObject | null {
    const { schema, operation } = this.input;
    const type = schema.getRootType(operation.operation)!;
    const shaped = this.object(type, setsOf(operation.selectionSet), this.input.data, true);
    return shaped === INVALID ? null : (shaped as JsonObject);
  }

  at(type: GraphQLObjectType | GraphQLInterfaceType | GraphQLAbstractType, selectionSet: SelectionSetNode): JsonObject | null {
    const runtime = isAbstractType(type) ? this.runtimeType(type, this.input.data.__typename) : type;
    if (!runtime) return null;
    const shaped = this.object(runtime, setsOf(selectionSet), this.input.data);
    return shaped === INVALID ? null : (shaped as JsonObject);
  }

  private object(
    type: GraphQLObjectType | GraphQLInterfaceType,
    selectionSets: readonly SelectionSetNode[],
    source: JsonObject,
    root = false,
  ): Completed {
    const result: JsonObject = {};
    const fields = this.fieldsOf(type, selectionSets);
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i]!;
      if (field.name === '__typename') {
        if (field.key !== this.input.hiddenTypename) result[field.key] = type.name;
        continue;
      }
      if (root && (field.name === '__schema' || field.name === '__type')) {
        result[field.key] = this.introspection(field);
        continue;
      }
      if (!field.shape) continue;
      const value = this.value(field.shape, field, source[field.key]);
      if (value === INVALID) return INVALID;
      result[field.key] = value;
    }
    return result;
  }

  private value(shape: Shape, field: CollectedField, value: unknown): Completed {
    switch (shape.kind) {
      case 'nonNull': {
        const completed = this.value(shape.of, field, value);
        return completed === null ? INVALID : completed;
      }
      case 'list': {
        if (value === null || value === undefined || !Array.isArray(value)) return null;
        const items: unknown[] = new Array(value.length);
        for (let i = 0; i < value.length; i++) {
          const item = this.value(shape.of, field, value[i]);
          // A non-null item that is null nulls the list.
          if (item === INVALID) return null;
          items[i] = item;
        }
        return items;
      }
      case 'leaf':
        return value === null || value === undefined || !shape.valid(value) ? null : value;
      default: {
        if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
        const object = value as JsonObject;
        const runtime = shape.kind === 'abstract' ? this.runtimeType(shape.type, object.__typename) : shape.type;
        if (!runtime) return null;
        const shaped = this.object(runtime, field.selectionSets, object);
        return shaped === INVALID ? null : shaped;
      }
    }
  }

  /**
   * The type an object of an abstract field is shaped as: the object type its `__typename`
   * names. An interface named there (what an `@interfaceObject` subgraph answers when no
   * fetch needed the concrete type), or none at all, shapes it as the interface: its fields
   * and the fragments on it. A type the API schema lacks, or not of this field: null.
   */
  private runtimeType(type: GraphQLAbstractType, typename: unknown): GraphQLObjectType | GraphQLInterfaceType | undefined {
    const { schema } = this.input;
    if (typename === undefined) return isInterfaceType(type) ? type : undefined;
    const named = typeof typename === 'string' ? schema.getType(typename) : undefined;
    if (isObjectType(named)) return schema.isSubType(type, named) ? named : undefined;
    if (isInterfaceType(named)) return named === type || schema.isSubType(type, named) ? named : undefined;
    return undefined;
  }

  /** `__schema` and `__type` are the gateway's own: graphql-js answers them from the API schema. */
  private introspection(field: CollectedField): unknown {
    const { schema, document, operation, variables } = this.input;
    const only: DocumentNode = {
      kind: Kind.DOCUMENT,
      definitions: [
        { ...operation, selectionSet: { kind: Kind.SELECTION_SET, selections: field.nodes } },
        ...document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION),
      ],
    };
    const result = execute({ schema, document: only, variableValues: variables }) as {
      data?: JsonObject | null;
      errors?: readonly GraphQLFormattedError[];
    };
    for (const error of result.errors ?? [])
      this.input.errors.push({ message: error.message, ...(error.path && { path: [...error.path] }) });
    return result.data?.[field.key] ?? null;
  }

  /** The fields of these selection sets for an object of `type`, fragments expanded, memoized for the document (`collectedFor`). */
  private fieldsOf(type: GraphQLObjectType | GraphQLInterfaceType, selectionSets: readonly SelectionSetNode[]): CollectedField[] {
    let byType = this.collected.get(selectionSets);
    if (!byType) this.collected.set(selectionSets, (byType = new Map()));
    let fields = byType.get(type.name);
    if (fields) return fields;
    const byKey = new Map<string, CollectedField>();
    const definitions = type.getFields();
    const visited = new Set<string>();
    const collect = (selectionSet: SelectionSetNode) => {
      for (const selection of selectionSet.selections) {
        if (!this.included(selection.directives)) continue;
        if (selection.kind === Kind.FIELD) {
          const key = selection.alias?.value ?? selection.name.value;
          let field = byKey.get(key);
          if (!field) {
            const name = selection.name.value;
            const definition = definitions[name];
            byKey.set(key, (field = { key, name, nodes: [], shape: definition && shapeOf(definition.type), selectionSets: [] }));
          }
          field.nodes.push(selection);
          if (selection.selectionSet) field.selectionSets.push(selection.selectionSet);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          if (this.applies(selection.typeCondition?.name.value, type)) collect(selection.selectionSet);
        } else {
          const name = selection.name.value;
          if (visited.has(name)) continue;
          visited.add(name);
          const fragment = this.fragments[name];
          if (fragment && this.applies(fragment.typeCondition.name.value, type)) collect(fragment.selectionSet);
        }
      }
    };
    for (const selectionSet of selectionSets) collect(selectionSet);
    fields = [...byKey.values()];
    byType.set(type.name, fields);
    return fields;
  }

  private applies(condition: string | undefined, type: GraphQLObjectType | GraphQLInterfaceType): boolean {
    if (!condition || condition === type.name) return true;
    const conditionType = this.input.schema.getType(condition);
    return Boolean(conditionType && isAbstractType(conditionType) && this.input.schema.isSubType(conditionType, type));
  }

  private included(directives: FieldNode['directives']): boolean {
    for (const directive of directives ?? []) {
      const name = directive.name.value;
      if (name === 'defer' && this.input.withoutDeferred) {
        const argument = directive.arguments?.find((a) => a.name.value === 'if');
        if (!argument || this.boolean(argument.value)) return false;
        continue;
      }
      if (name !== 'skip' && name !== 'include') continue;
      const argument = directive.arguments?.find((a) => a.name.value === 'if');
      const value = argument ? this.boolean(argument.value) : false;
      if (name === 'skip' ? value : !value) return false;
    }
    return true;
  }

  private boolean(value: ValueNode): boolean {
    if (value.kind === Kind.BOOLEAN) return value.value;
    if (value.kind === Kind.VARIABLE) return this.input.variables[value.name.value] === true;
    return false;
  }
}
