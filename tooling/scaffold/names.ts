import { Kind, parse } from 'graphql';
import { auditLogQueryName } from '../../shared/subgraph/audit.js';
import { envPrefix } from '../../shared/config/config.js';
import type { SubgraphDefinition } from '../../shared/subgraph/definition.js';
import { subgraphSdl } from '../../shared/subgraph/schema.js';

/** A refusal or a problem that stops the scaffold before it writes anything. */
export class ScaffoldError extends Error {
  /** 2: the request is refused (bad or taken name); 1: the repository is not in the expected shape. */
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
  ) {
    super(message);
    this.name = 'ScaffoldError';
  }
}

/** Every name the generated code uses, derived once from the subgraph's name and its entity's. */
export interface SubgraphNames {
  /** `wishlists`, `order-history`: the folder, the database suffix, the docker-compose service. */
  name: string;
  /** `wishlists`, `orderHistory`: the definition's export in `subgraphs/index.ts`. */
  variable: string;
  /** `Wishlists`, `OrderHistory`: prefix of the loaders and context types. */
  pascal: string;
  /** `WISHLISTS`: prefix of its environment variables. */
  envPrefix: string;
  /** Default port. */
  port: number;
  /** `Wishlist`: the entity class and GraphQL type. */
  entity: string;
  /** `wishlist`: the query by id, the loader prefix. */
  entityVariable: string;
  /** `wishlists`: the list query. */
  entityPlural: string;
  /** `wishlist`, `gift-list`: entity file names and the seed ids' kind. */
  entityFile: string;
  /** `wishlist`, `gift list`: the entity in prose (descriptions, seed data). */
  entityWords: string;
}

const NAME_PATTERN = /^[a-z][a-z0-9]*(-[a-z][a-z0-9]*)*$/;
const ENTITY_PATTERN = /^[A-Z][A-Za-z0-9]*$/;

/** Names that are folders, services or identifiers of the project already. */
const RESERVED_NAMES = new Set([
  'gateway',
  'shared',
  'subgraphs',
  'subgraph',
  'index',
  'bin',
  'tooling',
  'scripts',
  'scaffold',
  'test',
  'tests',
  'migrations',
  'dist',
  'data',
  'bench',
  'postgres',
  'redis',
  'supergraph',
  'schema',
  'find-subgraph',
  'define-subgraph',
  // docker-compose's one-shot migrations service, and what `npm run migrate -- all` means.
  'migrate',
  'all',
]);

/** The definition's export must be a plain identifier. */
const JS_RESERVED_WORDS = new Set(
  (
    'await break case catch class const continue debugger default delete do else enum export extends false finally for ' +
    'function if implements import in instanceof interface let new null package private protected public return static ' +
    'super switch this throw true try typeof var void while with yield arguments eval undefined'
  ).split(' '),
);

/** Built-in GraphQL scalars, and identifiers the generated files import or declare beside the entity. */
const RESERVED_ENTITY_NAMES = new Set([
  'String',
  'Int',
  'Float',
  'Boolean',
  'ID',
  'Query',
  'Mutation',
  'Subscription',
  'BaseEntity',
  'Entity',
  'Property',
  'Directive',
  'Field',
  'ObjectType',
  'InputType',
  'ArgsType',
  'Arg',
  'Args',
  'Ctx',
  'Resolver',
  'Length',
  'ValidateNested',
  'DataLoader',
  'Connection',
  'ConnectionType',
  'PageArgs',
  'EntityManager',
  'SubgraphContext',
  'Date',
  'Object',
  'Array',
  'Promise',
  'Error',
  'Map',
  'Set',
  'Function',
  'Number',
  'Symbol',
  'Record',
]);

const camel = (kebab: string) => kebab.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const upperFirst = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);
/** `Wishlist` → `wishlist`, `HTTPRoute` → `httpRoute`. */
const lowerFirst = (word: string) => word.replace(/^[A-Z]+(?=[A-Z][a-z]|$)|^[A-Z]/, (head) => head.toLowerCase());
const kebab = (pascal: string) =>
  pascal
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();

/** `wishlists` → `wishlist`, `categories` → `category`, `addresses` → `address`; good enough to start from. */
function singular(word: string): string {
  if (/ies$/.test(word)) return word.replace(/ies$/, 'y');
  if (/(ss|x|z|ch|sh)es$/.test(word)) return word.replace(/es$/, '');
  if (/(ss|us|is)$/.test(word)) return word;
  return word.replace(/s$/, '');
}

/** `wishlist` → `wishlists`, `category` → `categories`, `box` → `boxes`. */
function plural(word: string): string {
  if (/[^aeiou]y$/.test(word)) return word.replace(/y$/, 'ies');
  if (/(s|x|z|ch|sh)$/.test(word)) return `${word}es`;
  return `${word}s`;
}

