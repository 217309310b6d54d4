import { describe, expect, it } from '@jest/globals';
import { composeServices } from '@apollo/composition';
import { operationFromDocument, Supergraph } from '@apollo/federation-internals';
import { QueryPlanner, type FetchNode, type PlanNode, type QueryPlanSelectionNode } from '@apollo/query-planner';
import { OperationTypeNode, parse, type GraphQLFormattedError } from 'graphql';
import { SubgraphUnavailableError } from '../../shared/errors/errors.js';
import type { SubgraphAnswer, SubgraphCall, SubgraphClient } from '../subgraph-calls/subgraph-client.js';
import { executePlan, mergeInto, type JsonObject } from './execute-plan.js';
import { typeConditionsOf } from './type-conditions.js';

const link = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.8", import: ["@key", "@interfaceObject", "@shareable"])';
const composition = composeServices(
  [
    {
      name: 'products',
      typeDefs: `${link}
        type Query { products: [Product!]! productGrid: [[Product]] shops: [Shop!]! }
        type Shop @key(fields: "id") { id: ID! currency: String products: [Product!]! }
        type Product @key(fields: "upc") { upc: ID! name: String dimensions: Dimensions }
        type Dimensions @shareable { size: String weight: Int }`,
    },
    {
      name: 'reviews',
      typeDefs: `${link}
        type Product @key(fields: "upc") { upc: ID! reviews(first: Int = 5): [Review!]! }
        type Review { body: String author: User }
        type User @key(fields: "id") { id: ID! }`,
    },
    { name: 'users', typeDefs: `${link} type User @key(fields: "id") { id: ID! name: String }` },
    { name: 'inventory', typeDefs: `${link} type Product @key(fields: "upc") { upc: ID! inStock: Boolean price: Int }` },
    {
      name: 'media',
      typeDefs: `${link}
        interface Media @key(fields: "id") { id: ID! }
        type Book implements Media @key(fields: "id") { id: ID! title: String }
        type Film implements Media @key(fields: "id") { id: ID! minutes: Int }
        type Query { media: [Media] }`,
    },
    { name: 'ratings', typeDefs: `${link} type Media @key(fields: "id") @interfaceObject { id: ID! rating: Int }` },
  ].map(({ name, typeDefs }) => ({ name, typeDefs: parse(typeDefs), url: `fake://${name}` })),
);
if (composition.errors) throw new Error(composition.errors.map(String).join('; '));
const supergraph = Supergraph.build(composition.supergraphSdl);
const planner = new QueryPlanner(supergraph);
const conditions = typeConditionsOf(supergraph.schema);

/** The plan @apollo/query-planner makes for an operation over the fixture supergraph. */
function planOf(query: string): PlanNode {
  return planner.buildQueryPlan(operationFromDocument(supergraph.schema, parse(query))).node as PlanNode;
}

type Answerer = (call: SubgraphCall) => SubgraphAnswer | Promise<SubgraphAnswer>;

interface Run {
  data: JsonObject;
  errors: GraphQLFormattedError[];
  /** Every call sent, in order, as sent (copied when made). */
  calls: { subgraph: string; variables: JsonObject; query: string }[];
  /** Which subgraphs' answers reached onAnswer, in order. */
  answered: string[];
}

/** Runs a plan against fake subgraphs answering by `answers`; a subgraph without one is not expected to be called. */
async function run(
  node: PlanNode,
  answers: Record<string, Answerer>,
  { variables = {}, coercedVariables = variables }: { variables?: JsonObject; coercedVariables?: JsonObject } = {},
): Promise<Run> {
  const calls: Run['calls'] = [];
  const answered: string[] = [];
  const clientOf = (subgraph: string): SubgraphClient => ({
    name: subgraph,
    url: `fake://${subgraph}`,
    async call(call) {
      calls.push({ subgraph, query: call.query, variables: structuredClone(call.variables ?? {}) });
      const answer = answers[subgraph];
      if (!answer) throw new Error(`${subgraph} was not to be called`);
      return answer(call);
    },
    close: async () => {},
  });
  const execution = await executePlan(node, {
    variables,
    coercedVariables,
    context: {},
    clientOf,
    conditions,
    onAnswer: (subgraph) => answered.push(subgraph),
  });
  return { data: execution.data, errors: execution.errors, calls, answered };
}

