import { describe, expect, it } from '@jest/globals';
import { buildSchema, getVariableValues, parse, validate, type OperationDefinitionNode } from 'graphql';
import { SATURATED, VisitBudget, fragmentsOf, shapeAnalyzer } from './operation-walk.js';
import { analyzeOperation, costDirectives } from './cost-limit.js';
import { operationLimitsRule } from './operation-limits.js';
import { fanOut } from '../../test/support/hostile-documents.js';

const operationOf = (document: ReturnType<typeof parse>) =>
  document.definitions.find((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition')!;

describe('shape of a document', () => {
  it('counts fragment fan-out with multiplicity, walking each fragment once', () => {
    const document = parse(fanOut(23));
    // 2^22 root fields, in a few hundred steps: walking every spread would exhaust the budget.
    const shape = shapeAnalyzer(document, new VisitBudget(300))(operationOf(document));
    expect(shape).toEqual({
      depth: 1,
      aliases: 0,
      rootFields: 2 ** 22,
      directives: 0,
      introspectionFields: 0,
      introspectionDepth: 0,
      introspectionLists: 0,
    });
  });

  it('saturates instead of overflowing', () => {
    const document = parse(fanOut(200, 'Query', 'a: __typename'));
    const shape = shapeAnalyzer(document)(operationOf(document));
    expect(shape.rootFields).toBe(SATURATED);
    expect(shape.aliases).toBe(SATURATED);
  });

  it('measures depth, aliases and directives through fragments and inline fragments', () => {
    const document = parse(`{ a { ...B } } fragment B on A { b: c @include(if: true) @skip(if: false) { ... on C { d { e } } } }`);
    expect(shapeAnalyzer(document)(operationOf(document))).toEqual({
      depth: 4,
      aliases: 1,
      rootFields: 1,
      directives: 2,
      introspectionFields: 0,
      introspectionDepth: 0,
      introspectionLists: 0,
    });
  });

  it('survives fragment cycles (graphql reports them)', () => {
    const document = parse(`{ ...A } fragment A on Query { x ...B } fragment B on Query { y ...A }`);
    expect(shapeAnalyzer(document)(operationOf(document)).rootFields).toBe(2);
  });

  it('stops at its visit budget with DOCUMENT_TOO_COMPLEX', () => {
    const document = parse(fanOut(10));
    expect(() => shapeAnalyzer(document, new VisitBudget(5))(operationOf(document))).toThrow(
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'DOCUMENT_TOO_COMPLEX' }) }),
    );
  });

  it('is a validation rule keeping its code and numbers', () => {
    const schema = buildSchema(`type Query { a: Int }`);
    const errors = validate(schema, parse(fanOut(23)), [
      operationLimitsRule({ maxDepth: 5, maxAliases: 5, maxRootFields: 15, maxDirectivesPerField: 4 }),
    ]);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.extensions).toMatchObject({ code: 'MAX_ROOT_FIELDS_EXCEEDED', actual: 2 ** 22, limit: 15 });
  });
});

