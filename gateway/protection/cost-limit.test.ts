import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { useCostLimit, type CostLimitOptions } from './cost-limit.js';
import { operationLimitsRule } from './operation-limits.js';
import { fixtureShop, startInProcessGateway, type InProcessGateway } from '../../test/support/in-process-gateway.js';

// The gateway's defaults (shared/config/config.ts).
const DEFAULTS: CostLimitOptions = { maxCost: 5000, defaultListSize: 10, maxPageSize: 100 };
const SHAPE = { maxDepth: 12, maxAliases: 30, maxRootFields: 15, maxDirectivesPerField: 4 };

/** A gateway with the cost step as the real one runs it. */
const costLimitedGateway = (options: Partial<CostLimitOptions> = {}) =>
  startInProcessGateway({
    subgraphs: fixtureShop,
    validationRules: [operationLimitsRule(SHAPE)],
    plugins: [useCostLimit({ ...DEFAULTS, ...options })],
  });

const nested = (n: number) => `{ products(first: ${n}) { edges { node { name reviews(first: ${n}) { rating } } } } }`;

describe('the cost limit', () => {
  let gateway: InProcessGateway;
  let tight: InProcessGateway;
  beforeAll(async () => {
    gateway = await costLimitedGateway();
    tight = await costLimitedGateway({ maxCost: 11 });
  });
  afterAll(async () => {
    await gateway?.stop();
    await tight?.stop();
  });

  it('refuses a nested list bomb with 400, the estimate and the limit, before any subgraph fetch', async () => {
    gateway.resetFetches();
    const bomb = await gateway.execute(nested(100));
    expect(bomb.status).toBe(400);
    expect(bomb.data).toBeUndefined();
    expect(bomb.errors?.[0]?.extensions).toMatchObject({ code: 'COST_LIMIT_EXCEEDED', maxCost: 5000, estimatedCost: 10_201 });
    expect(bomb.errors?.[0]?.message).toMatch(/estimated cost is 10201; the limit is 5000/);
    expect(gateway.fetches()).toBe(0);
  });

  it('serves what is under budget and reports the estimate in extensions.cost', async () => {
    const modest = await gateway.execute(nested(5));
    expect(modest.errors).toBeUndefined();
    expect(modest.status).toBe(200);
    // The connection, then 5 × (edge + product + 5 reviews): 1 + 5 × 7 = 36.
    expect(modest.extensions?.cost).toEqual({ estimated: 36, limit: 5000 });
  });

  it('admits just under the limit and refuses just over it', async () => {
    // 5 × (1 product + 1 category) = 10; the price adds 5 × 1 Money.
    expect((await tight.execute(`{ topProducts(first: 5) { category { name } } }`)).errors).toBeUndefined();
    const over = await tight.execute(`{ topProducts(first: 5) { category { name } price { amount } } }`);
    expect(over.errors?.[0]?.extensions).toMatchObject({ code: 'COST_LIMIT_EXCEEDED', estimatedCost: 15, maxCost: 11 });
  });

  it('reads slicing arguments from variables, and from variable defaults as execution will use them', async () => {
    const query = `query($n: Int!) { products(first: $n) { edges { node { reviews(first: $n) { rating } } } } }`;
    const given = await gateway.execute(query, { variables: { n: 100 } });
    expect(given.errors?.[0]?.extensions).toMatchObject({ code: 'COST_LIMIT_EXCEEDED', estimatedCost: 10_201 });
    const defaulted = await gateway.execute(query.replace('$n: Int!', '$n: Int! = 100'));
    expect(defaulted.status).toBe(400);
    expect(defaulted.errors?.[0]?.extensions?.estimatedCost).toBe(10_201);
  });

  it('counts a selection repeated (merged by GraphQL) once, and serves it', async () => {
    const once = `topProducts(first: 5) { category { name } }`;
    const twice = await tight.execute(`{ ${once} ${once} ...T } fragment T on Query { ${once} }`);
    expect(twice.errors).toBeUndefined();
    expect(twice.extensions?.cost?.estimated).toBe(10);
  });

  it('refuses a page over MAX_PAGE_SIZE, or negative, naming the argument by its path', async () => {
    const refusedAt = async (query: string, variables?: Record<string, unknown>) => {
      gateway.resetFetches();
      const response = await gateway.execute(query, { variables });
      expect(response.status).toBe(400);
      expect(response.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(gateway.fetches()).toBe(0);
      return (response.errors![0]!.extensions!.fields as { field: string }[])[0]!.field;
    };
    expect(await refusedAt(`{ products(first: 101) { totalCount } }`)).toBe('products.first');
    expect(await refusedAt(`query($n: Int!) { products(first: $n) { totalCount } }`, { n: 101 })).toBe('products.first');
    expect(await refusedAt(`query($n: Int! = 101) { products(first: $n) { totalCount } }`)).toBe('products.first');
    expect(await refusedAt(`{ products(first: -1) { totalCount } }`)).toBe('products.first');
    const deep = `{ p: products(first: 1) { edges { node { reviews(first: 500) { rating } } } } }`;
    expect(await refusedAt(deep)).toBe('p.edges.node.reviews.first');
    expect((await gateway.execute(`{ products(first: 100) { totalCount } }`)).errors).toBeUndefined();
  });

  it('follows a smaller MAX_PAGE_SIZE', async () => {
    const small = await costLimitedGateway({ maxPageSize: 3 });
    try {
      const over = await small.execute(`{ topProducts(first: 4) { name } }`);
      expect(over.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'topProducts.first' }] });
      expect(small.fetches()).toBe(0);
      expect((await small.execute(`{ topProducts(first: 3) { name } }`)).errors).toBeUndefined();
    } finally {
      await small.stop();
    }
  });

  it("refuses variables that do not coerce, and an operation name the document lacks, as the client's mistakes", async () => {
    const badVariable = await gateway.execute(`query($n: Int!) { topProducts(first: $n) { name } }`, { variables: { n: 'many' } });
    expect(badVariable.status).toBe(400);
    expect(badVariable.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const unknown = await gateway.execute(`{ categories { slug } }`, { operationName: 'Nope' });
    expect(unknown.status).toBe(400);
    expect(unknown.errors?.[0]).toMatchObject({
      message: 'Unknown operation named "Nope".',
      extensions: { code: 'OPERATION_RESOLUTION_FAILURE' },
    });
    const unnamed = await gateway.execute(`query A { categories { slug } } query B { categories { slug } }`);
    expect(unnamed.status).toBe(400);
    expect(unnamed.errors?.[0]).toMatchObject({
      message: 'The document has several operations; name the one to run in operationName.',
      extensions: { code: 'OPERATION_RESOLUTION_FAILURE' },
    });
  });
});
