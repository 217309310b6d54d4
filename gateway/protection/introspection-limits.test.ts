import { describe, expect, it } from '@jest/globals';
import { buildSchema, getOperationAST, getVariableValues, parse, validate, type GraphQLSchema } from 'graphql';
import { shapeAnalyzer } from './operation-walk.js';
import { INTROSPECTION_MAX_COST, analyzeOperation } from './cost-limit.js';
import { INTROSPECTION_LIMITS, operationLimitsRule } from './operation-limits.js';
import { abusiveIntrospection, introspectionDocuments } from '../../test/support/introspection-documents.js';

// The gateway's defaults (shared/config/config.ts).
const limits = { maxDepth: 12, maxAliases: 30, maxRootFields: 15, maxDirectivesPerField: 4 };
const schema = buildSchema(`type Query { products: [Product!]! } type Product { name: String! }`);

function refusals(query: string, on: GraphQLSchema = schema): string[] {
  const document = parse(query);
  const errors = validate(on, document, [operationLimitsRule(limits)]);
  if (errors.length) return errors.map((error) => String(error.extensions.code));
  try {
    const operation = getOperationAST(document)!;
    const { introspectionCost } = analyzeOperation({
      schema: on,
      costs: new Map(),
      operation,
      fragments: Object.fromEntries(document.definitions.flatMap((d) => (d.kind === 'FragmentDefinition' ? [[d.name.value, d]] : []))),
      variables: getVariableValues(on, operation.variableDefinitions ?? [], {}).coerced ?? {},
      defaultListSize: 10,
      maxPageSize: 100,
    });
    return introspectionCost > INTROSPECTION_MAX_COST ? ['INTROSPECTION_COST_EXCEEDED'] : [];
  } catch (error) {
    return [String((error as { extensions?: { code?: string } }).extensions?.code)];
  }
}

describe('introspection limits', () => {
  it.each(Object.entries(introspectionDocuments))('admit the introspection %s sends', (_, query) => {
    expect(refusals(query)).toEqual([]);
  });

  it.each(Object.entries(abusiveIntrospection))('refuse %s', (_, { query, code }) => {
    expect(refusals(query)).toContain(code);
  });

  it('measure the standard query within its bounds, and count it as one level of general depth', () => {
    const document = parse(introspectionDocuments['graphql-js, every option']!);
    const shape = shapeAnalyzer(document)(getOperationAST(document)!);
    expect(shape).toMatchObject({ depth: 1, introspectionFields: 1, introspectionDepth: 15, introspectionLists: 3 });
    expect(shape.introspectionDepth).toBeLessThanOrEqual(INTROSPECTION_LIMITS.maxIntrospectionDepth);
  });

  it('keep the general limits for what sits beside introspection', () => {
    const deep = `products { ${'name '.repeat(1)}}`;
    expect(refusals(`{ __schema { types { name } } ${deep} }`)).toEqual([]);
    const nested = buildSchema(`type Query { n: N } type N { n: N, x: Int }`);
    expect(refusals(`{ __typename ${'n { '.repeat(13)}x${' }'.repeat(13)} }`, nested)).toEqual(['MAX_DEPTH_EXCEEDED']);
  });
});
