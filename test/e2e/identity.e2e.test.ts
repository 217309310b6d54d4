import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SignJWT, UnsecuredJWT, type JWTPayload } from 'jose';
import { signedRequestHeaders } from '../../shared/identity/signed-requests.js';
import { seedId } from '../../shared/store/seed.js';
import { RefreshToken } from '../../subgraphs/accounts/entities/refresh-token.entity.js';
import { User } from '../../subgraphs/accounts/entities/user.entity.js';
import { Product } from '../../subgraphs/catalog/entities/product.entity.js';
import { Stock } from '../../subgraphs/inventory/entities/stock.entity.js';
import { Review } from '../../subgraphs/reviews/entities/review.entity.js';
import { TEST_JWT_SECRET, TEST_SIGNING_SECRET, testIdentity } from '../support/config.js';
import { postBody, postGraphQL, signedAs } from '../support/subgraph.js';
import { supergraphForSuite } from '../support/supergraph.js';

const AUTH_FIELDS = 'accessToken refreshToken tokenType expiresIn user { id username email roles }';
const ADJUST = `mutation($id: ID!) { adjustStock(productId: $id, delta: -1) { quantity } }`;
const stockedProduct = seedId('product', '300000000003'); // 120 on hand

/** A token as accounts would issue it, with any claim overridden. */
function token(claims: JWTPayload & Record<string, unknown> = {}, { secret = TEST_JWT_SECRET, expiresIn = '5m' } = {}) {
  return new SignJWT({
    username: 'grace',
    roles: ['staff'],
    scope: 'catalog:write inventory:write reviews:moderate reviews:write',
    ...claims,
  })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(seedId('user', 'grace'))
    .setIssuer((claims.iss as string) ?? 'tessera')
    .setAudience((claims.aud as string) ?? 'tessera')
    .setIssuedAt(claims.iat)
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret));
}

const bearer = (value: string) => ({ authorization: `Bearer ${value}` });

