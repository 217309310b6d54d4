import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { scopesOf } from '../../shared/identity/roles.js';
import type { JwtConfig } from '../../shared/config/config.js';
import type { User } from './entities/user.entity.js';

export interface TokenIssuer {
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  /** A short-lived HS256 JWT the gateway verifies: subject, username, roles and scopes. */
  accessToken(user: User): Promise<string>;
}

/** Built once per process from the validated config: the accounts subgraph's only signing key. */
export function createTokenIssuer(jwt: JwtConfig): TokenIssuer {
  if (!jwt.secret) throw new Error('accounts needs JWT_SECRET to issue access tokens.');
  const key = new TextEncoder().encode(jwt.secret);
  return {
    accessTokenTtlSeconds: jwt.accessTokenTtlSeconds,
    refreshTokenTtlSeconds: jwt.refreshTokenTtlSeconds,
    accessToken: (user) =>
      new SignJWT({ username: user.username, roles: user.roles, scope: scopesOf(user.roles).join(' ') })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(user.id)
        .setIssuer(jwt.issuer)
        .setAudience(jwt.audience)
        .setIssuedAt()
        .setExpirationTime(`${jwt.accessTokenTtlSeconds}s`)
        .setJti(randomUUID())
        .sign(key),
  };
}

/** A new opaque refresh token (256 random bits). */
export function newRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
