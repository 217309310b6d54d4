import { describe, expect, it } from '@jest/globals';
import {
  buildSchema,
  execute,
  getNullableType,
  isAbstractType,
  isEnumType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  parse,
  TypeInfo,
  validate,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type GraphQLFormattedError,
  type GraphQLOutputType,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { getVariableValues } from 'graphql/execution/values.js';
import { mulberry32, operationGenerator, type Random } from '../../test/support/operation-generator.js';
import type { JsonObject } from './execute-plan.js';
import { shapeResponse } from './shape-response.js';

const schema = buildSchema(`
  interface Node { id: ID! }
  interface Named { name: String }
  enum Mood { HAPPY SAD GRUMPY }
  type Person implements Node & Named {
    id: ID!
    name: String
    nickname: String!
    age: Int
    height: Float
    mood: Mood
    moods: [Mood!]
    tags: [String!]!
    grid: [[Int]]
    strictGrid: [[Int!]!]
    friends: [Person!]!
    bestFriend: Person
    pets: [Pet]
    secret: String
  }
  type Dog implements Node & Named { id: ID! name: String barks: Boolean! temper: Mood! owner: Person }
  type Cat implements Node & Named { id: ID! name: String lives: Int owner: Person! }
  union Pet = Dog | Cat
  union SearchResult = Person | Dog | Cat
  type Query {
    me: Person
    requiredMe: Person!
    node(id: ID!): Node
    nodes(ids: [ID!]): [Node]!
    named: [Named!]
    search(text: String): [SearchResult!]!
    pet: Pet
    petGrid: [[Pet]]
    mood: Mood
    count: Int!
  }
  type Mutation { rename(name: String!): Person }
`);

function operationOf(document: DocumentNode): OperationDefinitionNode {
  return document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
}

function coerced(operation: OperationDefinitionNode, variables: JsonObject): JsonObject {
  const result = getVariableValues(schema, operation.variableDefinitions ?? [], variables);
  if (result.errors) throw new Error(result.errors.map(String).join('; '));
  return result.coerced;
}

/** shapeResponse over `data` as the engine calls it: the errors it adds, and its data as JSON text. */
function shaped(query: string, data: JsonObject, variables: JsonObject = {}) {
  const document = parse(query);
  const operation = operationOf(document);
  const errors: GraphQLFormattedError[] = [];
  const result = shapeResponse({ schema, document, operation, variables: coerced(operation, variables), data, errors });
  return { text: JSON.stringify(result), data: result, errors };
}

/**
 * What graphql-js makes of the same tree: each field read by its response key, an abstract
 * type's object typed by its `__typename`. Its data as JSON text (its key order is the spec's).
 */
function executedByGraphQL(query: string, data: JsonObject, variables: JsonObject = {}): string {
  const result = execute({
    schema,
    document: parse(query),
    rootValue: data,
    variableValues: variables,
    fieldResolver: (source: JsonObject, _args, _context, info) => source[info.path.key],
    typeResolver: (value: JsonObject) => value.__typename as string | undefined,
  }) as { data?: unknown };
  return JSON.stringify(result.data);
}

/** The document with `__typename` in every selection set of an abstract type, as the planner asks subgraphs. */
function withTypenames(document: DocumentNode): DocumentNode {
  const typeInfo = new TypeInfo(schema);
  return visit(
    document,
    visitWithTypeInfo(typeInfo, {
      SelectionSet(node: SelectionSetNode) {
        const parent = typeInfo.getParentType();
        if (!parent || !isAbstractType(parent)) return undefined;
        return { ...node, selections: [...node.selections, { kind: Kind.FIELD, name: { kind: Kind.NAME, value: '__typename' } }] };
      },
    }),
  );
}

/** A value of a type, made up: null at times where it may be. Objects are filled in by the execution. */
function madeUp(type: GraphQLOutputType, random: Random): unknown {
  if (!isNonNullType(type) && random() < 0.15) return null;
  const nullable = getNullableType(type);
  if (isListType(nullable)) return Array.from({ length: Math.floor(random() * 4) }, () => madeUp(nullable.ofType, random));
  if (isEnumType(nullable)) {
    const values = nullable.getValues();
    return values[Math.floor(random() * values.length)]!.value;
  }
  if (isAbstractType(nullable)) {
    const possible = schema.getPossibleTypes(nullable);
    return { __typename: possible[Math.floor(random() * possible.length)]!.name };
  }
  if (isObjectType(nullable)) return {};
  switch (nullable.name) {
    case 'Int':
      return Math.floor(random() * 100) - 50;
    case 'Float':
      return Math.floor(random() * 100) + 0.25;
    case 'Boolean':
      return random() < 0.5;
    default:
      return `${nullable.name.toLowerCase()}-${Math.floor(random() * 1000)}`;
  }
}

/**
 * What the plan's fetches would have written for an operation: the subgraphs' answers to it
 * (run by graphql-js over made-up values, `__typename` asked on abstract types), then spoiled
 * at random as subgraphs and the executor do: nulls where the type says non-null, keys the
 * client did not ask for (keys, required fields), a `__typename` the API schema lacks.
 */
function fetchedTree(query: string, variables: JsonObject, seed: number): JsonObject {
  const random = mulberry32(seed);
  const answered = execute({
    schema,
    document: withTypenames(parse(query)),
    rootValue: {},
    variableValues: variables,
    fieldResolver: (source: JsonObject, _args, _context, info) =>
      info.fieldName in source ? source[info.fieldName] : madeUp(info.returnType, random),
    typeResolver: (value: JsonObject) => value.__typename as string,
  }) as { data?: unknown; errors?: readonly unknown[] };
  if (answered.errors) throw new Error(`made-up answer failed: ${answered.errors.map(String).join('; ')}`);
  const tree = JSON.parse(JSON.stringify(answered.data)) as JsonObject;
  const spoil = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(spoil);
    if (value === null || typeof value !== 'object') return;
    const object = value as JsonObject;
    for (const key of Object.keys(object)) {
      if (key === '__typename') {
        if (random() < 0.03) object.__typename = 'Ghost';
        continue;
      }
      if (random() < 0.04) object[key] = null;
      else spoil(object[key]);
    }
    if (random() < 0.2) object.secret = 'not asked for';
    if (random() < 0.2) object.id = 'key-field';
    if (random() < 0.1) object.__typename ??= 'Person';
  };
  spoil(tree);
  return tree;
}

