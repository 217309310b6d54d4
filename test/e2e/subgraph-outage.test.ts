import { beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type RequestListener, type Server } from 'node:http';
import { closeServer } from '../../shared/http/http.js';
import { seedId } from '../../shared/store/seed.js';
import { postGraphQL, type TestSubgraph } from '../support/subgraph.js';
import { supergraphForSuite, type TestSupergraph } from '../support/supergraph.js';

// averageRating (reviews) is nullable, so it can be left out while name (catalog) is served.
const RATED = `{ topProducts(first: 3) { id name averageRating } }`;
const NAMES_ONLY = `{ topProducts(first: 3) { id name } }`;

/** What a client must never see about the gateway's insides. */
const INTERNALS = /127\.0\.0\.1|localhost|ECONNREFUSED|fetch failed|stacktrace|secret-internal-detail|<html/i;

describe('a subgraph that goes down', () => {
  const supergraph = supergraphForSuite({ responseCache: false });
  let reviews: TestSubgraph;
  let before: { id: string; name: string; averageRating: number | null }[];

  beforeAll(async () => {
    reviews = supergraph.subgraphs.reviews!;
    const { data, errors } = await supergraph.query(RATED);
    expect(errors).toBeUndefined();
    before = data!.topProducts;
    expect(before.some((p) => p.averageRating !== null)).toBe(true);
  });
  /** Runs `during` while `subgraph`'s port is served by `fake` (or refuses connections). */
  async function whileSubgraphIs(subgraph: TestSubgraph, fake: RequestListener | 'down', during: () => Promise<void>): Promise<void> {
    const { port } = new URL(subgraph.url);
    await subgraph.stopServer();
    let server: Server | undefined;
    try {
      if (fake !== 'down') {
        server = createServer(fake);
        await new Promise<void>((resolve) => server!.listen(Number(port), '127.0.0.1', resolve));
      }
      await during();
    } finally {
      if (server) await closeServer(server, 0);
      await subgraph.restartServer();
    }
  }
  const whileReviewsIs = (fake: RequestListener | 'down', during: () => Promise<void>) => whileSubgraphIs(reviews, fake, during);

  /** The error at root field `field` when its subgraph is down. */
  const unavailableAt = (subgraph: string, field: string) => ({
    message: `The ${subgraph} subgraph is unavailable; try again shortly.`,
    path: [field],
    extensions: { code: 'SUBGRAPH_UNAVAILABLE', subgraph, serviceName: subgraph },
  });

  /** The catalog's part of the answer, the reviews part null, and SUBGRAPH_UNAVAILABLE at each such field. */
  function expectReviewsLeftOut(response: Awaited<ReturnType<TestSupergraph['query']>>, code = 'SUBGRAPH_UNAVAILABLE'): void {
    expect(response.status).toBe(200);
    expect(response.data).toEqual({ topProducts: before.map((p) => ({ ...p, averageRating: null })) });
    expect(response.errors).toEqual(
      before.map((_, i) => ({
        message: expect.stringMatching(/^The reviews subgraph (is unavailable|did not answer in time)/),
        path: ['topProducts', i, 'averageRating'],
        extensions: { code, subgraph: 'reviews', serviceName: 'reviews' },
      })),
    );
    expect(JSON.stringify(response)).not.toMatch(INTERNALS);
  }

  it('answers with the data it could get and SUBGRAPH_UNAVAILABLE at the fields of the subgraph that is down; heals when it returns', async () => {
    await whileReviewsIs('down', async () => {
      expectReviewsLeftOut(await supergraph.query(RATED));
      // Aliases and fragments: the path is the one the client asked for.
      const aliased = await supergraph.query(
        `{ topProducts(first: 3) { ...Rated } } fragment Rated on Product { id stars: averageRating }`,
      );
      expect(aliased.data).toEqual({ topProducts: before.map(({ id }) => ({ id, stars: null })) });
      expect(aliased.errors?.map((e) => e.path)).toEqual(before.map((_, i) => ['topProducts', i, 'stars']));
      // A query that needs only healthy subgraphs does not notice.
      const healthy = await supergraph.query(NAMES_ONLY);
      expect(healthy.errors).toBeUndefined();
      expect(healthy.data).toEqual({ topProducts: before.map(({ id, name }) => ({ id, name })) });
      expect((await fetch(`${supergraph.origin}/health`)).status).toBe(200);
    });
    // Back on the same port: the same gateway serves everything again, without a restart.
    const healed = await supergraph.query(RATED);
    expect(healed.errors).toBeUndefined();
    expect(healed.data).toEqual({ topProducts: before });
  });

  it('puts the error of a root field at that field', async () => {
    const accounts = supergraph.subgraphs.accounts!;
    const query = `query($id: ID!) { user(id: $id) { username } topProducts(first: 1) { name } }`;
    const variables = { id: seedId('user', 'ada') };
    await whileSubgraphIs(accounts, 'down', async () => {
      const { status, data, errors } = await supergraph.query(query, variables);
      expect(status).toBe(200);
      expect(data).toEqual({ user: null, topProducts: [{ name: before[0]!.name }] });
      expect(errors).toEqual([unavailableAt('accounts', 'user')]);
    });
    expect(await supergraph.query(query, variables)).toMatchObject({ data: { user: { username: 'ada' } } });
  });

  it('fails a mutation sent to a subgraph that is down at its field, having changed nothing', async () => {
    const inventory = supergraph.subgraphs.inventory!;
    const staff = await supergraph.loginAs('grace');
    const stock = `query($id: ID!) { product(id: $id) { quantity } }`;
    const id = before[0]!.id;
    const { data: was } = await supergraph.query(stock, { id });
    await whileSubgraphIs(inventory, 'down', async () => {
      const { status, data, errors } = await supergraph.query(
        `mutation($id: ID!) { adjustStock(productId: $id, delta: 5) { quantity } }`,
        { id },
        staff,
      );
      expect(status).toBe(200);
      expect(data).toBeNull();
      expect(errors).toEqual([unavailableAt('inventory', 'adjustStock')]);
    });
    expect((await supergraph.query(stock, { id })).data).toEqual(was);
  });

  it.each<[string, RequestListener]>([
    [
      'a 502 from a proxy in front of it',
      (_req, res) => void res.writeHead(502, { 'content-type': 'text/html' }).end('<html>502 Bad Gateway secret-internal-detail</html>'),
    ],
    [
      'a 500 with a GraphQL body',
      (_req, res) =>
        void res
          .writeHead(500, { 'content-type': 'application/json' })
          .end(JSON.stringify({ errors: [{ message: 'secret-internal-detail' }] })),
    ],
    ['a 200 that is not JSON', (_req, res) => void res.writeHead(200, { 'content-type': 'text/plain' }).end('secret-internal-detail')],
    [
      'a 200 with broken JSON',
      (_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{"data": {"_entities": ['),
    ],
    [
      'a 200 with JSON that is not a GraphQL response',
      (_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{"secret-internal-detail": true}'),
    ],
    ['a connection dropped before answering', (req) => void req.socket.destroy()],
  ])('answers %s like a subgraph that is down, and heals', async (_case, fake) => {
    await whileReviewsIs(fake, async () => {
      expectReviewsLeftOut(await supergraph.query(RATED));
    });
    expect(await supergraph.query(RATED)).toMatchObject({ data: { topProducts: before } });
  });

  it("keeps @apollo/gateway's DOWNSTREAM_SERVICE_ERROR on a subgraph's error that has no code, its message masked", async () => {
    const codeless: RequestListener = (_req, res) =>
      void res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ data: null, errors: [{ message: 'secret-internal-detail' }] }));
    await whileReviewsIs(codeless, async () => {
      const response = await supergraph.query(RATED);
      expect(response.status).toBe(200);
      expect(response.data).toEqual({ topProducts: before.map((p) => ({ ...p, averageRating: null })) });
      expect(response.errors?.map(({ message, extensions }) => ({ message, extensions }))).toEqual([
        { message: 'Internal server error', extensions: { code: 'DOWNSTREAM_SERVICE_ERROR', serviceName: 'reviews' } },
      ]);
      expect(JSON.stringify(response)).not.toMatch(INTERNALS);
    });
    expect(await supergraph.query(RATED)).toMatchObject({ data: { topProducts: before } });
  });

  it('answers a subgraph that hangs with GATEWAY_TIMEOUT at its fields, the rest served', async () => {
    const { url } = await supergraph.startGateway({ responseCache: false, protection: { subgraphTimeoutMs: 300 } });
    await whileReviewsIs(
      () => undefined, // accepts the request and never answers
      async () => expectReviewsLeftOut(await postGraphQL(url, RATED), 'GATEWAY_TIMEOUT'),
    );
    expect((await postGraphQL(url, RATED)).errors).toBeUndefined();
  });
});