const representationsOf = (call: SubgraphCall) => call.variables!.representations as JsonObject[];
/** An entity fetch's answer: one entity per representation. */
const entities =
  (answer: (representation: JsonObject, i: number) => JsonObject | null, extra: Omit<SubgraphAnswer, 'data'> = {}): Answerer =>
  (call) => ({ data: { _entities: representationsOf(call).map(answer) }, ...extra });

const product = (upc: string, name = `Product ${upc}`) => ({ __typename: 'Product', upc, name });
const productRequires: QueryPlanSelectionNode[] = [
  {
    kind: 'InlineFragment',
    typeCondition: 'Product',
    selections: [
      { kind: 'Field', name: '__typename' },
      { kind: 'Field', name: 'upc' },
    ],
  },
];

/** A hand-written fetch node: an entity fetch when it `requires`, a root one otherwise. */
function fetchNode(serviceName: string, operation: string, more: Partial<FetchNode> = {}): FetchNode {
  return {
    kind: 'Fetch',
    serviceName,
    operation,
    operationName: undefined,
    operationKind: OperationTypeNode.QUERY,
    variableUsages: [],
    ...more,
  };
}

/** A Flatten at `path` over an entity fetch of Products (by `upc`) from `subgraph`. */
function productEntitiesAt(path: string[], subgraph: string, operation: string, more: Partial<FetchNode> = {}): PlanNode {
  return { kind: 'Flatten', path, node: fetchNode(subgraph, operation, { requires: productRequires, ...more }) };
}
const rootFetch = (serviceName: string, data: JsonObject) => ({
  node: fetchNode(serviceName, `{ ${Object.keys(data).join(' ')} }`),
  answer: (() => ({ data: structuredClone(data) })) as Answerer,
});

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('executePlan', () => {
  it("runs a sequence's nodes in order and a parallel's at once, merging every answer into the tree", async () => {
    const events: string[] = [];
    const timed =
      (subgraph: string, answer: Answerer): Answerer =>
      async (call) => {
        events.push(`start ${subgraph}`);
        await tick();
        events.push(`end ${subgraph}`);
        return answer(call);
      };
    const { data, errors, calls, answered } = await run(planOf('{ products { name reviews { body author { name } } inStock } }'), {
      products: timed('products', () => ({ data: { products: [product('p1'), product('p2')] } })),
      inventory: timed(
        'inventory',
        entities((r) => ({ __typename: 'Product', inStock: r.upc === 'p1' })),
      ),
      reviews: timed(
        'reviews',
        entities((r) => ({
          __typename: 'Product',
          reviews: [{ body: `on ${r.upc}`, author: { __typename: 'User', id: `u-${r.upc}` } }],
        })),
      ),
      users: timed(
        'users',
        entities((r) => ({ __typename: 'User', name: `name of ${r.id}` })),
      ),
    });
    expect(errors).toEqual([]);
    const at = (event: string) => events.indexOf(event);
    expect(at('end products')).toBeLessThan(Math.min(at('start inventory'), at('start reviews')));
    // Parallel: each branch began before the other's fetch ended.
    expect(at('start inventory')).toBeLessThan(at('end reviews'));
    expect(at('start reviews')).toBeLessThan(at('end inventory'));
    // The users fetch waits for the reviews it reads authors from.
    expect(at('end reviews')).toBeLessThan(at('start users'));
    expect(calls.map((c) => c.subgraph).sort()).toEqual(['inventory', 'products', 'reviews', 'users']);
    expect(calls.find((c) => c.subgraph === 'users')!.variables).toEqual({
      representations: [
        { __typename: 'User', id: 'u-p1' },
        { __typename: 'User', id: 'u-p2' },
      ],
    });
    expect(answered.sort()).toEqual(['inventory', 'products', 'reviews', 'users']);
    expect(data).toEqual({
      products: [
        { ...product('p1'), inStock: true, reviews: [{ body: 'on p1', author: { __typename: 'User', id: 'u-p1', name: 'name of u-p1' } }] },
        {
          ...product('p2'),
          inStock: false,
          reviews: [{ body: 'on p2', author: { __typename: 'User', id: 'u-p2', name: 'name of u-p2' } }],
        },
      ],
    });
  });

  it('flattens over lists of lists, skipping nulls, one representation per distinct entity, the answer merged into each copy', async () => {
    const grid = [[product('p1'), null, product('p2')], null, [], [product('p3'), product('p1')]];
    const { data, calls } = await run(planOf('{ productGrid { name inStock } }'), {
      products: () => ({ data: { productGrid: structuredClone(grid) } }),
      inventory: entities((r) => ({ __typename: 'Product', inStock: r.upc !== 'p2' })),
    });
    expect(calls[1]!.variables.representations).toEqual([
      { __typename: 'Product', upc: 'p1' },
      { __typename: 'Product', upc: 'p2' },
      { __typename: 'Product', upc: 'p3' },
    ]);
    expect(data).toEqual({
      productGrid: [
        [{ ...product('p1'), inStock: true }, null, { ...product('p2'), inStock: false }],
        null,
        [],
        [
          { ...product('p3'), inStock: true },
          { ...product('p1'), inStock: true },
        ],
      ],
    });
  });

  it('deduplicates equal entities of one list into one representation', async () => {
    const { data, calls } = await run(planOf('{ products { inStock } }'), {
      products: () => ({ data: { products: [product('p1'), product('p2'), product('p1'), product('p1')] } }),
      inventory: entities(() => ({ __typename: 'Product', inStock: true })),
    });
    expect(calls[1]!.variables.representations).toEqual([
      { __typename: 'Product', upc: 'p1' },
      { __typename: 'Product', upc: 'p2' },
    ]);
    expect((data.products as JsonObject[]).map((p) => p.inStock)).toEqual([true, true, true, true]);
  });

  it('skips objects without __typename or not of the type condition, and fetches nothing when none is left', async () => {
    const withOthers = rootFetch('products', {
      products: [{ upc: 'p0' }, { __typename: 'User', upc: 'u1' }, product('p3'), null],
    });
    const entityFetch: PlanNode = productEntitiesAt(
      ['products', '@'],
      'inventory',
      'query($representations:[_Any!]!){_entities(representations:$representations){...on Product{inStock}}}',
    );
    const { data, calls } = await run(
      { kind: 'Sequence', nodes: [withOthers.node, entityFetch] },
      { products: withOthers.answer, inventory: entities(() => ({ __typename: 'Product', inStock: true })) },
    );
    expect(calls[1]!.variables.representations).toEqual([{ __typename: 'Product', upc: 'p3' }]);
    expect(data.products).toEqual([{ upc: 'p0' }, { __typename: 'User', upc: 'u1' }, { ...product('p3'), inStock: true }, null]);

    const noneLeft = rootFetch('products', { products: [{ upc: 'p0' }, { __typename: 'User', upc: 'u1' }] });
    const nothing = await run({ kind: 'Sequence', nodes: [noneLeft.node, entityFetch] }, { products: noneLeft.answer });
    expect(nothing.calls.map((c) => c.subgraph)).toEqual(['products']);
  });

  it("merges an entity's answer into its object in place: nested objects and lists merged, not replaced", async () => {
    const first = rootFetch('products', {
      products: [{ ...product('p1'), dimensions: { size: 'S' }, reviews: [{ body: 'a' }, { body: 'b' }], tags: [['x']] }],
    });
    const second: PlanNode = productEntitiesAt(
      ['products', '@'],
      'reviews',
      'query($representations:[_Any!]!){_entities(representations:$representations){...on Product{reviews{author{id}}}}}',
    );
    const { data } = await run(
      { kind: 'Sequence', nodes: [first.node, second] },
      {
        products: first.answer,
        reviews: entities(() => ({
          __typename: 'Product',
          dimensions: { weight: 3 },
          reviews: [{ author: { id: 'u1' } }, { author: null }, { body: 'c' }],
          tags: [['y', 'z']],
        })),
      },
    );
    expect(data.products).toEqual([
      {
        ...product('p1'),
        dimensions: { size: 'S', weight: 3 },
        reviews: [{ body: 'a', author: { id: 'u1' } }, { body: 'b', author: null }, { body: 'c' }],
        tags: [['y', 'z']],
      },
    ]);

    const target: JsonObject = { a: { b: 1 }, list: [{ c: 1 }] };
    const [nested, item] = [target.a, (target.list as unknown[])[0]];
    mergeInto(target, { a: { d: 2 }, list: [{ e: 2 }], added: { f: 3 } });
    expect(target).toEqual({ a: { b: 1, d: 2 }, list: [{ c: 1, e: 2 }], added: { f: 3 } });
    expect(target.a).toBe(nested);
    expect((target.list as unknown[])[0]).toBe(item);
  });

  it("rewrites representations by inputRewrites (`... on T` steps: only a T's), leaving the tree's objects as they are", async () => {
    // @apollo/query-planner's own plan for an @interfaceObject: Book and Film go to `ratings` as Media.
    const plan = planOf('{ media { ... on Book { title } rating } }');
    const { data, calls } = await run(plan, {
      media: () => ({ data: { media: [{ __typename: 'Book', id: 'b1', title: 'T' }, { __typename: 'Film', id: 'f1' }, null] } }),
      ratings: entities((r, i) => ({ __typename: 'Media', rating: i + 4, id: r.id })),
    });
    expect(calls[1]!.variables.representations).toEqual([
      { __typename: 'Media', id: 'b1' },
      { __typename: 'Media', id: 'f1' },
    ]);
    // The interface's name the @interfaceObject subgraph answers with does not replace the concrete one.
    expect(data).toEqual({
      media: [{ __typename: 'Book', id: 'b1', title: 'T', rating: 4 }, { __typename: 'Film', id: 'f1', rating: 5 }, null],
    });

    const root = rootFetch('media', {
      media: [
        { __typename: 'Book', id: 'b1' },
        { __typename: 'Film', id: 'f1' },
      ],
    });
    const onlyBooks: PlanNode = {
      kind: 'Flatten',
      path: ['media', '@'],
      node: fetchNode('ratings', 'query($representations:[_Any!]!){_entities(representations:$representations){...on Media{rating}}}', {
        requires: [
          {
            kind: 'InlineFragment',
            typeCondition: 'Media',
            selections: [
              { kind: 'Field', name: '__typename' },
              { kind: 'Field', name: 'id' },
            ],
          },
        ],
        inputRewrites: [
          { kind: 'ValueSetter', path: ['... on Book', '__typename'], setValueTo: 'Media' },
          { kind: 'ValueSetter', path: ['... on Film', 'format'], setValueTo: 'reel' },
        ],
      }),
    };
    const rewritten = await run(
      { kind: 'Sequence', nodes: [root.node, onlyBooks] },
      { media: root.answer, ratings: entities(() => ({ __typename: 'Media', rating: 1 })) },
    );
    expect(rewritten.calls[1]!.variables.representations).toEqual([
      { __typename: 'Media', id: 'b1' },
      { __typename: 'Film', id: 'f1', format: 'reel' },
    ]);
    expect(rewritten.data.media).toEqual([
      { __typename: 'Book', id: 'b1', rating: 1 },
      { __typename: 'Film', id: 'f1', rating: 1 },
    ]);
  });

  it('renames keys of the answer by outputRewrites (KeyRenamer), nested and only where the type condition holds', async () => {
    const root = rootFetch('products', { products: [product('p1'), product('p2')] });
    const renaming: PlanNode = productEntitiesAt(
      ['products', '@'],
      'inventory',
      'query($representations:[_Any!]!){_entities(representations:$representations){...on Product{price__alias_0:price}}}',
      {
        outputRewrites: [
          { kind: 'KeyRenamer', path: ['... on Product', 'price__alias_0'], renameKeyTo: 'price' },
          { kind: 'KeyRenamer', path: ['... on Product', 'dimensions', 'w__alias_1'], renameKeyTo: 'weight' },
          { kind: 'KeyRenamer', path: ['... on User', 'name__alias_2'], renameKeyTo: 'name' },
        ],
      },
    );
    const { data } = await run(
      { kind: 'Sequence', nodes: [root.node, renaming] },
      {
        products: root.answer,
        inventory: entities((r) => ({
          __typename: 'Product',
          price__alias_0: r.upc === 'p1' ? 10 : 20,
          dimensions: { w__alias_1: 7 },
          name__alias_2: 'kept',
        })),
      },
    );
    expect(data.products).toEqual([
      { ...product('p1'), price: 10, dimensions: { weight: 7 }, name__alias_2: 'kept' },
      { ...product('p2'), price: 20, dimensions: { weight: 7 }, name__alias_2: 'kept' },
    ]);
  });

  it('fetches the entities of a context rewrite grouped by their context values, one fetch per group, the values as renameKeyTo variables', async () => {
    const root = rootFetch('products', {
      shops: [
        { __typename: 'Shop', id: 's1', currency: 'EUR', products: [product('p1'), product('p2')] },
        { __typename: 'Shop', id: 's2', currency: 'USD', products: [product('p3'), product('p1')] },
        { __typename: 'Shop', id: 's3', currency: 'EUR', products: [product('p4'), product('p1')] },
      ],
    });
    const priced: PlanNode = productEntitiesAt(
      ['shops', '@', 'products', '@'],
      'inventory',
      'query($representations:[_Any!]!$contextualArgument_1_0:String){_entities(representations:$representations){...on Product{price(currency:$contextualArgument_1_0)}}}',
      {
        variableUsages: ['contextualArgument_1_0'],
        contextRewrites: [{ kind: 'KeyRenamer', path: ['..', '... on Shop', 'currency'], renameKeyTo: 'contextualArgument_1_0' }],
      },
    );
    const rates: Record<string, number> = { EUR: 1, USD: 2 };
    const { data, calls } = await run(
      { kind: 'Sequence', nodes: [root.node, priced] },
      {
        products: root.answer,
        inventory: (call) =>
          entities(() => ({ __typename: 'Product', price: rates[call.variables!.contextualArgument_1_0 as string]! }))(call),
      },
    );
    expect(calls.slice(1).map((c) => c.variables)).toEqual([
      {
        contextualArgument_1_0: 'EUR',
        representations: [
          { __typename: 'Product', upc: 'p1' },
          { __typename: 'Product', upc: 'p2' },
          { __typename: 'Product', upc: 'p4' },
        ],
      },
      {
        contextualArgument_1_0: 'USD',
        representations: [
          { __typename: 'Product', upc: 'p3' },
          { __typename: 'Product', upc: 'p1' },
        ],
      },
    ]);
    const prices = (data.shops as { products: JsonObject[] }[]).map((shop) => shop.products.map((p) => `${p.upc}:${p.price}`));
    expect(prices).toEqual([
      ['p1:1', 'p2:1'],
      ['p3:2', 'p1:2'],
      ['p4:1', 'p1:1'],
    ]);
  });

  it("climbs a context rewrite's `..` by objects, not lists, in @apollo/query-planner's own @fromContext plan", async () => {
    // @apollo/gateway refuses a supergraph with @context (a feature it does not support); its planner plans for one.
    const contextLink =
      'extend schema @link(url: "https://specs.apollo.dev/federation/v2.8", import: ["@key", "@context", "@fromContext"])';
    const withContext = composeServices([
      {
        name: 'shops',
        url: 'fake://shops',
        typeDefs: parse(`${contextLink}
          type Query { shops: [Shop!]! }
          type Shop @key(fields: "id") @context(name: "shop") { id: ID! currency: String sections: [Section!]! }
          type Section { items: [[Product]] }
          type Product @key(fields: "upc") { upc: ID! price(currency: String @fromContext(field: "$shop { currency }")): Int }`),
      },
    ]);
    if (withContext.errors) throw new Error(withContext.errors.map(String).join('; '));
    const contextSupergraph = Supergraph.build(withContext.supergraphSdl, { supportedFeatures: null });
    const plan = new QueryPlanner(contextSupergraph).buildQueryPlan(
      operationFromDocument(contextSupergraph.schema, parse('{ shops { sections { items { price } } } }')),
    ).node as PlanNode;
    const section = (...upcs: (string | null)[][]) => ({
      items: upcs.map((row) => row.map((upc) => upc && { __typename: 'Product', upc })),
    });
    const shops = [
      { __typename: 'Shop', currency: 'EUR', sections: [section(['p1', null], ['p2']), section(['p1'])] },
      { __typename: 'Shop', currency: 'USD', sections: [section(['p1', 'p3'])] },
    ];
    const calls: JsonObject[] = [];
    const execution = await executePlan(plan, {
      variables: {},
      coercedVariables: {},
      context: {},
      conditions: typeConditionsOf(contextSupergraph.schema),
      clientOf: (subgraph) => ({
        name: subgraph,
        url: `fake://${subgraph}`,
        close: async () => {},
        async call({ variables }) {
          calls.push(structuredClone(variables!));
          if (!variables!.representations) return { data: { shops: structuredClone(shops) } };
          const [name] = Object.keys(variables!).filter((key) => key !== 'representations');
          const rate = variables![name!] === 'EUR' ? 1 : 2;
          return { data: { _entities: representationsOf({ query: '', variables }).map(() => ({ __typename: 'Product', price: rate })) } };
        },
      }),
    });
    expect(execution.errors).toEqual([]);
    const [contextVariable] = Object.keys(calls[1]!).filter((key) => key !== 'representations');
    expect(contextVariable).toMatch(/^contextualArgument_/);
    expect(calls.slice(1)).toEqual([
      {
        [contextVariable!]: 'EUR',
        representations: [
          { __typename: 'Product', upc: 'p1' },
          { __typename: 'Product', upc: 'p2' },
        ],
      },
      {
        [contextVariable!]: 'USD',
        representations: [
          { __typename: 'Product', upc: 'p1' },
          { __typename: 'Product', upc: 'p3' },
        ],
      },
    ]);
    const prices = (execution.data.shops as { sections: { items: ({ upc: string; price: number } | null)[][] }[] }[]).map((shop) =>
      shop.sections.map((s) => s.items.map((row) => row.map((item) => item && `${item.upc}:${item.price}`))),
    );
    expect(prices).toEqual([[[['p1:1', null], ['p2:1']], [['p1:1']]], [[['p1:2', 'p3:2']]]]);
  });

  it('runs a condition by the coerced variable: its if clause when true, its else clause when false or absent', async () => {
    const ifFetch = rootFetch('products', { products: [] });
    const elseFetch = rootFetch('media', { media: [] });
    const condition: PlanNode = { kind: 'Condition', condition: 'v', ifClause: ifFetch.node, elseClause: elseFetch.node };
    const answers = { products: ifFetch.answer, media: elseFetch.answer };
    const ran = async (options: Parameters<typeof run>[2]) => (await run(condition, answers, options)).calls.map((c) => c.subgraph);
    expect(await ran({ variables: { v: true } })).toEqual(['products']);
    expect(await ran({ variables: { v: false } })).toEqual(['media']);
    expect(await ran({ variables: {} })).toEqual(['media']);
    // A default (`$v: Boolean = true`) is in the coerced variables only.
    expect(await ran({ variables: {}, coercedVariables: { v: true } })).toEqual(['products']);

    // The planner's own @include: no else clause, nothing run when false.
    const include = planOf('query($v: Boolean!) { products { name inStock @include(if: $v) } }');
    const subgraphs = {
      products: () => ({ data: { products: [product('p1')] } }),
      inventory: entities(() => ({ __typename: 'Product', inStock: true })),
    };
    expect((await run(include, subgraphs, { variables: { v: false } })).calls.map((c) => c.subgraph)).toEqual(['products']);
    expect((await run(include, subgraphs, { variables: { v: true } })).data).toEqual({ products: [{ ...product('p1'), inStock: true }] });
  });

  it("places a subgraph's errors at each owner's path, marked with serviceName and DOWNSTREAM_SERVICE_ERROR when they have no code", async () => {
    const grid = [
      [product('p1'), null, product('p2')],
      [product('p3'), product('p1')],
    ];
    const { data, errors } = await run(planOf('{ productGrid { name inStock } }'), {
      products: () => ({
        data: { productGrid: structuredClone(grid) },
        errors: [
          {
            message: 'name hidden',
            path: ['productGrid', 1, 0, 'name'],
            locations: [{ line: 1, column: 2 }],
            extensions: { code: 'FORBIDDEN' },
          },
        ],
      }),
      inventory: entities((_r, i) => (i === 0 ? null : { __typename: 'Product', inStock: true }), {
        errors: [
          { message: 'no stock for p1', path: ['_entities', 0, 'inStock'] },
          { message: 'p3 counted twice', path: ['_entities', 2, 'inStock'], extensions: { code: 'INTERNAL', detail: 1 } },
          { message: 'inventory is slow' },
          { message: 'about all entities', path: ['_entities'] },
        ],
      }),
    });
    expect(errors).toEqual([
      { message: 'name hidden', path: ['productGrid', 1, 0, 'name'], extensions: { code: 'FORBIDDEN', serviceName: 'products' } },
      {
        message: 'no stock for p1',
        path: ['productGrid', 0, 0, 'inStock'],
        extensions: { code: 'DOWNSTREAM_SERVICE_ERROR', serviceName: 'inventory' },
      },
      {
        message: 'no stock for p1',
        path: ['productGrid', 1, 1, 'inStock'],
        extensions: { code: 'DOWNSTREAM_SERVICE_ERROR', serviceName: 'inventory' },
      },
      {
        message: 'p3 counted twice',
        path: ['productGrid', 1, 0, 'inStock'],
        extensions: { code: 'INTERNAL', detail: 1, serviceName: 'inventory' },
      },
      { message: 'inventory is slow', extensions: { code: 'DOWNSTREAM_SERVICE_ERROR', serviceName: 'inventory' } },
      { message: 'about all entities', extensions: { code: 'DOWNSTREAM_SERVICE_ERROR', serviceName: 'inventory' } },
    ]);
    // The null entity merged nothing.
    expect((data.productGrid as JsonObject[][])[0]![0]).toEqual(product('p1'));
  });

  it("puts SUBGRAPH_UNAVAILABLE at every field of an unavailable subgraph's fetch, for each entity, and runs the rest of the plan", async () => {
    const { data, errors, calls } = await run(planOf('{ products { name reviews { body author { name } } inStock price } }'), {
      products: () => ({ data: { products: [product('p1'), product('p2'), product('p1')] } }),
      inventory: () => Promise.reject(new SubgraphUnavailableError('inventory')),
      reviews: entities((r) => ({ __typename: 'Product', reviews: [{ body: 'b', author: { __typename: 'User', id: `u-${r.upc}` } }] })),
      users: entities(() => ({ __typename: 'User', name: 'U' })),
    });
    const unavailable = (path: (string | number)[]) => ({
      message: new SubgraphUnavailableError('inventory').message,
      path,
      extensions: { code: 'SUBGRAPH_UNAVAILABLE', subgraph: 'inventory', serviceName: 'inventory' },
    });
    // Each distinct entity (p1 twice) at each of its places, at each field the fetch was for.
    expect(errors).toEqual([
      unavailable(['products', 0, 'inStock']),
      unavailable(['products', 2, 'inStock']),
      unavailable(['products', 0, 'price']),
      unavailable(['products', 2, 'price']),
      unavailable(['products', 1, 'inStock']),
      unavailable(['products', 1, 'price']),
    ]);
    // The other branch of the parallel, and the fetch after it in its sequence, still ran.
    expect(calls.map((c) => c.subgraph).sort()).toEqual(['inventory', 'products', 'reviews', 'users']);
    expect(data).toEqual({
      products: [product('p1'), product('p2'), product('p1')].map((p) => ({
        ...p,
        reviews: [{ body: 'b', author: { __typename: 'User', id: `u-${p.upc}`, name: 'U' } }],
      })),
    });

    const rootDown = await run(planOf('{ products { name inStock } productGrid { name } }'), {
      products: () => Promise.reject(new SubgraphUnavailableError('products')),
    });
    expect(rootDown.data).toEqual({});
    expect(rootDown.errors.map((e) => [e.path, e.extensions?.code])).toEqual([
      [['products'], 'SUBGRAPH_UNAVAILABLE'],
      [['productGrid'], 'SUBGRAPH_UNAVAILABLE'],
    ]);
  });

  it('sends only the variables of variableUsages, as the client gave them, not coerced', async () => {
    const plan = planOf('query($first: Int = 2, $unused: String) { products { reviews(first: $first) { body } } }');
    const subgraphs = {
      products: () => ({ data: { products: [product('p1')] } }),
      reviews: entities(() => ({ __typename: 'Product', reviews: [] })),
    };
    const given = await run(plan, subgraphs, { variables: { first: 3, unused: 'x' }, coercedVariables: { first: 30, unused: 'y' } });
    expect(given.calls.map((c) => c.variables)).toEqual([{}, { first: 3, representations: [{ __typename: 'Product', upc: 'p1' }] }]);
    // Left out: left to the subgraph operation's own default.
    const absent = await run(plan, subgraphs, { variables: {}, coercedVariables: { first: 2 } });
    expect(absent.calls[1]!.variables).toEqual({ representations: [{ __typename: 'Product', upc: 'p1' }] });
  });
});
