import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey, type JWK } from 'jose';
import { seedId } from '../../shared/store/seed.js';
import { startTestSupergraph, type TestSupergraph } from '../support/supergraph.js';

/** An OIDC provider's key set, served from this process, whose keys the test can rotate. */
class LocalJwks {
  keys: JWK[] = [];
  fetches = 0;
  private server?: Server;

  async start(): Promise<string> {
    this.server = createServer((_req, res) => {
      this.fetches++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: this.keys }));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/.well-known/jwks.json`;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

async function rsaKey(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return { kid, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

const ISSUER = 'https://idp.example/realms/shop';
const AUDIENCE = 'tessera-api';

function oidcToken(key: { kid: string; privateKey: CryptoKey }, claims: Record<string, unknown> = {}) {
  return new SignJWT({ preferred_username: 'ada', realm_access: { roles: ['admin'] }, ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid })
    .setSubject(seedId('user', 'ada'))
    .setIssuer((claims.iss as string | undefined) ?? ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(claims.iat as number | undefined)
    .setExpirationTime('5m')
    .sign(key.privateKey);
}

describe('tokens from an OIDC provider, verified against its JWKS', () => {
  const jwks = new LocalJwks();
  let supergraph: TestSupergraph;
  let first: Awaited<ReturnType<typeof rsaKey>>;
  let second: Awaited<ReturnType<typeof rsaKey>>;

  beforeAll(async () => {
    [first, second] = await Promise.all([rsaKey('key-1'), rsaKey('key-2')]);
    jwks.keys = [first.jwk];
    const jwksUrl = await jwks.start();
    supergraph = await startTestSupergraph({
      jwt: { secret: undefined, jwksUrl, issuer: ISSUER, audience: AUDIENCE, algorithms: ['RS256', 'ES256'] },
      verifierOptions: { jwksCooldownMs: 0 },
    });
  });
  afterAll(async () => {
    await supergraph?.stop();
    await jwks.stop();
  });

  const me = (token: string) => supergraph.query(`{ me { username email } }`, {}, { authorization: `Bearer ${token}` });

  it('accepts an RS256 token from the key set, with roles from realm_access', async () => {
    const { data, errors } = await me(await oidcToken(first));
    expect(errors).toBeUndefined();
    // ada is an admin by her token's roles; email is hers anyway.
    expect(data).toEqual({ me: { username: 'ada', email: 'ada@example.com' } });
    const audit = await supergraph.query(
      `{ catalogAuditLog(first: 1) { totalCount } }`,
      {},
      { authorization: `Bearer ${await oidcToken(first)}` },
    );
    expect(audit.errors).toBeUndefined();
  });

  it('picks up a rotated key without a restart, and stops accepting the retired one', async () => {
    jwks.keys = [second.jwk];
    const fetchesBefore = jwks.fetches;
    const { data, errors } = await me(await oidcToken(second));
    expect(errors).toBeUndefined();
    expect(data?.me.username).toBe('ada');
    expect(jwks.fetches).toBeGreaterThan(fetchesBefore);

    const retired = await me(await oidcToken(first));
    expect(retired.status).toBe(401);
    expect(retired.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'signature' });
  });

  it('refuses the public key used as an HMAC secret (algorithm confusion)', async () => {
    const publicPem = await exportSPKI(second.publicKey);
    const confused = await new SignJWT({ preferred_username: 'ada', realm_access: { roles: ['admin'] } })
      .setProtectedHeader({ alg: 'HS256', kid: second.kid })
      .setSubject(seedId('user', 'ada'))
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(publicPem));
    const response = await me(confused);
    expect(response.status).toBe(401);
    expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'algorithm' });
  });

  it('refuses a token issued an hour from now, beyond the clock skew', async () => {
    const ahead = await me(await oidcToken(second, { iat: Math.floor(Date.now() / 1000) + 3600 }));
    expect(ahead.status).toBe(401);
    expect(ahead.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'issued_in_future' });
  });

  it('refuses alg: none and tokens of another issuer', async () => {
    const none = new UnsecuredJWT({ preferred_username: 'ada' })
      .setSubject(seedId('user', 'ada'))
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('5m')
      .encode();
    expect((await me(none)).errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'algorithm' });
    expect((await me(await oidcToken(second, { iss: 'https://other.example' }))).errors?.[0]?.extensions).toMatchObject({
      reason: 'issuer',
    });
  });
});
