import { describe, expect, it } from '@jest/globals';
import {
  buildSchema,
  GraphQLError,
  Kind,
  parse,
  print,
  validate,
  visit,
  visitWithTypeInfo,
  TypeInfo,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { mulberry32, operationGenerator, seedFrom, type GeneratedOperation } from './operation-generator.js';

const schema = buildSchema(`
  interface Node { id: ID! }
  type Shelf implements Node { id: ID! name: String! items(first: Int = 3): [Item!]! }
  type Book implements Node { id: ID! title: String! related(first: Int! = 2, kind: Kind): [Item!]! shelf: Shelf }
  type Tool implements Node { id: ID! name: String! weight(unit: Unit = GRAMS): Int shelf: Shelf! }
  union Item = Book | Tool
  enum Unit { GRAMS OUNCES }
  enum Kind { BOOK TOOL }
  input Range { min: Int, max: Int! }
  input Filter { kind: Kind, text: String, range: Range }
  type Query { node(id: ID!): Node, shelves(filter: Filter, first: Int! = 2): [Shelf!]!, item(id: ID!): Item }
`);
const ids = ['s1', 'b1', 't1'];
const generate = (seed: number, count: number): GeneratedOperation[] => {
  const generator = operationGenerator(schema, { seed, ids });
  return Array.from({ length: count }, () => generator.next());
};

/** Deepest field nesting of the operation, fragments expanded (root fields at 1). */
function depthOf(document: DocumentNode): number {
  const fragments = new Map(
    document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
  );
  const depth = (set: SelectionSetNode | undefined, at: number): number =>
    Math.max(
      at - 1,
      ...(set?.selections ?? []).map((s) =>
        s.kind === Kind.FIELD
          ? depth(s.selectionSet, at + 1)
          : depth(s.kind === Kind.INLINE_FRAGMENT ? s.selectionSet : fragments.get(s.name.value)!.selectionSet, at),
      ),
    );
  const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION)!;
  return depth(operation.selectionSet, 1);
}

/** What the brief asks the generator to write, counted over operations. */
function featuresOf(operations: GeneratedOperation[]): Record<string, number> {
  const seen: Record<string, number> = {};
  const count = (feature: string) => (seen[feature] = (seen[feature] ?? 0) + 1);
  for (const { query, variables } of operations) {
    const document = parse(query);
    const spreads = new Map<string, number>();
    visit(document, {
      Field(field) {
        if (field.alias) count('alias');
        if (field.name.value === '__typename') count('__typename');
      },
      SelectionSet(set) {
        const byName = new Map<string, FieldNode[]>();
        for (const s of set.selections) if (s.kind === Kind.FIELD) byName.set(s.name.value, [...(byName.get(s.name.value) ?? []), s]);
        for (const twins of byName.values()) {
          const args = new Set(twins.map((t) => print({ ...t, selectionSet: undefined, alias: undefined, directives: [] })));
          if (args.size > 1) count('same field, other arguments');
        }
      },
      FragmentSpread(spread) {
        spreads.set(spread.name.value, (spreads.get(spread.name.value) ?? 0) + 1);
      },
      InlineFragment(fragment) {
        const on = fragment.typeCondition?.name.value;
        if (on === 'Node' || on === 'Item') count('inline fragment on an abstract type');
        if (on === 'Book' || on === 'Tool' || on === 'Shelf') count('inline fragment on an object type');
        if (!on) count('inline fragment without a type condition');
      },
      Directive(directive) {
        if (directive.arguments?.[0]?.value.kind === Kind.VARIABLE) count(`@${directive.name.value} on a variable`);
      },
      VariableDefinition(definition) {
        const name = definition.variable.name.value;
        if (definition.defaultValue && !(name in variables)) count('variable left to its default');
        if (definition.defaultValue && name in variables) count('variable given over its default');
        if (!definition.defaultValue && !(name in variables)) count('variable left out, no default');
      },
    });
    if ([...spreads.values()].some((n) => n > 1)) count('fragment spread more than once');
    if (depthOf(document) === 6) count('depth 6');
  }
  return seen;
}

describe('the operation generator', () => {
  it('makes the same operations from the same seed, and others from another', () => {
    expect(generate(7, 20)).toEqual(generate(7, 20));
    expect(generate(8, 20)).not.toEqual(generate(7, 20));
    expect(mulberry32(1)()).toBe(mulberry32(1)());
  });

  it('makes valid query operations, 6 levels deep at most, with every feature the differential test needs', () => {
    const operations = generate(20_26, 500);
    for (const { query } of operations) {
      const document = parse(query);
      expect(validate(schema, document)).toEqual([]);
      expect(document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION).map((d) => d.operation)).toEqual(['query']);
      expect(depthOf(document)).toBeLessThanOrEqual(6);
    }
    const features = featuresOf(operations);
    const wanted = [
      'alias',
      '__typename',
      'same field, other arguments',
      'fragment spread more than once',
      'inline fragment on an abstract type',
      'inline fragment on an object type',
      'inline fragment without a type condition',
      '@skip on a variable',
      '@include on a variable',
      'variable left to its default',
      'variable given over its default',
      'variable left out, no default',
      'depth 6',
    ];
    expect(wanted.filter((feature) => (features[feature] ?? 0) < 5)).toEqual([]);
  });

  it('gives arguments the values it is told for their coordinate, and IDs from its list', () => {
    const generator = operationGenerator(schema, {
      seed: 3,
      ids,
      valuesAt: (coordinate) => (coordinate === 'Query.shelves(first:)' ? [4] : coordinate === 'Range.max' ? [99] : undefined),
    });
    const text = Array.from({ length: 300 }, () => {
      const { query, variables } = generator.next();
      return `${query} ${JSON.stringify(variables)}`;
    }).join('\n');
    expect(text).not.toMatch(/shelves\(first: (?!4\b)\d/);
    expect(text).toMatch(/shelves\([^)]*first: 4/);
    expect(text).toMatch(/max: 99/);
    expect(text).not.toMatch(/id: "(?!s1|b1|t1)[^"]*"/);
  });

  it('never picks a field weighing 0', () => {
    const generator = operationGenerator(schema, {
      seed: 5,
      ids,
      fieldWeight: (coordinate) => ({ 'Query.node': 0, 'Query.item': 0, 'Book.shelf': 0 })[coordinate],
    });
    const selected = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const typeInfo = new TypeInfo(schema);
      visit(
        parse(generator.next().query),
        visitWithTypeInfo(typeInfo, {
          Field(field) {
            selected.add(`${typeInfo.getParentType()!.name}.${field.name.value}`);
          },
        }),
      );
    }
    expect(selected).toContain('Query.shelves');
    expect(selected).toContain('Tool.shelf');
    expect([...selected].filter((coordinate) => ['Query.node', 'Query.item', 'Book.shelf'].includes(coordinate))).toEqual([]);
  });

  it('takes its seed from a variable when set, and refuses one that is not a 32-bit integer', () => {
    expect(seedFrom('42')).toBe(42);
    expect(seedFrom(undefined)).toEqual(expect.any(Number));
    expect(() => seedFrom('forty-two')).toThrow(/seed/);
    expect(() => seedFrom(String(2 ** 32))).toThrow(/seed/);
  });

  it('refuses to go on when it cannot make a valid operation, instead of looping', () => {
    const refusing = operationGenerator(schema, {
      seed: 1,
      ids,
      rules: [(context) => ({ Document: () => context.reportError(new GraphQLError('refused')) })],
    });
    expect(() => refusing.next()).toThrow(/in a row were invalid/);
  });
});