describe('cost of an operation', () => {
  const sdl = `
    directive @listSize(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!]) on FIELD_DEFINITION
    directive @cost(weight: Int!) on FIELD_DEFINITION | OBJECT
    type Query {
      items(first: Int! = 10): [Item!]! @listSize(slicingArguments: ["first"])
      search(first: Int! = 10): [Result!]! @listSize(slicingArguments: ["first"])
      node: Node
    }
    type Mutation { login: Boolean }
    type Item { id: ID! parent: Item tags(first: Int = 2): [Tag!]! @listSize(slicingArguments: ["first"]) }
    type Tag { name: String }
    union Result = Cheap | Dear
    interface Node { id: ID! }
    type Cheap implements Node { id: ID! one: Tag }
    type Dear implements Node { id: ID! many(first: Int! = 5): [Tag!]! @listSize(slicingArguments: ["first"]) }
  `;
  const schema = buildSchema(sdl);
  const costs = costDirectives(sdl);
  const analyze = (query: string, variables: Record<string, unknown> = {}, maxPageSize = 100, budget?: VisitBudget) => {
    const document = parse(query);
    expect(validate(schema, document)).toEqual([]);
    const operation = operationOf(document);
    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables);
    if (coerced.errors) throw coerced.errors[0];
    return analyzeOperation({
      schema,
      costs,
      operation,
      fragments: fragmentsOf(document),
      variables: coerced.coerced,
      defaultListSize: 10,
      maxPageSize,
      budget,
    });
  };

  it('takes slicing sizes from literals, variables, variable defaults and argument defaults alike', () => {
    const literal = analyze(`{ items(first: 7) { tags(first: 3) { name } } }`).cost;
    expect(literal).toBe(7 * (1 + 3));
    expect(analyze(`query($n: Int!, $m: Int) { items(first: $n) { tags(first: $m) { name } } }`, { n: 7, m: 3 }).cost).toBe(literal);
    expect(analyze(`query($n: Int! = 7, $m: Int = 3) { items(first: $n) { tags(first: $m) { name } } }`).cost).toBe(literal);
    // Schema defaults: items 10, tags 2.
    expect(analyze(`{ items { tags { name } } }`).cost).toBe(10 * (1 + 2));
  });

  it('counts a field selected twice (merged by GraphQL) once, through fragments too', () => {
    const once = analyze(`{ items(first: 5) { id tags { name } } }`).cost;
    expect(analyze(`{ items(first: 5) { id tags { name } } items(first: 5) { tags { name } } }`).cost).toBe(once);
    expect(
      analyze(`{ ...A ...A ...B } fragment A on Query { items(first: 5) { id } } fragment B on Query { items(first: 5) { tags { name } } }`)
        .cost,
    ).toBe(once);
    // Aliases are separate response keys: both run.
    expect(analyze(`{ a: items(first: 5) { tags { name } } b: items(first: 5) { tags { name } } }`).cost).toBe(2 * once);
  });

  it('costs an abstract field at its dearest possible type, not the sum', () => {
    const dear = 1 + 5 * 1; // Dear + five tags
    expect(analyze(`{ search(first: 2) { ... on Cheap { one { name } } ... on Dear { many { name } } } }`).cost).toBe(2 * dear);
    expect(analyze(`{ node { ... on Cheap { one { name } } ... on Dear { many(first: 1) { name } } } }`).cost).toBe(1 + 1);
  });

  it('applies @skip and @include with the variables', () => {
    expect(analyze(`query($no: Boolean!) { items(first: 5) @skip(if: $no) { id } }`, { no: true }).cost).toBe(0);
    expect(analyze(`query($no: Boolean!) { items(first: 5) @skip(if: $no) { id } }`, { no: false }).cost).toBe(5);
  });

  it('walks fragment fan-out once', () => {
    const { cost, rootFields } = analyze(
      fanOut(40, 'Item', 'tags { name }', '{ items(first: 3) { ...F0 } }'),
      {},
      100,
      new VisitBudget(400),
    );
    expect(cost).toBe(3 * (1 + 2));
    expect(rootFields).toEqual(new Map([['Query.items', 1]]));
  });

  it('reuses what it costed for the same selections: aliased fan-out is walked once, costed in full', () => {
    const levels = 40;
    const fragments = Array.from(
      { length: levels - 1 },
      (_, i) => `fragment F${i} on Item { a: parent { ...F${i + 1} } b: parent { ...F${i + 1} } }`,
    );
    // A budget of a few steps per level: walking each spread would take 2^40.
    const { cost } = analyze(
      [`{ items(first: 1) { ...F0 } }`, ...fragments, `fragment F${levels - 1} on Item { id }`].join('\n'),
      {},
      100,
      new VisitBudget(levels * 10),
    );
    // Each level: two parents, each 1 plus the level below.
    expect(cost).toBe(1 + (2 ** levels - 2));
  });

  it('stops at its visit budget with DOCUMENT_TOO_COMPLEX', () => {
    expect(() => analyze(`{ items { id tags { name } } }`, {}, 100, new VisitBudget(3))).toThrow(
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'DOCUMENT_TOO_COMPLEX' }) }),
    );
  });

  it('counts the runs of each root field after aliases and fragments', () => {
    const { rootFields } = analyze(`mutation { a: login b: login ...L } fragment L on Mutation { login }`);
    expect(rootFields).toEqual(new Map([['Mutation.login', 3]]));
  });

  it('refuses a slicing argument over the page size or negative, naming its path', () => {
    const refusal = (query: string, variables?: Record<string, unknown>) => {
      try {
        analyze(query, variables);
      } catch (error) {
        return (error as { extensions: Record<string, unknown> }).extensions;
      }
      throw new Error('not refused');
    };
    expect(refusal(`{ items(first: 101) { id } }`)).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'items.first' }] });
    expect(refusal(`query($n: Int!) { items(first: $n) { id } }`, { n: 101 })).toMatchObject({ fields: [{ field: 'items.first' }] });
    expect(refusal(`query($n: Int = -1) { x: items { tags(first: $n) { name } } }`)).toMatchObject({ fields: [{ field: 'x.tags.first' }] });
    expect(analyze(`{ items(first: 100) { id } }`).cost).toBe(100);
  });
});
