import {
  astFromValue,
  getNamedType,
  isAbstractType,
  isCompositeType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isUnionType,
  parse,
  print,
  specifiedRules,
  validate,
  GraphQLBoolean,
  GraphQLFloat,
  GraphQLID,
  GraphQLInt,
  GraphQLString,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLInterfaceType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';

/** A function giving numbers in [0, 1), like Math.random, but replayable from its seed. */
export type Random = () => number;

/** mulberry32: a small, fast 32-bit PRNG, good enough to pick shapes of operations. */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The seed `value` names (an environment variable, to replay a failure), or a fresh one. */
export function seedFrom(value: string | undefined): number {
  if (value === undefined || value === '') return Math.floor(Math.random() * 2 ** 32);
  const seed = Number(value);
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new Error(`a seed is an integer in [0, 2^32), not ${value}`);
  return seed;
}

export interface GeneratedOperation {
  /** The document, one query operation and the fragments it spreads. */
  query: string;
  /** The variables given; those left out take their default (or none). */
  variables: Record<string, unknown>;
}

export interface OperationGeneratorOptions {
  seed: number;
  /** Deepest field nesting, root fields at depth 1. */
  maxDepth?: number;
  /** Root fields an operation selects at most (before fragments are expanded). */
  maxRootFields?: number;
  /** Aliases written in an operation at most. */
  maxAliases?: number;
  /**
   * Values an argument or an input field may take, by schema coordinate (`Query.product(id:)`,
   * `ProductFilter.categoryId`); for a list, values of its items. Undefined: values of its type
   * (`ids` for an ID).
   */
  valuesAt?: (coordinate: string) => readonly unknown[] | undefined;
  /**
   * How often a field is picked beside its siblings, by schema coordinate (`Query.users`); 0
   * never. Undefined: by its type (abstract 4, other composite 2.5, leaf 1), so that operations
   * go deep and reach abstract types.
   */
  fieldWeight?: (coordinate: string) => number | undefined;
  /** What an ID argument takes where `valuesAt` says nothing. */
  ids: readonly string[];
  /** Rules each operation must pass besides graphql-js's (the gateway's limits, say). */
  rules?: readonly ValidationRule[];
}

export interface OperationGenerator {
  next(): GeneratedOperation;
  /** Operations made so far that failed validation and were made again. */
  readonly discarded: number;
}

/** Candidates in a row failing validation before the generator gives up: a sign it is broken, not unlucky. */
const MAX_ATTEMPTS = 200;

/**
 * Random valid query operations over `schema`, the same sequence for the same seed: selections
 * with aliases (the same field twice with different arguments among them), named fragments
 * spread more than once, inline fragments (on abstract types, their possible types and the
 * abstract type itself), `__typename`, `@skip`/`@include` on literals and on Boolean variables
 * (given or left to their defaults), and arguments as literals or as variables (with defaults,
 * given or not). Each is validated against `schema`; an invalid one is made again.
 */
export function operationGenerator(schema: GraphQLSchema, options: OperationGeneratorOptions): OperationGenerator {
  const random = mulberry32(options.seed);
  const rules = [...specifiedRules, ...(options.rules ?? [])];
  let discarded = 0;
  return {
    next() {
      let problems: readonly unknown[] = [];
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const operation = new OperationBuilder(schema, random, options).build();
        problems = validate(schema, parse(operation.query), rules);
        if (!problems.length) return operation;
        discarded++;
      }
      throw new Error(`${MAX_ATTEMPTS} operations in a row were invalid; the last: ${problems.map(String).join('; ')}`);
    },
    get discarded() {
      return discarded;
    },
  };
}

/** The value of an argument the generator could not make (a custom scalar's, say). */
const NO_VALUE = Symbol('no value');
type Value = unknown;

interface Fragment {
  name: string;
  text: string;
  on: string;
  /** Levels its fields nest below the depth it is spread at. */
  reach: number;
}

type FieldsType = GraphQLObjectType | GraphQLInterfaceType;

