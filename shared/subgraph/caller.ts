import type { Request } from 'express';
import type { SubgraphConfig } from '../config/subgraph-config.js';
import { ErrorCode, TesseraError } from '../errors/errors.js';
import { REQUEST_ID_HEADER } from '../http/http.js';
import type { RawBodyRequest } from '../http/json-body.js';
import type { Identity } from '../identity/identity.js';
import type { NonceStore } from '../identity/nonce-store.js';
import { IDENTITY_HEADER, SIGNATURE_HEADER, verifySignedRequest } from '../identity/signed-requests.js';
import { authenticate, createTokenVerifier } from '../identity/tokens.js';

export interface CallerCheckOptions {
  config: Pick<SubgraphConfig, 'signatureMaxAgeMs' | 'allowUnsignedRequests' | 'trust' | 'jwt'> & { signingSecret: string };
  /** Remembers the signed requests served, so that none is served twice. */
  nonces: NonceStore;
}

/**
 * Who calls the subgraph. A request carrying the gateway's signed identity is believed only
 * if the signature verifies. Without one, `SUBGRAPH_TRUST=bearer` takes the client's own
 * access token forwarded by another router (Apollo Router, Hive Gateway), verified as the
 * gateway verifies it, and no Authorization as anonymous, as at the gateway; otherwise
 * unsigned requests are refused unless the development switch allows them (then anonymous).
 */
export function createCallerCheck({ config, nonces }: CallerCheckOptions): (req: Request) => Promise<Identity | null> {
  const tokens = config.trust === 'bearer' ? createTokenVerifier(config.jwt) : undefined;
  return async (req) => {
    const identity = req.get(IDENTITY_HEADER);
    const signature = req.get(SIGNATURE_HEADER);
    // TokenRefusedError is already a 401 UNAUTHENTICATED, thrown before anything runs.
    if (tokens && !identity && !signature) return authenticate(req.get('authorization'), tokens);
    if (config.allowUnsignedRequests && !identity && !signature) return null;
    try {
      return await verifySignedRequest(
        config.signingSecret,
        { identity, signature, requestId: req.get(REQUEST_ID_HEADER), body: (req as RawBodyRequest).rawBody },
        { maxAgeMs: config.signatureMaxAgeMs, nonces },
      );
    } catch (error) {
      // Thrown from the context function, this refuses the whole request with 401 before anything runs.
      throw new TesseraError((error as Error).message, ErrorCode.UNAUTHENTICATED, { refusesRequest: true });
    }
  };
}
