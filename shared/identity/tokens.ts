import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import { scopesOf } from './roles.js';
import type { JwtConfig } from '../config/config.js';
import { requestScope } from '../http/request-scope.js';
import type { Identity } from './identity.js';
import { ErrorCode, TesseraError } from '../errors/errors.js';

/**
 * Why a token was refused; reported in `extensions.reason` and counted by operators. The
 * last two are a valid token whose user was disabled or deleted (gateway/auth/caller-check.ts).
 */
type RefusalReason =
  | 'malformed'
  | 'algorithm'
  | 'signature'
  | 'expired'
  | 'not_yet_valid'
  | 'issued_in_future'
  | 'issuer'
  | 'audience'
  | 'claims'
  | 'keys_unavailable'
  | 'user_disabled'
  | 'user_not_found';

export class TokenRefusedError extends TesseraError {
  constructor(
    message: string,
    readonly reason: RefusalReason,
  ) {
    // A refused token fails the whole request with 401, before anything executes.
    super(message, ErrorCode.UNAUTHENTICATED, {
      extensions: { reason },
      refusesRequest: true,
      headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
    });
  }
}

export interface TokenVerifier {
  /** The identity a bearer token proves; throws TokenRefusedError otherwise. */
  verify(token: string): Promise<Identity>;
}

export interface VerifierOptions {
  /** How soon the JWKS may be fetched again for an unknown key id (jose's cooldown). Default 30 s. */
  jwksCooldownMs?: number;
}

/** Roles and scopes from Tessera's own claims, or a Keycloak-style `realm_access.roles`. */
function identityOf(payload: JWTPayload): Identity {
  const claims = payload as JWTPayload & {
    username?: unknown;
    preferred_username?: unknown;
    roles?: unknown;
    scope?: unknown;
    realm_access?: { roles?: unknown };
  };
  const rolesClaim = Array.isArray(claims.roles)
    ? claims.roles
    : Array.isArray(claims.realm_access?.roles)
      ? claims.realm_access.roles
      : [];
  const roles = rolesClaim.filter((role): role is string => typeof role === 'string');
  const granted = typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [];
  const username =
    typeof claims.username === 'string'
      ? claims.username
      : typeof claims.preferred_username === 'string'
        ? claims.preferred_username
        : claims.sub!;
  return { userId: claims.sub!, username, roles, scopes: [...new Set([...granted, ...scopesOf(roles)])].sort() };
}

function refusalOf(error: unknown): TokenRefusedError {
  if (error instanceof TokenRefusedError) return error;
  if (error instanceof errors.JWTExpired) return new TokenRefusedError('The access token has expired; refresh it.', 'expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return new TokenRefusedError('The access token was issued by someone this API does not trust.', 'issuer');
    if (error.claim === 'aud') return new TokenRefusedError('The access token is meant for another audience.', 'audience');
    if (error.claim === 'nbf') return new TokenRefusedError('The access token is not valid yet.', 'not_yet_valid');
    return new TokenRefusedError(`The access token's ${error.claim} claim is invalid.`, 'claims');
  }
  if (error instanceof errors.JOSEAlgNotAllowed)
    return new TokenRefusedError('The access token is signed with an algorithm this API does not accept.', 'algorithm');
  if (error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JWKSNoMatchingKey) {
    return new TokenRefusedError('The access token signature does not verify.', 'signature');
  }
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) {
    return new TokenRefusedError('The keys to verify the access token cannot be fetched right now.', 'keys_unavailable');
  }
  return new TokenRefusedError('The access token is malformed.', 'malformed');
}

/**
 * Verifies access tokens with jose: HS256 with the shared secret (tokens Tessera's accounts
 * issues), and/or RS256/ES256 with keys from a JWKS (an OIDC provider), refetched when a
 * token names a key id not seen yet, so a key rotation needs no restart. Each key accepts
 * only its own algorithms, which rules out `alg: none` and algorithm confusion (an RSA
 * public key used as an HMAC secret).
 */
export function createTokenVerifier(jwt: JwtConfig, { jwksCooldownMs = 30_000 }: VerifierOptions = {}): TokenVerifier {
  const hmacAlgorithms = jwt.algorithms.filter((alg) => alg.startsWith('HS'));
  const keyAlgorithms = jwt.algorithms.filter((alg) => !alg.startsWith('HS'));
  const secret = jwt.secret && hmacAlgorithms.length ? new TextEncoder().encode(jwt.secret) : undefined;
  const jwks =
    jwt.jwksUrl && keyAlgorithms.length ? createRemoteJWKSet(new URL(jwt.jwksUrl), { cooldownDuration: jwksCooldownMs }) : undefined;
  const options = { issuer: jwt.issuer, audience: jwt.audience, clockTolerance: jwt.clockSkewSeconds, requiredClaims: ['sub', 'exp'] };

  /**
   * jose checks `iat` only against a `maxTokenAge`, which would also make `iat` required; a
   * token issued in the future (a skewed or compromised issuer minting tokens ahead of time,
   * whose `exp` then lasts longer than intended) is refused here, with the same skew as `exp`.
   */
  const issuedInThePast = (payload: JWTPayload): JWTPayload => {
    if (payload.iat !== undefined && payload.iat > Date.now() / 1000 + jwt.clockSkewSeconds) {
      throw new TokenRefusedError("The access token claims to be issued in the future; check the issuer's clock.", 'issued_in_future');
    }
    return payload;
  };

  return {
    async verify(token) {
      try {
        const { alg } = decodeProtectedHeader(token);
        if (secret && alg && hmacAlgorithms.includes(alg)) {
          return identityOf(issuedInThePast((await jwtVerify(token, secret, { ...options, algorithms: hmacAlgorithms })).payload));
        }
        if (jwks && alg && keyAlgorithms.includes(alg)) {
          return identityOf(issuedInThePast((await jwtVerify(token, jwks, { ...options, algorithms: keyAlgorithms })).payload));
        }
        throw new TokenRefusedError('The access token is signed with an algorithm this API does not accept.', 'algorithm');
      } catch (error) {
        throw refusalOf(error);
      }
    },
  };
}

/** The caller of a gateway request: null without an Authorization header; refused when it does not verify. */
/** `authenticate`, once per request: the verdict is kept in the request scope (a refusal too). */
export function authenticatedCaller(authorization: string | undefined, verifier: TokenVerifier): Promise<Identity | null> {
  const scope = requestScope();
  return (scope.caller ??= authenticate(authorization, verifier));
}

export async function authenticate(authorization: string | undefined, verifier: TokenVerifier): Promise<Identity | null> {
  if (!authorization) return null;
  const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
  if (!match) throw new TokenRefusedError('The Authorization header must be "Bearer <access token>".', 'malformed');
  return verifier.verify(match[1]!);
}
