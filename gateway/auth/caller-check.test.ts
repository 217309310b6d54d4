import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { useCallerCheck } from './caller-check.js';
import { GatewayTimeoutError, SubgraphUnavailableError } from '../../shared/errors/errors.js';
import { useCostLimit } from '../protection/cost-limit.js';
import type { SubgraphAnswer, SubgraphCall, SubgraphCaller, SubgraphClient } from '../subgraph-calls/subgraph-client.js';
import { testIdentity } from '../../test/support/config.js';
import { capturingLogger } from '../../test/support/logger.js';
import { fixtureShop, startInProcessGateway, type InProcessGateway } from '../../test/support/in-process-gateway.js';

const ada = testIdentity('ada');
const MUTATION = `mutation { login(email: "ada@example.com", password: "secret") }`;

describe('the check of who calls a mutation', () => {
  const { logger, lines } = capturingLogger('info');
  /** What the identity subgraph answers the check with next. */
  let answer: () => Promise<SubgraphAnswer>;
  let asked: { call: SubgraphCall; caller: SubgraphCaller }[] = [];
  const identitySubgraph: SubgraphClient = {
    name: 'accounts',
    url: 'http://accounts.invalid/graphql',
    call: (call, caller) => {
      asked.push({ call, caller });
      return answer();
    },
    close: async () => {},
  };
  let gateway: InProcessGateway;
  beforeAll(async () => {
    const costLimit = useCostLimit({ maxCost: 5000, defaultListSize: 10, maxPageSize: 100 });
    gateway = await startInProcessGateway({
      subgraphs: fixtureShop,
      logger,
      plugins: [
        costLimit,
        useCallerCheck({ subgraph: 'accounts', client: () => identitySubgraph, analysisOf: costLimit.analysisOf, logger }),
      ],
    });
  });
  afterAll(async () => {
    await gateway?.stop();
  });
  beforeEach(() => {
    asked = [];
    answer = async () => ({ data: { me: { id: ada.userId }, user: { id: ada.userId } } });
  });

  it("asks the identity subgraph about a signed-in caller's mutation, once, apart from the request's cache tags, and runs it", async () => {
    const response = await gateway.execute(MUTATION, { user: ada });
    expect(response.errors).toBeUndefined();
    expect(asked).toHaveLength(1);
    expect(asked[0]!.call).toMatchObject({ operationName: 'TesseraCallerCheck', variables: { id: ada.userId } });
    // Signed as the caller; nothing it reads joins the request's cache tags.
    expect(asked[0]!.caller).toEqual({ user: ada });
  });

  it('asks nothing for reads, for anonymous callers, or for a mutation refused before it', async () => {
    await gateway.execute(`{ categories { slug } }`, { user: ada });
    await gateway.execute(MUTATION);
    const refused = await gateway.execute(MUTATION, { user: ada, operationName: 'Nope' });
    expect(refused.errors?.[0]?.extensions?.code).toBe('OPERATION_RESOLUTION_FAILURE');
    expect(asked).toHaveLength(0);
  });

  it.each([
    ['disabled', { me: null, user: { id: ada.userId } }, 'user_disabled'],
    ['deleted', { me: null, user: null }, 'user_not_found'],
  ])('refuses a %s caller with 401 UNAUTHENTICATED, before anything runs, and logs why', async (_, data, reason) => {
    answer = async () => ({ data });
    const response = await gateway.execute(MUTATION, { user: ada });
    expect(response.status).toBe(401);
    expect(response.data).toBeUndefined();
    expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason });
    const refusal = { msg: 'mutation refused: the caller is disabled or gone', userId: ada.userId, reason };
    expect(lines).toContainEqual(expect.objectContaining(refusal));
  });

  it.each([
    ['cannot be reached', () => Promise.reject(new SubgraphUnavailableError('accounts'))],
    ['does not answer in time', () => Promise.reject(new GatewayTimeoutError('accounts'))],
    ['answers with errors', async () => ({ errors: [{ message: 'store unavailable' }] })],
    ['answers no data', async () => ({ data: null })],
  ])('refuses the write with 503 SUBGRAPH_UNAVAILABLE when the identity subgraph %s: who may write is not guessed', async (_, failing) => {
    answer = failing as () => Promise<SubgraphAnswer>;
    const response = await gateway.execute(MUTATION, { user: ada });
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'SUBGRAPH_UNAVAILABLE', subgraph: 'accounts' });
  });
});