/** One operation being written: its variables, fragments and counts. */
class OperationBuilder {
  private readonly maxDepth: number;
  private readonly maxAliases: number;
  private readonly variableDefinitions: string[] = [];
  private readonly variables: Record<string, unknown> = {};
  private readonly booleanVariables: string[] = [];
  private readonly fragments: Fragment[] = [];
  private names = 0;
  private aliases = 0;
  /** Fields left to write. */
  private budget: number;
  /** Deepest field depth written since it was last reset (see `fragment`). */
  private deepest = 0;

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly random: Random,
    private readonly options: OperationGeneratorOptions,
  ) {
    this.maxDepth = options.maxDepth ?? 6;
    this.maxAliases = options.maxAliases ?? 30;
    this.budget = this.int(4, 28);
  }

  build(): GeneratedOperation {
    const selection = this.selectionSet(this.schema.getQueryType()!, 1);
    const definitions = this.variableDefinitions.length ? `(${this.variableDefinitions.join(', ')})` : '';
    const name = this.chance(0.5) ? ` Generated${this.int(1, 9999)}` : '';
    const head = definitions || name || this.chance(0.5) ? `query${name}${definitions}` : '';
    const query = [`${head}${selection}`, ...this.fragments.map((f) => f.text)].join('\n');
    return { query, variables: this.variables };
  }

  private chance(p: number): boolean {
    return this.random() < p;
  }

  /** An integer in [lo, hi]. */
  private int(lo: number, hi: number): number {
    return lo + Math.floor(this.random() * (hi - lo + 1));
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  private weighted<T>(items: readonly T[], weight: (item: T) => number): T {
    const total = items.reduce((sum, item) => sum + weight(item), 0);
    let at = this.random() * total;
    for (const item of items) {
      at -= weight(item);
      if (at < 0) return item;
    }
    return items[items.length - 1]!;
  }

  private freshName(prefix: string): string {
    return `${prefix}${this.names++}`;
  }

  /** The selection set of `type` whose fields sit at `depth`. */
  private selectionSet(type: GraphQLCompositeType, depth: number): string {
    const wanted = depth === 1 ? this.int(1, this.options.maxRootFields ?? 4) : this.int(1, depth <= 2 ? 4 : 3);
    const keys = new Set<string>();
    const selections: string[] = [];
    const fragmentShare = isAbstractType(type) ? 0.45 : 0.12;
    for (let i = 0; i < wanted && (this.budget > 0 || !selections.length); i++) {
      const roll = this.random();
      if (roll < fragmentShare) selections.push(this.inlineFragment(type, depth));
      else if (roll < fragmentShare + 0.1) selections.push(this.fragmentSpread(type, depth));
      else if (roll < fragmentShare + 0.2 || isUnionType(type)) selections.push(this.typename(keys));
      else selections.push(...this.field(type, depth, keys));
    }
    if (!selections.length) selections.push(this.typename(keys));
    this.deepest = Math.max(this.deepest, depth);
    return ` { ${selections.join(' ')} }`;
  }

  private typename(keys: Set<string>): string {
    if (!keys.has('__typename') && (this.aliases >= this.maxAliases || this.chance(0.8))) {
      keys.add('__typename');
      return '__typename';
    }
    const alias = this.alias(keys);
    return alias ? `${alias}: __typename` : '';
  }

  /** A fresh alias, or none when the operation has as many as it may. */
  private alias(keys: Set<string>): string | undefined {
    if (this.aliases >= this.maxAliases) return undefined;
    this.aliases++;
    const alias = this.freshName('a');
    keys.add(alias);
    return alias;
  }

  private field(type: FieldsType, depth: number, keys: Set<string>): string[] {
    const weightOf = (f: GraphQLField<unknown, unknown>) => {
      const named = getNamedType(f.type);
      return this.options.fieldWeight?.(`${type.name}.${f.name}`) ?? (isAbstractType(named) ? 4 : isCompositeType(named) ? 2.5 : 1);
    };
    const fields = Object.values(type.getFields()).filter(
      (f) => (depth < this.maxDepth || isLeafType(getNamedType(f.type))) && weightOf(f) > 0,
    );
    if (!fields.length) return [this.typename(keys)];
    const field = this.weighted(fields, weightOf);
    const written = [this.fieldSelection(type, field, depth, keys, keys.has(field.name) || this.chance(0.15))];
    // The same field again under another alias, with arguments of its own.
    if (field.args.length && this.chance(0.25)) written.push(this.fieldSelection(type, field, depth, keys, true));
    return written.filter((text) => text !== '');
  }

  private fieldSelection(
    type: FieldsType,
    field: GraphQLField<unknown, unknown>,
    depth: number,
    keys: Set<string>,
    aliased: boolean,
  ): string {
    const args = this.argumentsOf(type, field);
    if (args === NO_VALUE) return '';
    let key = field.name;
    if (aliased) {
      const alias = this.alias(keys);
      if (!alias) return '';
      key = `${alias}: ${field.name}`;
    } else keys.add(field.name);
    this.budget--;
    const named = getNamedType(field.type);
    const selection = isCompositeType(named) ? this.selectionSet(named, depth + 1) : '';
    return `${key}${args}${this.directives()}${selection}`;
  }

  /** What a fragment on `type` may name as its type condition. */
  private conditionsOn(type: GraphQLCompositeType): GraphQLCompositeType[] {
    const unionsOf = (object: GraphQLObjectType) =>
      Object.values(this.schema.getTypeMap()).filter((t) => isUnionType(t) && t.getTypes().includes(object)) as GraphQLCompositeType[];
    if (isObjectType(type)) return [type, ...type.getInterfaces(), ...unionsOf(type)];
    if (isInterfaceType(type)) return [type, ...this.schema.getPossibleTypes(type), ...type.getInterfaces()];
    return [type, ...this.schema.getPossibleTypes(type)];
  }

  private inlineFragment(type: GraphQLCompositeType, depth: number): string {
    const on = this.chance(0.15) ? undefined : this.pick(this.conditionsOn(type));
    return `...${on ? ` on ${on.name}` : ''}${this.directives()}${this.selectionSet(on ?? type, depth)}`;
  }

  /** A spread of a fragment already written, when one fits here, or of a new one. */
  private fragmentSpread(type: GraphQLCompositeType, depth: number): string {
    const conditions = new Set(this.conditionsOn(type).map((t) => t.name));
    const fitting = this.fragments.filter((f) => conditions.has(f.on) && depth + f.reach <= this.maxDepth);
    if (fitting.length && this.chance(0.6)) {
      const fragment = this.pick(fitting);
      this.deepest = Math.max(this.deepest, depth + fragment.reach);
      return `...${fragment.name}${this.directives()}`;
    }
    const on = this.pick(this.conditionsOn(type));
    const name = this.freshName('F');
    const outer = this.deepest;
    this.deepest = depth;
    const body = this.selectionSet(on, depth);
    // Added once written: a fragment being written cannot spread itself.
    this.fragments.push({ name, on: on.name, text: `fragment ${name} on ${on.name}${body}`, reach: this.deepest - depth });
    this.deepest = Math.max(outer, this.deepest);
    return `...${name}${this.directives()}`;
  }

  private directives(): string {
    if (!this.chance(0.12)) return '';
    const condition = this.chance(0.25) ? String(this.chance(0.5)) : this.booleanVariable();
    return ` @${this.chance(0.5) ? 'include' : 'skip'}(if: ${condition})`;
  }

  /** A Boolean variable for `if:`: one used already, or a new one, given or left to its default. */
  private booleanVariable(): string {
    if (this.booleanVariables.length && this.chance(0.4)) return `$${this.pick(this.booleanVariables)}`;
    const name = this.freshName('b');
    this.booleanVariables.push(name);
    const value = this.chance(0.5);
    const fallback = this.chance(0.5);
    switch (this.int(0, 3)) {
      case 0:
        this.variableDefinitions.push(`$${name}: Boolean!`);
        this.variables[name] = value;
        break;
      case 1:
        this.variableDefinitions.push(`$${name}: Boolean = ${fallback}`);
        break;
      case 2:
        this.variableDefinitions.push(`$${name}: Boolean = ${fallback}`);
        this.variables[name] = value;
        break;
      default:
        this.variableDefinitions.push(`$${name}: Boolean! = ${fallback}`);
    }
    return `$${name}`;
  }

  /** `(a: 1, b: $v2)`, '' without arguments, or NO_VALUE when a required one cannot be made. */
  private argumentsOf(type: FieldsType, field: GraphQLField<unknown, unknown>): string | typeof NO_VALUE {
    const written: string[] = [];
    for (const arg of field.args) {
      const required = isNonNullType(arg.type) && arg.defaultValue === undefined;
      if (!required && this.chance(0.5)) continue;
      const coordinate = `${type.name}.${field.name}(${arg.name}:)`;
      const value = this.value(arg.type, coordinate);
      if (value === NO_VALUE) {
        if (required) return NO_VALUE;
        continue;
      }
      written.push(
        `${arg.name}: ${this.chance(0.35) ? this.variableFor(arg.type, value, coordinate, arg.defaultValue !== undefined) : literal(value, arg.type)}`,
      );
    }
    return written.length ? `(${written.join(', ')})` : '';
  }

  /**
   * A variable standing for `value` at an argument of `type`: given with no default; left to a
   * default of `value`; given over another default; or, where the argument may go without
   * (nullable, or with a default of its own), declared nullable and left out.
   */
  private variableFor(type: GraphQLInputType, value: Value, coordinate: string, argumentHasDefault: boolean): string {
    const name = this.freshName('v');
    const nullable = isNonNullType(type) ? type.ofType : type;
    const mayGoWithout = !isNonNullType(type) || argumentHasDefault;
    const mode = this.int(0, mayGoWithout ? 3 : 2);
    // A variable with a default may be nullable where the argument is not (the spec allows it).
    const withDefault = (fallback: Value) => `$${name}: ${this.chance(0.5) ? String(nullable) : String(type)} = ${literal(fallback, type)}`;
    if (mode === 0) {
      this.variableDefinitions.push(`$${name}: ${String(type)}`);
      this.variables[name] = value;
    } else if (mode === 1) {
      this.variableDefinitions.push(withDefault(value));
    } else if (mode === 2) {
      const fallback = this.value(type, coordinate);
      this.variableDefinitions.push(fallback === NO_VALUE ? `$${name}: ${String(type)}` : withDefault(fallback));
      this.variables[name] = value;
    } else {
      this.variableDefinitions.push(`$${name}: ${String(nullable)}`);
    }
    return `$${name}`;
  }

  /** A value of `type` (JSON as a variable would carry it; now and then null where null may go), or NO_VALUE. */
  private value(type: GraphQLInputType, coordinate: string, nesting = 0): Value | typeof NO_VALUE {
    return isNonNullType(type) || !this.chance(0.05) ? this.nonNullValue(type, coordinate, nesting) : null;
  }

  private nonNullValue(type: GraphQLInputType, coordinate: string, nesting: number): Value | typeof NO_VALUE {
    if (isNonNullType(type)) return this.nonNullValue(type.ofType, coordinate, nesting);
    if (isListType(type)) {
      const items = Array.from({ length: this.int(0, 2) }, () => this.value(type.ofType, coordinate, nesting + 1));
      return items.includes(NO_VALUE) ? NO_VALUE : items;
    }
    const given = this.options.valuesAt?.(coordinate);
    if (given?.length) return this.pick(given);
    if (isInputObjectType(type)) {
      if (nesting > 3) return NO_VALUE;
      const object: Record<string, unknown> = {};
      for (const field of Object.values(type.getFields())) {
        const required = isNonNullType(field.type) && field.defaultValue === undefined;
        if (!required && !this.chance(0.4)) continue;
        const value = this.value(field.type, `${type.name}.${field.name}`, nesting + 1);
        if (value === NO_VALUE) {
          if (required) return NO_VALUE;
          continue;
        }
        object[field.name] = value;
      }
      return object;
    }
    if (isEnumType(type)) return this.pick(type.getValues()).name;
    return this.scalarValue(type);
  }

  private scalarValue(type: GraphQLNamedType): Value | typeof NO_VALUE {
    switch (type.name) {
      case GraphQLInt.name:
        return this.pick([0, 1, 2, 3, 5, 10]);
      case GraphQLFloat.name:
        return this.pick([0, 0.5, 2.5]);
      case GraphQLString.name:
        return this.pick(['', 'a', 'the']);
      case GraphQLBoolean.name:
        return this.chance(0.5);
      case GraphQLID.name:
        return this.pick(this.options.ids);
      default:
        return NO_VALUE;
    }
  }
}

/** `value` as a GraphQL literal of `type`. */
function literal(value: Value, type: GraphQLInputType): string {
  const ast = astFromValue(value, type);
  if (!ast) throw new Error(`no literal of ${String(type)} for ${JSON.stringify(value)}`);
  return print(ast);
}
