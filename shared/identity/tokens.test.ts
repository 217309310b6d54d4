import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import type { JwtConfig } from '../config/config.js';
import { createTokenVerifier, TokenRefusedError, type TokenVerifier } from './tokens.js';

const SECRET = 'unit-test-jwt-secret-0123456789abcdef-0123';
const SKEW_S = 30;
const now = () => Math.floor(Date.now() / 1000);

const jwtConfig = (overrides: Partial<JwtConfig> = {}): JwtConfig => ({
  secret: SECRET,
  jwksUrl: undefined,
  issuer: 'tessera',
  audience: 'tessera',
  algorithms: ['HS256'],
  clockSkewSeconds: SKEW_S,
  accessTokenTtlSeconds: 900,
  refreshTokenTtlSeconds: 86_400,
  ...overrides,
});

/** A token valid in every respect but its `iat`, which is `issuedAt` seconds from now. */
function claims(issuedAt: number) {
  return new SignJWT({ username: 'grace', roles: ['staff'] })
    .setSubject('user-grace')
    .setIssuer('tessera')
    .setAudience('tessera')
    .setIssuedAt(now() + issuedAt)
    .setExpirationTime(now() + issuedAt + 900);
}

async function refusal(verifier: TokenVerifier, token: string): Promise<TokenRefusedError> {
  const error = await verifier.verify(token).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TokenRefusedError);
  return error as TokenRefusedError;
}

describe('tokens issued in the future are refused beyond the clock skew', () => {
  describe('HS256, with the shared secret', () => {
    const verifier = createTokenVerifier(jwtConfig());
    const hs256 = (issuedAt: number) => claims(issuedAt).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));

    it('refuses a token issued an hour from now', async () => {
      const error = await refusal(verifier, await hs256(3600));
      expect(error.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'issued_in_future' });
      expect(error.message).toMatch(/issued in the future/);
    });

    it('accepts one issued 10 s ahead, within the 30 s skew, and one issued now', async () => {
      await expect(verifier.verify(await hs256(10))).resolves.toMatchObject({ userId: 'user-grace', username: 'grace' });
      await expect(verifier.verify(await hs256(0))).resolves.toMatchObject({ userId: 'user-grace' });
    });

    it('refuses just past the skew', async () => {
      expect((await refusal(verifier, await hs256(SKEW_S + 5))).extensions.reason).toBe('issued_in_future');
    });
  });

  describe('RS256, with keys from a JWKS', () => {
    let server: Server;
    let privateKey: CryptoKey;
    let verifier: TokenVerifier;

    beforeAll(async () => {
      const pair = await generateKeyPair('RS256', { extractable: true });
      privateKey = pair.privateKey;
      const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
      server = createServer((_req, res) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ keys: [jwk] }));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
      verifier = createTokenVerifier(jwtConfig({ secret: undefined, jwksUrl, algorithms: ['RS256'] }));
    });
    afterAll(async () => {
      await new Promise((resolve) => server?.close(resolve));
    });

    const rs256 = (issuedAt: number) => claims(issuedAt).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).sign(privateKey);

    it('refuses a token issued an hour from now, accepts one 10 s ahead', async () => {
      expect((await refusal(verifier, await rs256(3600))).extensions).toMatchObject({
        code: 'UNAUTHENTICATED',
        reason: 'issued_in_future',
      });
      await expect(verifier.verify(await rs256(10))).resolves.toMatchObject({ userId: 'user-grace' });
    });
  });
});