/** Refuses a name that cannot be a subgraph's; says what a good one looks like. */
export function checkSubgraphName(name: string): void {
  const hint =
    'Use 2 to 30 characters: lower-case letters and digits, words joined by single hyphens, starting with a letter (e.g. wishlists, order-history).';
  if (name.length < 2 || name.length > 30 || !NAME_PATTERN.test(name)) {
    throw new ScaffoldError(`"${name}" is not a valid subgraph name. ${hint}`, 2);
  }
  if (RESERVED_NAMES.has(name) || JS_RESERVED_WORDS.has(camel(name))) {
    throw new ScaffoldError(`"${name}" is reserved: the project already uses it for something else. Choose another name.`, 2);
  }
}

/** Derives every name of a new subgraph; the entity from the subgraph's name unless given. */
export function deriveNames(name: string, port: number, entityOption?: string): SubgraphNames {
  checkSubgraphName(name);
  const words = name.split('-');
  words.push(singular(words.pop()!));
  const entity = entityOption ?? upperFirst(camel(words.join('-')));
  if (!ENTITY_PATTERN.test(entity) || entity.length < 2 || entity.length > 40) {
    throw new ScaffoldError(
      `"${entity}" is not a valid entity name: use 2 to 40 letters and digits in PascalCase, e.g. --entity GiftList.`,
      2,
    );
  }
  const variable = camel(name);
  const pascal = upperFirst(variable);
  const entityVariable = lowerFirst(entity);
  if (
    RESERVED_ENTITY_NAMES.has(entity) ||
    JS_RESERVED_WORDS.has(entityVariable) ||
    [`${pascal}Loaders`, `${pascal}Context`].includes(entity)
  ) {
    throw new ScaffoldError(
      `The entity name "${entity}" is reserved (a GraphQL built-in, a JavaScript keyword once camel-cased, or a name the generated code uses itself). Pick another with --entity <Name>.`,
      2,
    );
  }
  const entityFile = kebab(entity);
  return {
    name,
    variable,
    pascal,
    envPrefix: envPrefix(name),
    port,
    entity,
    entityVariable,
    entityPlural: plural(entityVariable),
    entityFile,
    entityWords: entityFile.replace(/-/g, ' '),
  };
}

/** The GraphQL names the new subgraph adds that no other subgraph may define; a storeless one adds only its status query. */
function plannedSchemaNames(names: SubgraphNames, { store = true }: { store?: boolean } = {}): { types: string[]; rootFields: string[] } {
  if (!store) return { types: [`${names.pascal}Status`], rootFields: [`Query.${names.variable}Status`] };
  const { entity, entityVariable, entityPlural } = names;
  return {
    types: [entity, `${entity}Connection`, `${entity}Edge`, `Create${entity}Input`],
    rootFields: [`Query.${entityVariable}`, `Query.${entityPlural}`, `Query.${auditLogQueryName(names.name)}`, `Mutation.create${entity}`],
  };
}

/** Type names and root fields (`Query.x`) of the registered subgraphs, each with the subgraph defining it. */
async function existingSchemaNames(definitions: SubgraphDefinition[]): Promise<Map<string, string>> {
  const owners = new Map<string, string>();
  for (const definition of definitions) {
    for (const node of parse(await subgraphSdl(definition)).definitions) {
      if (!('name' in node) || !node.name) continue;
      const typename = node.name.value;
      if (!owners.has(typename)) owners.set(typename, definition.name);
      const isRoot = typename === 'Query' || typename === 'Mutation';
      if (isRoot && (node.kind === Kind.OBJECT_TYPE_DEFINITION || node.kind === Kind.OBJECT_TYPE_EXTENSION)) {
        for (const field of node.fields ?? []) owners.set(`${typename}.${field.name.value}`, definition.name);
      }
    }
  }
  return owners;
}

/**
 * Refuses names that would collide in the supergraph with another subgraph's (a type of the
 * same name would be merged with it, a root field would fail composition).
 */
export async function checkSchemaCollisions(
  names: SubgraphNames,
  definitions: SubgraphDefinition[],
  { store = true }: { store?: boolean } = {},
): Promise<void> {
  const owners = await existingSchemaNames(definitions);
  const { types, rootFields } = plannedSchemaNames(names, { store });
  const taken = [...types.map((t) => [`type ${t}`, t]), ...rootFields.map((f) => [f, f])]
    .filter(([, key]) => owners.has(key!))
    .map(([label, key]) => `${label} (${owners.get(key!)})`);
  if (taken.length && !store) {
    throw new ScaffoldError(
      `The GraphQL names of subgraph "${names.name}" are taken in the supergraph: ${taken.join(', ')}. Choose another name.`,
      2,
    );
  }
  if (taken.length) {
    throw new ScaffoldError(
      `The GraphQL names of entity "${names.entity}" are taken in the supergraph: ${taken.join(', ')}. Pick another entity name with --entity <Name>.`,
      2,
    );
  }
}
