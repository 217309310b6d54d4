import {
  execute,
  isAbstractType,
  isEnumType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLFormattedError,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import type { JsonObject } from './execute-plan.js';

/** A field of a selection once fragments are expanded for one object type: all its nodes under one response key. */
interface CollectedField {
  key: string;
  name: string;
  nodes: FieldNode[];
  definition: GraphQLField<unknown, unknown> | undefined;
  /** The field's sub-selections, one array for the field's lifetime (what child lookups are memoized by). */
  selectionSets: SelectionSetNode[];
}

/** Stands for a null where the type says non-null: the parent becomes null in turn. */
const INVALID = Symbol('invalid null');
type Completed = unknown | typeof INVALID;

/** A response path built only when an error needs it. */
interface PathLink {
  prev: PathLink | undefined;
  key: string | number;
}
function pathOf(link: PathLink | undefined): (string | number)[] {
  const path: (string | number)[] = [];
  for (let at = link; at; at = at.prev) path.push(at.key);
  return path.reverse();
}

interface ShapeInput {
  schema: GraphQLSchema;
  document: DocumentNode;
  operation: OperationDefinitionNode;
  /** Coerced, defaults applied: what `@skip`/`@include` and introspection arguments read. */
  variables: JsonObject;
  /** What the plan's fetches wrote, by the response keys the subgraph operations used. */
  data: JsonObject;
  /** The plan's errors; the errors shaping finds are added. */
  errors: GraphQLFormattedError[];
}

/**
 * The client's response from the tree the fetches built, in one pass over the operation, as
 * graphql-js execution would give it: only the fields asked for (never a key, a required
 * field or an `@inaccessible` value fetched on the way), in the operation's order, under
 * their aliases, with `__typename`, fragments on abstract types and `@skip`/`@include`
 * resolved; enum values the schema does not have become errors; a null where the type says
 * non-null nulls the nearest nullable parent, with an error at its path unless the plan
 * already put one there or under it.
 */
export function shapeResponse(input: ShapeInput): JsonObject | null {
  return new Shaper(input).root();
}

class Shaper {
  private readonly fragments: Record<string, FragmentDefinitionNode> = {};
  private readonly collected = new Map<readonly SelectionSetNode[], Map<string, CollectedField[]>>();
  /** Paths of the plan's errors, as strings, with every prefix: "is there an error at or under here". */
  private readonly errorPrefixes = new Set<string>();

  constructor(private readonly input: ShapeInput) {
    for (const definition of input.document.definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) this.fragments[definition.name.value] = definition;
    }
    for (const error of input.errors) {
      const path = error.path ?? [];
      for (let i = 0; i <= path.length; i++) this.errorPrefixes.add(path.slice(0, i).join('\u0000'));
    }
  }

  root(): JsonObject | null {
    const { schema, operation } = this.input;
    const type = schema.getRootType(operation.operation)!;
    const shaped = this.object(type, [operation.selectionSet], this.input.data, undefined, true);
    return shaped === INVALID ? null : (shaped as JsonObject);
  }

  private object(
    type: GraphQLObjectType,
    selectionSets: readonly SelectionSetNode[],
    source: JsonObject,
    path: PathLink | undefined,
    root = false,
  ): Completed {
    const result: JsonObject = {};
    for (const field of this.fieldsOf(type, selectionSets)) {
      if (field.name === '__typename') {
        result[field.key] = type.name;
        continue;
      }
      if (root && (field.name === '__schema' || field.name === '__type')) {
        result[field.key] = this.introspection(field);
        continue;
      }
      const definition = field.definition;
      if (!definition) continue;
      const value = this.value(definition.type, field, source[field.key], path, field.key, type.name);
      if (value === INVALID) return INVALID;
      result[field.key] = value;
    }
    return result;
  }

  /**
   * `parent` and `key` say where the value is; the link itself is made only for what needs it
   * (lists, objects, errors), not for every leaf.
   */
  private value(
    type: GraphQLOutputType,
    field: CollectedField,
    value: unknown,
    parent: PathLink | undefined,
    key: string | number,
    parentType: string,
  ): Completed {
    if (isNonNullType(type)) {
      const completed = this.value(type.ofType, field, value, parent, key, parentType);
      if (completed === null) {
        this.nonNullViolation({ prev: parent, key }, `${parentType}.${field.name}`);
        return INVALID;
      }
      return completed;
    }
    if (value === null || value === undefined) return null;
    if (isListType(type)) {
      if (!Array.isArray(value)) return this.invalid({ prev: parent, key }, `Expected a list for field "${parentType}.${field.name}".`);
      const here: PathLink = { prev: parent, key };
      const items: unknown[] = new Array(value.length);
      for (let i = 0; i < value.length; i++) {
        const item = this.value(type.ofType, field, value[i], here, i, parentType);
        // A non-null item that is null nulls the list (its error is at the item).
        if (item === INVALID) return null;
        items[i] = item;
      }
      return items;
    }
    if (isLeafType(type)) {
      if (isEnumType(type) && (typeof value !== 'string' || !type.getValue(value)))
        return this.invalid({ prev: parent, key }, `Enum "${type.name}" cannot represent value: ${JSON.stringify(value)}`);
      return value;
    }
    if (typeof value !== 'object' || Array.isArray(value))
      return this.invalid({ prev: parent, key }, `Expected an object for field "${parentType}.${field.name}".`);
    const object = value as JsonObject;
    let runtime: GraphQLObjectType | undefined;
    if (isAbstractType(type)) {
      const candidate = typeof object.__typename === 'string' ? this.input.schema.getType(object.__typename) : undefined;
      if (!isObjectType(candidate) || !this.input.schema.isSubType(type, candidate)) return null;
      runtime = candidate;
    } else {
      runtime = type as GraphQLObjectType;
    }
    const shaped = this.object(runtime, field.selectionSets, object, { prev: parent, key });
    return shaped === INVALID ? null : shaped;
  }

  private invalid(path: PathLink, message: string): null {
    this.input.errors.push({ message, path: pathOf(path) });
    return null;
  }

  private nonNullViolation(path: PathLink, coordinate: string): void {
    const at = pathOf(path);
    if (this.errorPrefixes.has(at.join('\u0000'))) return;
    this.input.errors.push({ message: `Cannot return null for non-nullable field ${coordinate}.`, path: at });
    for (let i = 0; i <= at.length; i++) this.errorPrefixes.add(at.slice(0, i).join('\u0000'));
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

  /** The fields of these selection sets for an object of `type`, fragments expanded, memoized for the request. */
  private fieldsOf(type: GraphQLObjectType, selectionSets: readonly SelectionSetNode[]): CollectedField[] {
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
            byKey.set(key, (field = { key, name, nodes: [], definition: definitions[name], selectionSets: [] }));
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

  private applies(condition: string | undefined, type: GraphQLObjectType): boolean {
    if (!condition || condition === type.name) return true;
    const conditionType = this.input.schema.getType(condition);
    return Boolean(conditionType && isAbstractType(conditionType) && this.input.schema.isSubType(conditionType, type));
  }

  private included(directives: FieldNode['directives']): boolean {
    for (const directive of directives ?? []) {
      const name = directive.name.value;
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