interface Case {
  name: string;
  query: string;
  /** Variable sets to run it with; `{}` alone by default. */
  variables?: JsonObject[];
}

const cases: Case[] = [
  { name: 'root __typename and plain fields', query: '{ __typename count mood me { __typename id name age height mood } }' },
  {
    name: 'aliases of the same field, with and without arguments',
    query: `{ a: me { n1: name n2: name name } b: me { age } me { id } first: node(id: "1") { id } second: node(id: "2") { __typename id } }`,
  },
  {
    name: 'the same field twice under one key, sub-selections merged in first-seen order',
    query: '{ me { name bestFriend { age } } me { id bestFriend { name age } } }',
  },
  {
    name: 'repeated inline fragments on the same type',
    query: `{ me { ... on Person { name } age ... on Person { id name nickname } ... { height } ... on Person { ... on Person { mood } } } }`,
  },
  {
    name: 'named fragments spread twice, nested, and on the root',
    query: `query { ...Root me { ...P friends { ...P ...P } } me { ...P } }
      fragment P on Person { id name ...Q }
      fragment Q on Person { age tags }
      fragment Root on Query { count me { nickname } }`,
  },
  {
    name: 'fragments on interfaces',
    query: `{ node(id: "1") { __typename ... on Named { name } ... on Person { age } ...N } nodes(ids: ["1", "2"]) { ... on Dog { barks } ...N ... on Named { name } } }
      fragment N on Node { id }`,
  },
  {
    name: 'fragments on unions, the abstract type itself and its members',
    query: `{ search(text: "x") { __typename ... on Person { name friends { id } } ... on Dog { name barks temper owner { name } } ... on Cat { lives catOwner: owner { id } }
      ... on SearchResult { __typename } ...PetBits } pet { ...PetBits } }
      fragment PetBits on Pet { ... on Dog { barks } ... on Node { id } ... on Named { name } }`,
  },
  {
    name: 'an interface field answered by every implementation',
    query: '{ named { __typename name ... on Cat { lives } ... on Person { nickname } } }',
  },
  {
    name: 'lists of lists',
    query: `{ me { grid strictGrid moods tags } petGrid { __typename ... on Dog { barks } ... on Cat { lives } } }`,
  },
  {
    name: 'non-null fields deep in lists',
    query: '{ requiredMe { nickname friends { nickname tags friends { id nickname } } } search { ... on Dog { temper barks } } }',
  },
  {
    name: '@skip and @include with literals',
    query: `{ me { name @skip(if: true) age @skip(if: false) id @include(if: false) nickname @include(if: true)
      ... on Person @skip(if: true) { height } ... @include(if: true) { mood } ...F @include(if: false) ...F } }
      fragment F on Person { tags @skip(if: false) @include(if: true) grid @skip(if: true) @include(if: true) }`,
  },
  {
    name: '@skip and @include with variables and their defaults',
    query: `query Q($skipName: Boolean!, $withAge: Boolean = true, $withPets: Boolean = false) {
      me { name @skip(if: $skipName) age @include(if: $withAge) ...Pets @include(if: $withPets) ... @skip(if: $skipName) { nickname } }
      pet @include(if: $withPets) { __typename } }
      fragment Pets on Person { pets { ... on Dog { barks } } }`,
    variables: [
      { skipName: true },
      { skipName: false },
      { skipName: false, withAge: false, withPets: true },
      { skipName: true, withPets: true },
    ],
  },
  {
    name: 'a fragment skipped once and spread again',
    query: '{ me { ...F @skip(if: true) name ...F } } fragment F on Person { id age }',
  },
  {
    name: '__typename everywhere, aliased',
    query: `{ t: __typename __typename me { __typename kind: __typename pets { __typename ... on Dog { __typename } } } search { __typename } }`,
  },
  {
    name: 'a mutation',
    query: 'mutation { __typename rename(name: "x") { id name } again: rename(name: "y") { name } }',
  },
  {
    name: 'introspection at the root beside data',
    query: `query($t: String!) { me { name } __schema { queryType { name } mutationType { name } types { name kind } }
      person: __type(name: "Person") { name kind fields { name type { kind name ofType { kind name ofType { name } } } } interfaces { name } }
      pet: __type(name: $t) { ...T } nothing: __type(name: "Nope") { name } count }
      fragment T on __Type { name kind possibleTypes { name } }`,
    variables: [{ t: 'Pet' }, { t: 'Mood' }],
  },
  {
    name: 'introspection in a root fragment, under directives',
    query: `query($deep: Boolean = false) { ...Meta __schema @skip(if: $deep) { directives { name } } me { ...Meta2 } }
      fragment Meta on Query { __typename __schema { types @include(if: $deep) { name } queryType { name fields { name } } } }
      fragment Meta2 on Person { __typename name }`,
    variables: [{}, { deep: true }],
  },
];

