import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Identity } from './context.js';
import { UnauthenticatedError } from './errors.js';
import { REQUEST_ID_HEADER } from './http.js';

/**
 * How the gateway tells subgraphs who is calling. The gateway alone verifies tokens; it
 * passes the identity it established in a header signed with HMAC-SHA256 over the
 * identity, the time and the request id. Subgraphs accept only what verifies with the
 * shared secret and is recent, so a direct call to a subgraph, a forged identity or an old
 * captured request gets nothing.
 */
export const IDENTITY_HEADER = 'x-tessera-identity';
export const SIGNATURE_HEADER = 'x-tessera-signature';

interface SignedPayload {
  /** The caller, or null for an anonymous request. */
  user: Identity | null;
  requestId: string;
  /** Milliseconds since the epoch, when signed. */
  ts: number;
}

function sign(secret: string, payload: string): string {
  return createHmac('sha256', secret).update(payload).digest('base64url');
}

/** Headers to attach to a subgraph request. */
export function signIdentity(secret: string, user: Identity | null, requestId: string, now = Date.now()): Record<string, string> {
  const payload = Buffer.from(JSON.stringify({ user, requestId, ts: now } satisfies SignedPayload)).toString('base64url');
  return { [IDENTITY_HEADER]: payload, [SIGNATURE_HEADER]: sign(secret, payload) };
}

/** All a subgraph request needs to be accepted: its request id and the identity signed under it. */
export function signedRequestHeaders(secret: string, user: Identity | null = null, requestId: string = randomUUID()): Record<string, string> {
  return { [REQUEST_ID_HEADER]: requestId, ...signIdentity(secret, user, requestId) };
}

export interface VerifyOptions {
  /** How old (or how far in the future, for clock skew) a signature may be. */
  maxAgeMs: number;
  now?: number;
}

function isIdentity(value: unknown): value is Identity {
  const v = value as Identity;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.userId === 'string' &&
    typeof v.username === 'string' &&
    Array.isArray(v.roles) &&
    v.roles.every((r) => typeof r === 'string') &&
    Array.isArray(v.scopes) &&
    v.scopes.every((s) => typeof s === 'string')
  );
}

/** The identity a subgraph request carries; throws UNAUTHENTICATED for anything not signed, tampered or stale. */
export function verifyIdentity(
  secret: string,
  headers: { identity?: string; signature?: string; requestId?: string },
  { maxAgeMs, now = Date.now() }: VerifyOptions,
): Identity | null {
  const { identity, signature } = headers;
  if (!identity || !signature) throw new UnauthenticatedError('This subgraph only answers requests signed by the gateway.');
  const expected = Buffer.from(sign(secret, identity));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    throw new UnauthenticatedError('The gateway signature of this request does not verify.');
  }
  let payload: SignedPayload;
  try {
    payload = JSON.parse(Buffer.from(identity, 'base64url').toString('utf8')) as SignedPayload;
  } catch {
    throw new UnauthenticatedError('The signed identity of this request is malformed.');
  }
  if (typeof payload.ts !== 'number' || Math.abs(now - payload.ts) > maxAgeMs) {
    throw new UnauthenticatedError('The gateway signature of this request has expired.');
  }
  // The request id is signed, so a signed identity cannot be replayed under another request's id.
  if (headers.requestId !== undefined && payload.requestId !== headers.requestId) {
    throw new UnauthenticatedError('The signed identity belongs to another request.');
  }
  if (payload.user !== null && !isIdentity(payload.user)) {
    throw new UnauthenticatedError('The signed identity of this request is malformed.');
  }
  return payload.user;
}
