import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { operationLimitsRule, type OperationLimits } from './operation-limits.js';
import { useCostLimit } from './cost-limit.js';
import { fixtureShop, startInProcessGateway, type InProcessGateway } from '../../test/support/in-process-gateway.js';

/** Small limits, so "just under" and "just over" are easy to write. */
const LIMITS: OperationLimits = { maxDepth: 4, maxAliases: 4, maxRootFields: 3, maxDirectivesPerField: 1 };

describe('the shape limits of an operation', () => {
  let gateway: InProcessGateway;
  beforeAll(async () => {
    gateway = await startInProcessGateway({
      subgraphs: fixtureShop,
      validationRules: [operationLimitsRule(LIMITS)],
      // As in the gateway: a refused shape must reach neither the cost step nor a subgraph.
      plugins: [useCostLimit({ maxCost: 5000, defaultListSize: 10, maxPageSize: 100 })],
    });
  });
  afterAll(async () => {
    await gateway?.stop();
  });

  const passes = async (query: string) => {
    const response = await gateway.execute(query);
    expect(response.errors).toBeUndefined();
    expect(response.status).toBe(200);
  };
  /** The refusal as a client sees it: 400, its own code (not GRAPHQL_VALIDATION_FAILED), no data, no fetch, no cost. */
  const refused = async (query: string, code: string) => {
    gateway.resetFetches();
    const response = await gateway.execute(query);
    expect(response.status).toBe(400);
    expect(response.data).toBeUndefined();
    expect(response.extensions?.cost).toBeUndefined();
    expect(gateway.fetches()).toBe(0);
    expect(response.errors?.[0]?.extensions?.code).toBe(code);
    return response.errors![0]!;
  };

  // products(1) > edges(2) > node(3) > category(4) > name(5)
  it('refuse nesting deeper than MAX_DEPTH, saying how deep, fragments followed', async () => {
    await passes(`{ products(first: 1) { edges { node { name } } } }`);
    const error = await refused(`{ products(first: 1) { edges { node { category { name } } } } }`, 'MAX_DEPTH_EXCEEDED');
    expect(error.extensions).toMatchObject({ actual: 5, limit: 4 });
    const throughFragment = `{ products(first: 1) { ...P } } fragment P on ProductConnection { edges { node { category { name } } } }`;
    await refused(throughFragment, 'MAX_DEPTH_EXCEEDED');
  });

  it('refuse more aliases than MAX_ALIASES', async () => {
    await passes(`{ a: categories { slug } b: categories { slug } c: categories { slug } }`);
    const error = await refused(`{ a: categories { s1: slug s2: slug s3: slug s4: slug } }`, 'MAX_ALIASES_EXCEEDED');
    expect(error.extensions).toMatchObject({ actual: 5, limit: 4 });
  });

  it('refuse more root fields than MAX_ROOT_FIELDS', async () => {
    const three = `categories { slug } topProducts(first: 1) { name } products(first: 1) { totalCount }`;
    await passes(`{ ${three} }`);
    await refused(`{ ${three} more: categories { name } }`, 'MAX_ROOT_FIELDS_EXCEEDED');
  });

  it('refuse more directives on a field than MAX_DIRECTIVES_PER_FIELD', async () => {
    // Only @include and @skip exist (and may not repeat), so this limit is tried at 1.
    await passes(`{ categories @include(if: true) { slug } }`);
    const error = await refused(`{ categories @include(if: true) @skip(if: false) { slug } }`, 'MAX_DIRECTIVES_EXCEEDED');
    expect(error.extensions).toMatchObject({ actual: 2, limit: 1 });
  });
});
