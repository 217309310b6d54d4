import { createHmac, hash, randomUUID, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Identity } from './identity.js';
import { UnauthenticatedError } from '../errors/errors.js';
import { REQUEST_ID_HEADER } from '../http/http.js';
import type { NonceStore } from './nonce-store.js';

/**
 * How the gateway tells a subgraph who is calling and vouches for what it asks. The gateway
 * alone verifies tokens. On every subgraph request it sends `x-tessera-identity`, base64url
 * JSON of the caller, the request id, the time, a random nonce and the SHA-256 of the exact
 * body bytes sent, and `x-tessera-signature`, the HMAC-SHA256 of that header value with the
 * shared secret; so the HMAC covers all five together. A subgraph serves a request only when
 * the HMAC verifies, the raw body it received hashes to the signed hash, its `x-request-id`
 * header is the signed one, the time is within the window, and the nonce was not seen in it.
 * A captured header pair therefore cannot carry another body (another query, other
 * variables), another or no request id, be used once the window has passed, or be used twice.
 * Not covered: the method, the path and the other headers; a subgraph serves one endpoint
 * and takes nothing from the rest (`traceparent` only joins traces).
 *
 * An HMAC rather than a short-lived JWT: one key and one algorithm known to both sides, so
 * there is no header to negotiate (no `alg` to confuse), and checking it is a synchronous
 * microsecond on every subgraph request; a JWT's `iat`/`jti` would only restate `ts`/`nonce`.
 */
export const IDENTITY_HEADER = 'x-tessera-identity';
export const SIGNATURE_HEADER = 'x-tessera-signature';

/** A request body as sent, or as received: the signature covers these bytes exactly. */
type RequestBody = string | Uint8Array;

const identitySchema = z.object({
  userId: z.string(),
  username: z.string(),
  roles: z.array(z.string()),
  scopes: z.array(z.string()),
}) satisfies z.ZodType<Identity>;

const signedPayloadSchema = z.object({
  /** The caller, or null for an anonymous request. */
  user: identitySchema.nullable(),
  requestId: z.string(),
  /** Milliseconds since the epoch, when signed. */
  ts: z.number(),
  /** Random, once per request: what a subgraph remembers to refuse a replay. */
  nonce: z.string().min(1),
  /** base64url SHA-256 of the body bytes (UTF-8 for a string). */
  body: z.string(),
});

type SignedPayload = z.infer<typeof signedPayloadSchema>;

function hmac(secret: string, payload: string): string {
  return createHmac('sha256', secret).update(payload).digest('base64url');
}

function sha256(body: RequestBody): string {
  return hash('sha256', body, 'base64url');
}

/**
 * Everything a subgraph request needs to be accepted: its request id and the caller signed
 * together with that id, the time, a fresh nonce and the hash of `body`, which must be the
 * exact bytes then sent (sign after serializing, send that same string). Every caller of a
 * subgraph goes through this: the gateway's fetches, its readiness probes and composition.
 */
export function signedRequestHeaders(
  secret: string,
  body: RequestBody,
  user: Identity | null = null,
  requestId: string = randomUUID(),
  now = Date.now(),
): Record<string, string> {
  const signed: SignedPayload = { user, requestId, ts: now, nonce: randomUUID(), body: sha256(body) };
  const payload = Buffer.from(JSON.stringify(signed)).toString('base64url');
  return { [REQUEST_ID_HEADER]: requestId, [IDENTITY_HEADER]: payload, [SIGNATURE_HEADER]: hmac(secret, payload) };
}

/** What a subgraph received: the three headers and the raw body bytes (undefined: no body was read). */
export interface ReceivedRequest {
  identity?: string;
  signature?: string;
  requestId?: string;
  body: Uint8Array | undefined;
}

interface VerifyOptions {
  /** How far the signed time may be from this clock, either way (the other's clock may run ahead). */
  maxAgeMs: number;
  /** Nonces seen within the window; a nonce claimed before is a replay. */
  nonces: NonceStore;
  now?: number;
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Whether `signature` is the HMAC of `identity` with the secret: the first check, before anything of the identity is read. */
export function verifySignature(secret: string, identity: string, signature: string): boolean {
  return sameText(hmac(secret, identity), signature);
}

/**
 * The identity a subgraph request carries; throws UNAUTHENTICATED for anything not signed,
 * tampered (headers or body), signed for another request id, stale or replayed. The nonce is
 * claimed last, so only a request that passed every other check uses its nonce up.
 */
export async function verifySignedRequest(
  secret: string,
  request: ReceivedRequest,
  { maxAgeMs, nonces, now = Date.now() }: VerifyOptions,
): Promise<Identity | null> {
  const { identity, signature } = request;
  if (!identity || !signature) throw new UnauthenticatedError('This subgraph only answers requests signed by the gateway.');
  if (!verifySignature(secret, identity, signature))
    throw new UnauthenticatedError('The gateway signature of this request does not verify.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(identity, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const { success, data: payload } = signedPayloadSchema.safeParse(parsed);
  // Signed with the right secret but not in this shape: a gateway of another version.
  if (!success) throw new UnauthenticatedError('The signed identity of this request is malformed (is the gateway of another version?).');
  if (Math.abs(now - payload.ts) > maxAgeMs) {
    throw new UnauthenticatedError(
      `The gateway signature of this request is more than ${maxAgeMs} ms away from this subgraph's clock: expired, or the clocks are apart.`,
    );
  }
  if (!request.requestId)
    throw new UnauthenticatedError('This request carries no x-request-id; a signed request must carry the id it was signed with.');
  if (payload.requestId !== request.requestId) throw new UnauthenticatedError('The signed identity belongs to another request id.');
  if (!request.body) throw new UnauthenticatedError('This subgraph only answers signed requests with a JSON body.');
  if (!sameText(sha256(request.body), payload.body)) throw new UnauthenticatedError('The request body is not the one the gateway signed.');
  // A signed time up to the window ahead is accepted until twice the window from now: keep the nonce that long.
  if (!(await nonces.claim(payload.nonce, 2 * maxAgeMs))) {
    throw new UnauthenticatedError('This signed request was already served: a replay is refused.');
  }
  return payload.user;
}