/** An HTTP proxy to `target` that records each request: its body and headers as they arrived. */
async function recordingProxy(target: string) {
  const sent: { headers: Record<string, string>; body: string }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      // Without the headers of the hop (they belong to this connection, not to the request).
      const {
        host: _host,
        connection: _connection,
        'content-length': _length,
        ...forwarded
      } = Object.fromEntries(Object.entries(req.headers).map(([name, value]) => [name, String(value)]));
      sent.push({ headers: forwarded, body });
      const answer = await fetch(target, { method: 'POST', headers: forwarded, body });
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
      res.end(await answer.text());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    sent,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('identity at the edge', () => {
  const supergraph = supergraphForSuite();

  const stockOf = async (productId: string) =>
    (await supergraph.subgraphs.inventory!.orm.em.fork().findOne(Stock, { productId }))?.quantity;

  describe('accounts', () => {
    it('registers, logs in, uses the token, refreshes, detects reuse of a spent refresh token, logs out', async () => {
      const registered = await supergraph.query(
        `mutation { register(email: "Linus@Example.com", password: "a long passphrase", name: "Linus") { ${AUTH_FIELDS} } }`,
      );
      expect(registered.errors).toBeUndefined();
      expect(registered.data?.register).toMatchObject({
        tokenType: 'Bearer',
        expiresIn: 900,
        user: { username: 'linus', email: 'linus@example.com', roles: ['customer'] },
      });

      const login = await supergraph.query(
        `mutation { login(email: "LINUS@example.com", password: "a long passphrase") { ${AUTH_FIELDS} } }`,
      );
      expect(login.errors).toBeUndefined();
      const { accessToken, refreshToken } = login.data!.login;

      const me = await supergraph.query(`{ me { username email } }`, {}, bearer(accessToken));
      expect(me.data).toEqual({ me: { username: 'linus', email: 'linus@example.com' } });

      const refreshed = await supergraph.query(`mutation($t: String!) { refresh(refreshToken: $t) { accessToken refreshToken } }`, {
        t: refreshToken,
      });
      expect(refreshed.errors).toBeUndefined();
      const next = refreshed.data?.refresh;
      expect(next.refreshToken).not.toBe(refreshToken);
      expect((await supergraph.query(`{ me { username } }`, {}, bearer(next.accessToken))).data).toEqual({ me: { username: 'linus' } });

      // The spent token again: someone has a copy. The whole family goes, including the newest token.
      const reused = await supergraph.query(`mutation($t: String!) { refresh(refreshToken: $t) { accessToken } }`, { t: refreshToken });
      expect(reused.errors?.[0]).toMatchObject({ extensions: { code: 'UNAUTHENTICATED' }, message: expect.stringMatching(/already used/) });
      const afterReuse = await supergraph.query(`mutation($t: String!) { refresh(refreshToken: $t) { accessToken } }`, {
        t: next.refreshToken,
      });
      expect(afterReuse.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

      // A fresh login, then logout: its refresh token stops working.
      const again = (
        await supergraph.query(`mutation { login(email: "linus@example.com", password: "a long passphrase") { accessToken refreshToken } }`)
      ).data?.login;
      const logout = await supergraph.query(`mutation { logout }`, {}, bearer(again.accessToken));
      expect(logout.data).toEqual({ logout: true });
      const afterLogout = await supergraph.query(`mutation($t: String!) { refresh(refreshToken: $t) { accessToken } }`, {
        t: again.refreshToken,
      });
      expect(afterLogout.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    });

    it('stores only a scrypt hash and hashed refresh tokens, and returns neither', async () => {
      const em = supergraph.subgraphs.accounts!.orm.em.fork();
      const linus = await em.findOneOrFail(User, { email: 'linus@example.com' });
      expect(linus.passwordHash).toMatch(/^scrypt\$32768\$8\$1\$/);
      expect(linus.passwordHash).not.toContain('a long passphrase');
      const tokens = await em.find(RefreshToken, { userId: linus.id });
      expect(tokens.length).toBeGreaterThan(0);
      for (const t of tokens) expect(t.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    });

    it('refuses a second account for the same email in another case, a short password, and wrong credentials', async () => {
      const duplicate = await supergraph.query(
        `mutation { register(email: "ADA@example.com", password: "another passphrase", name: "Ada 2") { accessToken } }`,
      );
      expect(duplicate.errors?.[0]?.extensions?.code).toBe('CONFLICT');
      const short = await supergraph.query(`mutation { register(email: "x@example.com", password: "short", name: "X") { accessToken } }`);
      expect(short.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'password' }] });
      for (const [email, password] of [
        ['ada@example.com', 'wrong password'],
        ['nobody@example.com', 'tessera-demo-password'],
      ]) {
        const { errors } = await supergraph.query(`mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`, {
          e: email,
          p: password,
        });
        expect(errors?.[0]).toMatchObject({ message: 'The email or the password is wrong.', extensions: { code: 'UNAUTHENTICATED' } });
      }
    });
  });

  describe('refused tokens: 401, UNAUTHENTICATED, nothing executed', () => {
    const forged = async () => {
      const valid = await token();
      const [header, payload, signature] = valid.split('.');
      const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
      const tampered = Buffer.from(JSON.stringify({ ...claims, roles: ['admin'], scope: 'audit:read accounts:admin' })).toString(
        'base64url',
      );
      return `${header}.${tampered}.${signature}`;
    };
    const cases: [string, () => Promise<string>, string][] = [
      ['an expired token', () => token({ exp: Math.floor(Date.now() / 1000) - 120 }, { expiresIn: '-2m' }), 'expired'],
      ['a token signed with another secret', () => token({}, { secret: 'someone-elses-secret-0123456789abcdefgh' }), 'signature'],
      [
        'alg: none',
        async () =>
          new UnsecuredJWT({ sub: seedId('user', 'grace'), roles: ['staff'] })
            .setIssuer('tessera')
            .setAudience('tessera')
            .setExpirationTime('5m')
            .encode(),
        'algorithm',
      ],
      ['another issuer', () => token({ iss: 'https://evil.example' }), 'issuer'],
      ['another audience', () => token({ aud: 'another-api' }), 'audience'],
      ['a tampered payload', forged, 'signature'],
      ['garbage', async () => 'not.a.jwt', 'malformed'],
      [
        'a token issued an hour from now (beyond the 30 s clock skew)',
        () => token({ iat: Math.floor(Date.now() / 1000) + 3600 }, { expiresIn: '2h' }),
        'issued_in_future',
      ],
    ];

    it.each(cases)('%s', async (_name, make, reason) => {
      const before = await stockOf(stockedProduct);
      supergraph.resetSql();
      const response = await supergraph.query(ADJUST, { id: stockedProduct }, bearer(await make()));
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(response.data).toBeUndefined();
      expect(response.errors).toHaveLength(1);
      expect(response.errors![0]!.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason });
      expect(supergraph.sqlCount()).toBe(0);
      expect(await stockOf(stockedProduct)).toBe(before);
    });

    it('a token issued 10 s from now, within the clock skew, goes through', async () => {
      const { data, errors } = await supergraph.query(
        `{ me { username } }`,
        {},
        bearer(await token({ iat: Math.floor(Date.now() / 1000) + 10 })),
      );
      expect(errors).toBeUndefined();
      expect(data).toEqual({ me: { username: 'grace' } });
    });

    it('a valid staff token goes through (the cases above fail for their reason alone)', async () => {
      const before = await stockOf(stockedProduct);
      const { errors, data } = await supergraph.query(ADJUST, { id: stockedProduct }, bearer(await token()));
      expect(errors).toBeUndefined();
      expect(data?.adjustStock.quantity).toBe(before! - 1);
    });

    it('a malformed Authorization header', async () => {
      const response = await supergraph.query(`{ me { id } }`, {}, { authorization: 'Basic dXNlcjpwYXNz' });
      expect(response.status).toBe(401);
      expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'malformed' });
    });
  });

  describe('subgraphs trust only what the gateway signed', () => {
    const body = JSON.stringify({ query: ADJUST, variables: { id: stockedProduct } });
    const grace = testIdentity('grace', 'staff');
    const signed = (options: { secret?: string; requestId?: string; now?: number; over?: string } = {}) =>
      signedRequestHeaders(options.secret ?? TEST_SIGNING_SECRET, options.over ?? body, grace, options.requestId, options.now);
    const direct = (headers: Record<string, string>) => postBody(supergraph.subgraphs.inventory!.url, body, headers);

    it.each([
      ['no signature', () => ({})],
      ['a forged signature', () => ({ ...signed(), 'x-tessera-signature': 'AAAA' })],
      ['a signature made with another secret', () => signed({ secret: 'not-the-shared-secret-0123456789abcdef' })],
      ['a signature replayed outside its window', () => signed({ now: Date.now() - 5 * 60_000 })],
      ['a signature replayed under another request id', () => ({ ...signed({ requestId: 'r4' }), 'x-request-id': 'r5' })],
      [
        'a signature without its request id',
        () => Object.fromEntries(Object.entries(signed()).filter(([name]) => name !== 'x-request-id')),
      ],
      [
        'a signature of another body',
        () => signed({ over: JSON.stringify({ query: ADJUST, variables: { id: seedId('product', '100000000001') } }) }),
      ],
    ])('refuse %s', async (_name, headers) => {
      const before = await stockOf(stockedProduct);
      const response = await direct(headers());
      expect(response.status).toBe(401);
      expect(response.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(response.data).toBeUndefined();
      expect(await stockOf(stockedProduct)).toBe(before);
    });
  });

  describe('a request captured between the gateway and a subgraph', () => {
    const EVERY_EMAIL = JSON.stringify({ query: `{ users(first: 50) { edges { node { email } } } }` });

    /**
     * What the gateway sent to accounts (headers and body, as they went out) while `send` ran:
     * recorded by a proxy in front of accounts, which a gateway of its own is routed to.
     */
    let proxy: { url: string; sent: { headers: Record<string, string>; body: string }[]; close(): Promise<void> };
    let gatewayUrl: string;
    beforeAll(async () => {
      proxy = await recordingProxy(supergraph.subgraphs.accounts!.url);
      ({ url: gatewayUrl } = await supergraph.startGateway({ subgraphUrls: { accounts: proxy.url } }));
    });
    afterAll(() => proxy?.close());

    async function captured(send: () => Promise<unknown>): Promise<{ headers: Record<string, string>; body: string }> {
      proxy.sent.splice(0);
      await send();
      expect(proxy.sent).toHaveLength(1);
      // Nothing the gateway keeps for itself goes out.
      expect(Object.keys(proxy.sent[0]!.headers)).not.toContain('x-tessera-caller');
      return proxy.sent[0]!;
    }

    let asked = 0;
    /** An admin's request to accounts, through the gateway; aliased anew each time, so the response cache never answers it. */
    const asAdmin = async () => {
      const accounts = supergraph.subgraphs.accounts!.url;
      const admin = await supergraph.loginAs('ada');
      return { accounts, ...(await captured(() => postGraphQL(gatewayUrl, `{ me { name${++asked}: username } }`, {}, admin))) };
    };

    it("refuses an admin's signed headers with another body (every user's email)", async () => {
      const { accounts, headers } = await asAdmin();
      const tampered = await postBody(accounts, EVERY_EMAIL, headers);
      expect(JSON.stringify(tampered.data ?? null)).not.toContain('@example.com');
      expect(tampered.status).toBe(401);
      expect(tampered.errors?.[0]).toMatchObject({
        message: 'The request body is not the one the gateway signed.',
        extensions: { code: 'UNAUTHENTICATED' },
      });
    });

    it('refuses it replayed verbatim', async () => {
      const { accounts, headers, body } = await asAdmin();
      const replayed = await postBody(accounts, body, headers);
      expect(replayed.status).toBe(401);
      expect(replayed.errors?.[0]).toMatchObject({
        message: expect.stringMatching(/already served: a replay is refused/),
        extensions: { code: 'UNAUTHENTICATED' },
      });
      expect(replayed.data).toBeUndefined();
    });

    it('refuses it without its request id', async () => {
      const { accounts, headers, body } = await asAdmin();
      const { 'x-request-id': _omitted, ...withoutId } = headers;
      const response = await postBody(accounts, body, withoutId);
      expect(response.status).toBe(401);
      expect(response.errors?.[0]).toMatchObject({
        message: expect.stringMatching(/no x-request-id/),
        extensions: { code: 'UNAUTHENTICATED' },
      });
    });
  });

  describe('authorization declared in the schema', () => {
    it('refuses a customer a staff mutation with FORBIDDEN at its path, creating nothing', async () => {
      const customer = await supergraph.loginAs('alan');
      const { data, errors } = await supergraph.query(
        `mutation { createProduct(input: { upc: "888000000001", name: "Nope", price: { amount: 1, currency: "USD" }, weight: 1, categoryId: "${seedId('category', 'books')}" }) { id } }`,
        {},
        customer,
      );
      expect(data).toBeNull();
      expect(errors?.[0]).toMatchObject({ path: ['createProduct'], extensions: { code: 'FORBIDDEN' } });
      expect(await supergraph.subgraphs.catalog!.orm.em.fork().count(Product, { upc: '888000000001' })).toBe(0);
      const anonymous = await supergraph.query(ADJUST, { id: stockedProduct });
      expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    });

    it("refuses deleting another's review; staff may moderate any", async () => {
      const alan = await supergraph.loginAs('alan');
      const reviewOfAda = seedId('review', '1');
      const refused = await supergraph.query(`mutation($id: ID!) { deleteReview(id: $id) }`, { id: reviewOfAda }, alan);
      expect(refused.errors?.[0]).toMatchObject({ path: ['deleteReview'], extensions: { code: 'FORBIDDEN' } });
      expect(await supergraph.subgraphs.reviews!.orm.em.fork().count(Review, { id: reviewOfAda })).toBe(1);

      const grace = await supergraph.loginAs('grace');
      const moderated = await supergraph.query(`mutation($id: ID!) { deleteReview(id: $id) }`, { id: reviewOfAda }, grace);
      expect(moderated.data).toEqual({ deleteReview: reviewOfAda });
      expect(await supergraph.subgraphs.reviews!.orm.em.fork().count(Review, { id: reviewOfAda })).toBe(0);
    });

    it('adds a review as the signed-in user, with the username from the token', async () => {
      const edsger = await supergraph.loginAs('edsger');
      const { data, errors } = await supergraph.query(
        `mutation($p: ID!) { addReview(input: { productId: $p, body: "Elegant.", rating: 5 }) { rating author { username name } product { name } } }`,
        { p: seedId('product', '100000000004') },
        edsger,
      );
      expect(errors).toBeUndefined();
      expect(data?.addReview).toEqual({
        rating: 5,
        author: { username: 'edsger', name: 'Edsger Dijkstra' },
        product: { name: 'A Philosophy of Software Design' },
      });
    });

    it('shows email to its owner and admins only; others get FORBIDDEN at the field and the rest of the response', async () => {
      const query = `query($id: ID!) { user(id: $id) { username email } }`;
      const grace = { id: seedId('user', 'grace') };
      const asOther = await supergraph.query(query, grace, await supergraph.loginAs('alan'));
      expect(asOther.data).toEqual({ user: { username: 'grace', email: null } });
      expect(asOther.errors?.[0]).toMatchObject({ path: ['user', 'email'], extensions: { code: 'FORBIDDEN' } });
      const asAnonymous = await supergraph.query(query, grace);
      expect(asAnonymous.errors?.[0]).toMatchObject({ path: ['user', 'email'], extensions: { code: 'UNAUTHENTICATED' } });
      expect((await supergraph.query(query, grace, await supergraph.loginAs('grace'))).data).toEqual({
        user: { username: 'grace', email: 'grace@example.com' },
      });
      expect((await supergraph.query(query, grace, await supergraph.loginAs('ada'))).data).toEqual({
        user: { username: 'grace', email: 'grace@example.com' },
      });
    });

    it('guards email on the entity path too (a review author reached through reviews)', async () => {
      const { data, errors } = await supergraph.query(
        `{ review(id: "${seedId('review', '2')}") { author { username email } } }`,
        {},
        await supergraph.loginAs('alan'),
      );
      expect(data?.review.author).toEqual({ username: 'grace', email: null });
      expect(errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      // And straight at the subgraph's _entities, signed but anonymous.
      const direct = await postGraphQL(
        supergraph.subgraphs.accounts!.url,
        `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { email } } }`,
        { r: [{ __typename: 'User', id: seedId('user', 'grace') }] },
        signedAs(null),
      );
      expect(direct.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(JSON.stringify(direct.data)).not.toContain('grace@example.com');
    });

    it('records every mutation, refusals included, for admins to read', async () => {
      const admin = await supergraph.loginAs('ada');
      const { data, errors } = await supergraph.query(
        `{ catalogAuditLog(first: 20) { edges { node { operation outcome actorId entityType } } } reviewsAuditLog(first: 20) { totalCount } }`,
        {},
        admin,
      );
      expect(errors).toBeUndefined();
      const records = data?.catalogAuditLog.edges.map((e: { node: unknown }) => e.node);
      expect(records).toContainEqual({
        operation: 'createProduct',
        outcome: 'FORBIDDEN',
        actorId: seedId('user', 'alan'),
        entityType: 'Product',
      });
      expect(data?.reviewsAuditLog.totalCount).toBeGreaterThanOrEqual(3);
      const asCustomer = await supergraph.query(`{ catalogAuditLog(first: 1) { totalCount } }`, {}, await supergraph.loginAs('alan'));
      expect(asCustomer.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    });
  });
});
