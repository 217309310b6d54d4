import type { RequestListener, Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SignJWT } from 'jose';
import { composeSupergraph } from '../../tooling/compose.js';
import { closeServer, listen } from '../../shared/http/http.js';
import { seedId } from '../../shared/store/seed.js';
import { subgraphs } from '../../subgraphs/index.js';
import { catalog } from '../../subgraphs/catalog/index.js';
import { TEST_JWT_SECRET } from '../support/config.js';
import { APOLLO_SERVER_CHOICES, auditShortfalls } from '../support/http-audit.js';
import { postGraphQL, signedAs, subgraphForSuite, type TestSubgraph } from '../support/subgraph.js';
import { startTestSupergraph, type TestSupergraph } from '../support/supergraph.js';

/**
 * Hive Gateway's runtime, typed here as far as the test uses it: its own types (graphql-yoga's)
 * redeclare graphql's `GraphQLErrorExtensions.http` in a way Apollo Server's errors do not fit,
 * which would fail the type check of the whole project. Imported by a name tsc does not follow.
 */
interface HiveGatewayModule {
  createGatewayRuntime(config: {
    supergraph: string;
    logging: boolean;
    propagateHeaders: { fromClientToSubgraphs(payload: { request: Request }): Record<string, string | null> };
  }): RequestListener & { dispose(): Promise<void> };
}
const HIVE_GATEWAY = '@graphql-hive/gateway';

/** The README's shop query (Quick start). */
const SHOP_QUERY =
  '{ topProducts(first: 3) { name price { amount currency } inStock shippingEstimate averageRating reviews(first: 2) { edges { node { rating author { username } } } } } }';
const ME = '{ me { id username email roles reviews(first: 3) { edges { node { rating product { name } } } } } }';

