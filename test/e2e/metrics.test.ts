import { beforeAll, describe, expect, it } from '@jest/globals';
import { seedId } from '../../shared/store/seed.js';
import { scrape, type Scrape } from '../support/metrics.js';
import { postGraphQL } from '../support/subgraph.js';
import { supergraphForSuite } from '../support/supergraph.js';

const TOP_PRODUCTS = `query TopProducts { topProducts(first: 3) { name inStock reviews(first: 2) { edges { node { rating author { username } } } } } }`;
const PRODUCTS_PAGE = `query ProductsPage($first: Int!) { products(first: $first) { edges { node { name price { amount } } } } }`;
const RESTOCK = `mutation Restock($id: ID!) { adjustStock(productId: $id, delta: 1) { quantity } }`;
const kettle = seedId('product', '200000000003');

describe('metrics', () => {
  const supergraph = supergraphForSuite();
  let gateway: Scrape;
  const subgraph: Record<string, Scrape> = {};

  beforeAll(async () => {
    const staff = await supergraph.loginAs('grace');
    // A query twice (the second from the response cache), one document under two variables
    // (planned once), a mutation with a token and without, a refused token, an invalid query,
    // a query with a field refused to an anonymous caller.
    for (let i = 0; i < 2; i++) expect((await supergraph.query(TOP_PRODUCTS)).errors).toBeUndefined();
    for (const first of [2, 3]) expect((await supergraph.query(PRODUCTS_PAGE, { first })).errors).toBeUndefined();
    expect((await supergraph.query(RESTOCK, { id: kettle }, staff)).errors).toBeUndefined();
    expect((await supergraph.query(RESTOCK, { id: kettle })).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await supergraph.query(TOP_PRODUCTS, {}, { authorization: 'Bearer not-a-token' })).status).toBe(401);
    expect((await supergraph.query(`query Broken { topProducts { nope } }`)).errors?.[0]?.extensions?.code).toBe(
      'GRAPHQL_VALIDATION_FAILED',
    );
    const emails = await supergraph.query(`query Emails { users(first: 1) { edges { node { username email } } } }`);
    expect([emails.data?.users.edges[0].node.email, emails.errors?.[0]?.extensions?.code]).toEqual([null, 'UNAUTHENTICATED']);
    gateway = await scrape(supergraph.metricsUrl!);
    for (const [name, running] of Object.entries(supergraph.subgraphs)) subgraph[name] = await scrape(running.metricsUrl!);
  }, 120_000);

  it('counts gateway operations by name, type and outcome, with their durations', () => {
    expect(gateway.value('tessera_gateway_operations_total', { operation: 'TopProducts', type: 'query', outcome: 'success' })).toBe(2);
    expect(gateway.value('tessera_gateway_operations_total', { operation: 'ProductsPage', type: 'query', outcome: 'success' })).toBe(2);
    // Signed in: success. Anonymous: the subgraph refuses the field, so no data at all.
    expect(gateway.value('tessera_gateway_operations_total', { operation: 'Restock', type: 'mutation', outcome: 'success' })).toBe(1);
    expect(gateway.value('tessera_gateway_operations_total', { operation: 'Restock', type: 'mutation', outcome: 'error' })).toBe(1);
    expect(gateway.value('tessera_gateway_operations_total', { operation: 'unknown', type: 'unknown', outcome: 'error' })).toBe(1);
    expect(gateway.value('tessera_gateway_operations_total', { operation: 'Emails', type: 'query', outcome: 'partial' })).toBe(1);
    expect(gateway.value('tessera_gateway_request_duration_seconds_count', { operation: 'TopProducts', type: 'query' })).toBe(2);
    expect(gateway.value('tessera_gateway_request_duration_seconds_bucket', { operation: 'TopProducts', type: 'query', le: '+Inf' })).toBe(
      2,
    );
    expect(gateway.value('tessera_gateway_requests_in_flight')).toBe(0);
  });

  it('counts errors by code, auth failures by reason, and rate-limit refusals', async () => {
    expect(gateway.value('tessera_gateway_errors_total', { code: 'GRAPHQL_VALIDATION_FAILED' })).toBe(1);
    // The anonymous Restock, the refused token, the anonymous email.
    expect(gateway.value('tessera_gateway_errors_total', { code: 'UNAUTHENTICATED' })).toBe(3);
    expect(gateway.value('tessera_gateway_auth_failures_total', { reason: 'malformed' })).toBe(1);

    const limited = await supergraph.startGateway({ protection: { rateLimit: { enabled: true, limit: 1 } } });
    const refusals: number[] = [];
    for (let i = 0; i < 2; i++) refusals.push((await postGraphQL(limited.url, '{ categories { name } }')).status);
    expect(refusals).toEqual([200, 429]);
    const after = await scrape(limited.metricsUrl!);
    expect(after.value('tessera_gateway_rate_limited_total', { limit: 'caller' })).toBe(1);
    expect(after.value('tessera_gateway_errors_total', { code: 'RATE_LIMITED' })).toBe(1);
  });

  it('counts response cache hits, misses and purges, and query plan cache hits', () => {
    expect(gateway.value('tessera_gateway_response_cache_requests_total', { result: 'hit' })).toBe(1);
    expect(gateway.value('tessera_gateway_response_cache_requests_total', { result: 'miss' })).toBeGreaterThanOrEqual(3);
    expect(gateway.value('tessera_gateway_response_cache_purges_total', { outcome: 'done' })).toBe(1);
    // ProductsPage was planned once and reused for its second variables.
    expect(gateway.value('tessera_gateway_query_plan_cache_total', { result: 'hit' })).toBeGreaterThanOrEqual(1);
    expect(gateway.value('tessera_gateway_query_plan_cache_total', { result: 'miss' })).toBeGreaterThanOrEqual(3);
  });

  it('times subgraph fetches by subgraph and counts the failed ones', () => {
    for (const name of ['catalog', 'inventory', 'reviews']) {
      expect(gateway.value('tessera_gateway_subgraph_fetch_duration_seconds_count', { subgraph: name })).toBeGreaterThan(0);
    }
    // The anonymous Restock: inventory answered with an error.
    expect(gateway.value('tessera_gateway_subgraph_fetch_errors_total', { subgraph: 'inventory', reason: 'graphql' })).toBe(1);
  });

  it('counts a subgraph refusing the fetch as an http failure', async () => {
    const unsigned = await supergraph.startGateway({
      supergraphPath: 'supergraph.graphql',
      routeToRunning: true,
      signingSecret: 'another-signing-secret-0123456789abcdef',
      responseCache: false,
    });
    const { data } = await postGraphQL(unsigned.url, 'query Cats { categories { name } }');
    expect(data).toBeNull();
    const after = await scrape(unsigned.metricsUrl!);
    expect(after.value('tessera_gateway_subgraph_fetch_errors_total', { subgraph: 'catalog', reason: 'http' })).toBe(1);
    expect(after.value('tessera_gateway_subgraph_fetch_duration_seconds_count', { subgraph: 'catalog' })).toBe(1);
  });

  it('measures SQL per operation and DataLoader batches in the subgraphs', () => {
    const reviews = subgraph.reviews!;
    const sqlCounts = reviews
      .find('tessera_subgraph_sql_duration_seconds_count')
      .filter((s) => s.labels.operation!.startsWith('TopProducts__reviews__'));
    expect(sqlCounts.length).toBeGreaterThan(0);
    expect(sqlCounts.every((s) => s.value > 0)).toBe(true);
    const statements = reviews
      .find('tessera_subgraph_sql_statements_per_operation_count')
      .filter((s) => s.labels.operation!.startsWith('TopProducts__reviews__'));
    expect(statements.length).toBeGreaterThan(0);
    expect(statements.map((s) => s.value)).toEqual(statements.map(() => 1));
    // The three top products' reviews in one batch, once (the second TopProducts was a cache hit).
    expect(reviews.value('tessera_subgraph_dataloader_batch_size_count', { loader: 'reviewsByProduct' })).toBe(1);
    expect(reviews.value('tessera_subgraph_dataloader_batch_size_sum', { loader: 'reviewsByProduct' })).toBe(3);
    expect(subgraph.inventory!.value('tessera_subgraph_dataloader_batch_size_sum', { loader: 'quantityByProductId' })).toBe(3);
  });

  it('counts subgraph errors by code', () => {
    expect(subgraph.inventory!.value('tessera_subgraph_errors_total', { code: 'UNAUTHENTICATED' })).toBe(1);
    expect(subgraph.accounts!.value('tessera_subgraph_errors_total', { code: 'UNAUTHENTICATED' })).toBe(1);
    expect(subgraph.catalog!.find('tessera_subgraph_errors_total')).toEqual([]);
  });

  it('reports the connection pool of each store', () => {
    for (const scrapeOf of Object.values(subgraph)) {
      expect(scrapeOf.value('tessera_subgraph_db_pool_connections', { state: 'total' })).toBeGreaterThanOrEqual(1);
      expect(scrapeOf.value('tessera_subgraph_db_pool_connections', { state: 'waiting' })).toBe(0);
      expect(scrapeOf.value('tessera_subgraph_db_pool_max_connections')).toBe(10);
    }
  });

  it("exports Node's process metrics from every process", () => {
    for (const scrapeOf of [gateway, ...Object.values(subgraph)]) {
      expect(scrapeOf.value('nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
      expect(scrapeOf.value('nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
      expect(scrapeOf.families.get('nodejs_gc_duration_seconds')).toBe('histogram');
      expect(scrapeOf.families.get('process_cpu_seconds_total')).toBe('counter');
    }
  });

  it('serves metrics only on their own listener when given a port, and nowhere when off', async () => {
    const apart = await supergraph.startGateway({ metrics: { port: 0 } });
    expect(apart.metricsUrl).not.toBe(`${apart.origin}/metrics`);
    expect((await fetch(`${apart.origin}/metrics`)).status).toBe(404);
    await postGraphQL(apart.url, 'query Cats { categories { name } }');
    const own = await scrape(apart.metricsUrl!);
    expect(own.value('tessera_gateway_operations_total', { operation: 'Cats', type: 'query', outcome: 'success' })).toBe(1);

    const off = await supergraph.startGateway({ metrics: { enabled: false } });
    expect(off.metricsUrl).toBeUndefined();
    expect((await fetch(`${off.origin}/metrics`)).status).toBe(404);
  });
});
