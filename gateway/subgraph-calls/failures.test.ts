import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { GraphQLDataSource } from '@apollo/gateway';
import { GraphQLError, parse } from 'graphql';
import { errorsAtFetchedFields, subgraphFailure, withFailuresAtFields } from './failures.js';
import type { GatewayContext } from '../context.js';
import { ErrorCode, GatewayTimeoutError, SubgraphUnavailableError, TesseraError } from '../../shared/errors/errors.js';
import { capturingLogger } from '../../test/support/logger.js';
import { fixtureShop, startInProcessGateway, type InProcessGateway } from '../../test/support/in-process-gateway.js';

const named = (name: string, message = name) => Object.assign(new Error(message), { name });

describe('what a client is told of a failed subgraph fetch', () => {
  it('is a timeout for a timed-out or aborted fetch, or a GATEWAY_TIMEOUT from the data source', () => {
    const fromDataSource = new GraphQLError('late', { extensions: { code: ErrorCode.GATEWAY_TIMEOUT } });
    for (const error of [named('TimeoutError'), named('AbortError'), fromDataSource]) {
      expect(subgraphFailure('reviews', error)).toBeInstanceOf(GatewayTimeoutError);
    }
  });

  it('is the subgraph being unavailable for anything else, saying neither its URL nor what it answered', () => {
    const failure = subgraphFailure('reviews', new Error('connect ECONNREFUSED 10.0.0.7:4004 (HTTP 502: <html>upstream</html>)'));
    expect(failure).toBeInstanceOf(SubgraphUnavailableError);
    expect(failure.extensions).toEqual({ code: 'SUBGRAPH_UNAVAILABLE', subgraph: 'reviews' });
    expect(failure.message).not.toMatch(/10\.0\.0\.7|502|html/);
  });

  it('keeps a Tessera error as it is', () => {
    const own = new TesseraError('shutting down', ErrorCode.SHUTTING_DOWN);
    expect(subgraphFailure('reviews', own)).toBe(own);
  });
});

describe('the errors of a failed fetch', () => {
  const failure = new SubgraphUnavailableError('catalog');

  it('sit at every field a root fetch was to resolve, by response key, fragments expanded, __typename aside', () => {
    const document = parse(`{ top: topProducts { name } ...F __typename } fragment F on Query { categories { slug } }`);
    expect(errorsAtFetchedFields(failure, document, {}).map((error) => error.path)).toEqual([['top'], ['categories']]);
  });

  it("sit at each entity's fields of an entity fetch, as that entity's type selects them", () => {
    const document = parse(`query($representations: [_Any!]!) { _entities(representations: $representations) {
      ... on Product { reviews { rating } } ... on User { name } } }`);
    const representations = [
      { __typename: 'Product', id: 'p1' },
      { __typename: 'User', id: 'u1' },
    ];
    expect(errorsAtFetchedFields(failure, document, { representations }).map((error) => error.path)).toEqual([
      ['_entities', 0, 'reviews'],
      ['_entities', 1, 'name'],
    ]);
  });

  it("carry the failure's message and code, and stand without a path when there is no field", () => {
    const [error] = errorsAtFetchedFields(failure, parse(`{ __typename }`), {});
    expect(error).toEqual({ message: failure.message, extensions: { code: 'SUBGRAPH_UNAVAILABLE', subgraph: 'catalog' } });
  });
});

describe('a subgraph failing inside a supergraph request', () => {
  const { logger, lines } = capturingLogger('warn');
  /** What the reviews subgraph does next, in place of answering. */
  let reviews: () => Promise<unknown> = () => Promise.reject(new Error('fetch failed'));
  let gateway: InProcessGateway;
  beforeAll(async () => {
    gateway = await startInProcessGateway({
      subgraphs: fixtureShop,
      logger,
      dataSource: (name, local) => {
        if (name !== 'reviews') return local;
        const failing: GraphQLDataSource<GatewayContext> = { process: () => reviews() as never };
        return withFailuresAtFields(name, failing, logger);
      },
    });
  });
  afterAll(async () => {
    await gateway?.stop();
  });

  const SHOP_FRONT = `{ topProducts(first: 2) { name reviews(first: 1) { rating } } }`;

  it("serves the other subgraphs' data, with SUBGRAPH_UNAVAILABLE at each field the failed one was to resolve", async () => {
    reviews = () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:4004'));
    const response = await gateway.execute(SHOP_FRONT);
    expect(response.data).toEqual({
      topProducts: [
        { name: 'Product 1', reviews: null },
        { name: 'Product 2', reviews: null },
      ],
    });
    expect(response.errors?.filter((e) => e.extensions?.code === 'SUBGRAPH_UNAVAILABLE').map((e) => e.path)).toEqual([
      ['topProducts', 0, 'reviews'],
      ['topProducts', 1, 'reviews'],
    ]);
    expect(JSON.stringify(response.errors)).not.toMatch(/ECONNREFUSED|4004/);
  });

  it('answers GATEWAY_TIMEOUT at those fields for a fetch that timed out', async () => {
    reviews = () => Promise.reject(named('TimeoutError', 'The operation was aborted due to timeout'));
    const response = await gateway.execute(SHOP_FRONT);
    expect(response.errors?.[0]).toMatchObject({
      path: ['topProducts', 0, 'reviews'],
      extensions: { code: 'GATEWAY_TIMEOUT', subgraph: 'reviews' },
    });
  });

  it('takes JSON that is not a GraphQL response for the subgraph being unavailable', async () => {
    reviews = async () => ({});
    const response = await gateway.execute(SHOP_FRONT);
    expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'SUBGRAPH_UNAVAILABLE', subgraph: 'reviews' });
  });

  it('logs what happened for the operator, once per interval while it keeps failing', () => {
    const warnings = lines.filter((line) => line.msg === 'subgraph fetch failed');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      level: 40,
      subgraph: 'reviews',
      requestId: 'in-process',
      code: 'SUBGRAPH_UNAVAILABLE',
      err: { message: expect.stringMatching(/ECONNREFUSED/) },
    });
  });

  it('gives a fetch outside an operation (composition, health checks) the failure itself', async () => {
    const error = new Error('connect ECONNREFUSED');
    const source = withFailuresAtFields('reviews', { process: () => Promise.reject(error) }, logger);
    await expect(source.process({ kind: 'health check' as never, request: { query: '{ __typename }' }, context: {} })).rejects.toBe(error);
  });
});