describe('shapeResponse shapes as graphql-js executes, key order included', () => {
  for (const testCase of cases) {
    it(testCase.name, () => {
      const document = parse(testCase.query);
      expect(validate(schema, document)).toEqual([]);
      for (const variables of testCase.variables ?? [{}]) {
        for (let seed = 1; seed <= 25; seed++) {
          const tree = fetchedTree(testCase.query, variables, seed);
          const { text, errors } = shaped(testCase.query, tree, variables);
          expect({ seed, variables, text }).toEqual({ seed, variables, text: executedByGraphQL(testCase.query, tree, variables) });
          expect(errors).toEqual([]);
        }
      }
    });
  }

  it('for generated operations (aliases, fragments, directives, variables)', () => {
    const generator = operationGenerator(schema, { seed: 15, ids: ['1', '2'], maxDepth: 4 });
    for (let n = 0; n < 150; n++) {
      const { query, variables } = generator.next();
      for (let seed = 1; seed <= 3; seed++) {
        const tree = fetchedTree(query, variables, n * 10 + seed);
        expect({ query, seed, text: shaped(query, tree, variables).text }).toEqual({
          query,
          seed,
          text: executedByGraphQL(query, tree, variables),
        });
      }
    }
  });
});

describe('what the subgraphs got wrong', () => {
  it('a null where the type says non-null nulls the nearest nullable parent, adding no error', () => {
    const friendWithoutNickname = {
      me: {
        name: 'Ada',
        friends: [
          { id: 'p2', nickname: 'B' },
          { id: 'p3', nickname: null },
        ],
      },
    };
    const nullMe = shaped('{ me { name friends { id nickname } } count }', { ...friendWithoutNickname, count: 3 });
    expect(nullMe).toEqual({ text: '{"me":null,"count":3}', data: { me: null, count: 3 }, errors: [] });
    // Through a nullable list of nullable items: only the item goes.
    expect(shaped('{ me { pets { ... on Dog { barks name } } } }', { me: { pets: [{ __typename: 'Dog', barks: null }] } }).data).toEqual({
      me: { pets: [null] },
    });
    // Up to the root when every parent is non-null.
    expect(shaped('{ count requiredMe { nickname } }', { count: 1, requiredMe: { nickname: null } })).toEqual({
      text: 'null',
      data: null,
      errors: [],
    });
    // A missing value is a null.
    expect(shaped('{ me { strictGrid } }', { me: { strictGrid: [[1, 2], [3]] } }).data).toEqual({ me: { strictGrid: [[1, 2], [3]] } });
    expect(shaped('{ me { strictGrid } }', { me: { strictGrid: [[1, null], [3]] } }).data).toEqual({ me: { strictGrid: null } });
  });

  it('a leaf value not of its type is null: a String given a number, an Int given 2.5, an enum value the schema lacks', () => {
    const me = {
      name: 5,
      age: 2.5,
      height: 'tall',
      mood: 'ANGRY',
      moods: ['HAPPY', 'SAD'],
      grid: [[1, 'two', 3.5, null]],
      nickname: 'ok',
      tags: ['a'],
    };
    expect(shaped('{ me { name age height mood moods grid nickname tags } }', { me })).toEqual({
      text: '{"me":{"name":null,"age":null,"height":null,"mood":null,"moods":["HAPPY","SAD"],"grid":[[1,null,null,null]],"nickname":"ok","tags":["a"]}}',
      data: expect.anything(),
      errors: [],
    });
    // Where non-null, the invalid value nulls the parent as a null would.
    expect(shaped('{ me { id nickname } }', { me: { id: 'p1', nickname: 7 } }).data).toEqual({ me: null });
    expect(shaped('{ me { id tags } }', { me: { id: 'p1', tags: ['a', 3] } }).data).toEqual({ me: null });
    expect(shaped('{ me { moods } }', { me: { moods: ['HAPPY', 'MAD'] } }).data).toEqual({ me: { moods: null } });
    expect(shaped('{ count }', { count: '3' }).data).toBeNull();
    // An object where a leaf is, a leaf or a list where an object is.
    expect(
      shaped('{ mood me { name } pet { __typename } }', { mood: { v: 'HAPPY' }, me: 'Ada', pet: [{ __typename: 'Dog' }] }).data,
    ).toEqual({
      mood: null,
      me: null,
      pet: null,
    });
  });

  it('passes an ID given as an integer and an Int beyond 32 bits as they are, as @apollo/gateway does', () => {
    expect(shaped('{ me { id age } }', { me: { id: 7, age: 2 ** 40 } }).text).toBe('{"me":{"id":7,"age":1099511627776}}');
  });

  it('an object whose __typename the API schema lacks, or names a type not of the field, is null', () => {
    const query = '{ pet { __typename ... on Dog { barks } } node(id: "1") { id } search { __typename } }';
    expect(
      shaped(query, {
        pet: { __typename: 'Ghost', barks: true },
        node: { __typename: 'Mood', id: '1' },
        search: [{ __typename: 'Dog' }, { __typename: 'Cat' }],
      }).data,
    ).toEqual({ pet: null, node: null, search: [{ __typename: 'Dog' }, { __typename: 'Cat' }] });
    expect(shaped('{ pet { __typename } }', { pet: { __typename: 'Person' } }).data).toEqual({ pet: null });
    // A union's object without __typename cannot be typed.
    expect(shaped('{ pet { ... on Dog { barks } } }', { pet: { barks: true } }).data).toEqual({ pet: null });
    // In a non-null list of non-null items at the root, it nulls the whole response.
    expect(shaped('{ search { __typename } }', { search: [{ __typename: 'Dog' }, { __typename: 'Ghost' }] }).data).toBeNull();
  });

  it("an interface's object typed by the interface itself (as an @interfaceObject subgraph answers) is shaped as the interface", () => {
    const query = '{ node(id: "1") { __typename id ... on Node { id } ... on Person { name } } nodes { id } }';
    expect(shaped(query, { node: { __typename: 'Node', id: '1', name: 'Ada' }, nodes: [{ id: '2' }] }).text).toBe(
      '{"node":{"__typename":"Node","id":"1"},"nodes":[{"id":"2"}]}',
    );
  });

  it('never lets out keys the client did not ask for: keys, required fields, other aliases, __typename', () => {
    const extra = { __typename: 'Person', id: 'p1', secret: 's', _key: { id: 'p1' }, nickname: 'n' };
    const tree = {
      me: { ...extra, name: 'Ada', friends: [{ ...extra, name: 'Bob' }], pets: [{ __typename: 'Cat', id: 'c1', lives: 9, name: 'Tom' }] },
      pet: { __typename: 'Dog', barks: true, temper: 'SAD', owner: { ...extra } },
      count: 1,
      hidden: 'x',
    };
    expect(shaped('{ me { name friends { name } pets { ... on Cat { lives } } } pet { ... on Dog { owner { name } } } }', tree).text).toBe(
      '{"me":{"name":"Ada","friends":[{"name":"Bob"}],"pets":[{"lives":9}]},"pet":{"owner":{"name":null}}}',
    );
  });

  it('answers __schema and __type at the root from the schema, whatever the tree holds', () => {
    const query = '{ __schema { queryType { name } } t: __type(name: "Dog") { name interfaces { name } } me { name } }';
    const { data, errors } = shaped(query, { __schema: 'fetched', t: null, me: { name: 'Ada' } });
    expect(data).toEqual({
      __schema: { queryType: { name: 'Query' } },
      t: { name: 'Dog', interfaces: [{ name: 'Node' }, { name: 'Named' }] },
      me: { name: 'Ada' },
    });
    expect(errors).toEqual([]);
  });
});