/** A token as accounts issues it for grace (staff), with another secret or lifetime when asked. */
const graceToken = ({ secret = TEST_JWT_SECRET, expiresAt = '5m' as string | number } = {}) =>
  new SignJWT({ username: 'grace', roles: ['staff'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(seedId('user', 'grace'))
    .setIssuer('tessera')
    .setAudience('tessera')
    .setIssuedAt(typeof expiresAt === 'number' ? expiresAt - 600 : undefined)
    .setExpirationTime(expiresAt)
    .sign(new TextEncoder().encode(secret));

describe('behind another router (SUBGRAPH_TRUST=bearer)', () => {
  let supergraph: TestSupergraph;
  let hive: ReturnType<HiveGatewayModule['createGatewayRuntime']>;
  let hiveServer: Server;
  let hiveUrl: string;
  // Hive's loggers, made per request, throw on LOG_LEVEL values they do not know (Tessera's `silent`, `fatal`);
  // Tessera's test logger has read it already.
  const logLevel = process.env.LOG_LEVEL;

  beforeAll(async () => {
    delete process.env.LOG_LEVEL;
    supergraph = await startTestSupergraph({ trust: 'bearer' });
    // The shop's supergraph as `npm run compose` writes it, routed to the running test subgraphs.
    const composition = await composeSupergraph(subgraphs, new Map(Object.values(supergraph.subgraphs).map((s) => [s.name, s.url])));
    if (!composition.supergraphSdl) throw new Error(composition.errors.join('\n'));
    const { createGatewayRuntime } = (await import(HIVE_GATEWAY)) as HiveGatewayModule;
    hive = createGatewayRuntime({
      supergraph: composition.supergraphSdl,
      logging: false,
      // The one thing a foreign router must do for Tessera: forward the client's token.
      propagateHeaders: { fromClientToSubgraphs: ({ request }) => ({ authorization: request.headers.get('authorization') }) },
    });
    const listening = await listen(hive, '127.0.0.1', 0);
    hiveServer = listening.server;
    hiveUrl = `${listening.url}/graphql`;
  });
  afterAll(async () => {
    if (hiveServer) await closeServer(hiveServer);
    await hive?.dispose();
    await supergraph?.stop();
    if (logLevel !== undefined) process.env.LOG_LEVEL = logLevel;
  });

  it("answers graphql-http's GraphQL over HTTP audit at a subgraph as Tessera's gateway does (every MUST)", async () => {
    expect(await auditShortfalls(supergraph.subgraphs.catalog!.url)).toEqual(APOLLO_SERVER_CHOICES);
  });

  it("serves the README's shop query as Tessera's gateway does", async () => {
    const tessera = await supergraph.query(SHOP_QUERY);
    const viaHive = await postGraphQL(hiveUrl, SHOP_QUERY);
    expect(tessera.errors).toBeUndefined();
    expect(viaHive.errors).toBeUndefined();
    expect(viaHive.data?.topProducts).toHaveLength(3);
    expect(viaHive.data).toEqual(tessera.data);
  });

  it('serves `me` for the token the client signed in with, as Tessera does; anonymous `me` is null', async () => {
    const ada = await supergraph.loginAs('ada');
    const tessera = await supergraph.query(ME, {}, ada);
    const viaHive = await postGraphQL(hiveUrl, ME, {}, ada);
    expect(viaHive.errors).toBeUndefined();
    expect(viaHive.data).toEqual(tessera.data);
    expect(viaHive.data?.me).toMatchObject({ username: 'ada', email: 'ada@example.com', roles: ['admin'] });
    expect((await postGraphQL(hiveUrl, '{ me { id } }')).data).toEqual({ me: null });
  });

  it('derives the scopes from the roles as the gateway does: a staff mutation through Hive Gateway writes', async () => {
    const grace = await supergraph.loginAs('grace');
    const product = seedId('product', '300000000003');
    const adjust = `mutation($id: ID!) { adjustStock(productId: $id, delta: -1) { quantity } }`;
    const viaHive = await postGraphQL(hiveUrl, adjust, { id: product }, grace);
    expect(viaHive.errors).toBeUndefined();
    expect(viaHive.data?.adjustStock.quantity).toEqual(expect.any(Number));
    // A customer lacks inventory:write: refused by the subgraph itself, at the field.
    const alan = await postGraphQL(hiveUrl, adjust, { id: product }, await supergraph.loginAs('alan'));
    expect(alan.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('a forged token through Hive Gateway gets nothing', async () => {
    const forged = await postGraphQL(
      hiveUrl,
      ME,
      {},
      { authorization: `Bearer ${await graceToken({ secret: 'another-secret-0123456789abcdef-0123456789' })}` },
    );
    // Hive Gateway passes on the subgraph's refusal, as Tessera's gateway would give it.
    expect(forged.data?.me ?? null).toBeNull();
    expect(forged.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'signature', serviceName: 'accounts' });
  });

  describe('a bearer-mode subgraph asked directly', () => {
    const accounts = () => supergraph.subgraphs.accounts!;
    const ask = (subgraph: TestSubgraph, query: string, headers: Parameters<typeof postGraphQL>[3] = {}) =>
      postGraphQL(subgraph.url, query, {}, headers);

    it('answers composition (`_service { sdl }`) and anonymous reads without any credential', async () => {
      const sdl = await ask(supergraph.subgraphs.catalog!, '{ _service { sdl } }');
      expect(sdl.status).toBe(200);
      expect(sdl.data?._service.sdl).toContain('topProducts');
      expect((await ask(accounts(), '{ me { id } }')).data).toEqual({ me: null });
    });

    it('takes a valid bearer token, and a valid gateway signature too', async () => {
      const token = await ask(accounts(), '{ me { username roles } }', { authorization: `Bearer ${await graceToken()}` });
      expect(token.data).toEqual({ me: { username: 'grace', roles: ['staff'] } });
      const signed = await ask(
        accounts(),
        '{ me { username } }',
        signedAs({ userId: seedId('user', 'grace'), username: 'grace', roles: ['staff'], scopes: [] }),
      );
      expect(signed.data).toEqual({ me: { username: 'grace' } });
    });

    it('refuses a forged, an expired or a malformed token, and a bad signature, with 401 UNAUTHENTICATED', async () => {
      const refusals = [
        [{ authorization: `Bearer ${await graceToken({ secret: 'another-secret-0123456789abcdef-0123456789' })}` }, 'signature'],
        [{ authorization: `Bearer ${await graceToken({ expiresAt: Math.floor(Date.now() / 1000) - 3600 })}` }, 'expired'],
        [{ authorization: 'Basic Z3JhY2U6cGFzc3dvcmQ=' }, 'malformed'],
      ] as const;
      for (const [headers, reason] of refusals) {
        const refused = await ask(accounts(), '{ me { id } }', headers);
        expect({ status: refused.status, data: refused.data ?? null, extensions: refused.errors?.[0]?.extensions }).toEqual({
          status: 401,
          data: null,
          extensions: expect.objectContaining({ code: 'UNAUTHENTICATED', reason }),
        });
      }
      // Signed with another secret: a signature present is checked, never skipped for the token path.
      const badSignature = await ask(accounts(), '{ me { id } }', (body) => ({
        ...signedAs(null)(body),
        'x-tessera-signature': 'f'.repeat(64),
        authorization: `Bearer ${'x'}`,
      }));
      expect(badSignature.status).toBe(401);
      expect(badSignature.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    });
  });

  describe('a subgraph in the default signature mode', () => {
    const signatureOnly = subgraphForSuite(catalog, { seed: false });

    it('refuses a valid bearer token and an anonymous request: only the gateway signature counts', async () => {
      for (const headers of [{ authorization: `Bearer ${await graceToken()}` }, {}] as Record<string, string>[]) {
        const refused = await postGraphQL(signatureOnly.url, '{ _service { sdl } }', {}, headers);
        expect(refused.status).toBe(401);
        expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      }
    });
  });
});
