import type { CacheTags } from '../shared/cache-tags/cache-tags.js';
import type { Identity } from '../shared/identity/identity.js';

/**
 * The GraphQL data of one gateway request, built by Apollo Server's context function. What
 * belongs to the HTTP request (its id, logger, deadline, the client's address) is in its
 * request scope (shared/http/request-scope.ts).
 */
export interface GatewayContext {
  /** The verified caller, or null for an anonymous request. */
  user: Identity | null;
  /** What the subgraphs reported this request read and changed (for the response cache). */
  cacheTags: CacheTags;
  /** Subgraphs that answered this request without a cache tag report (not built on Tessera). */
  untaggedSubgraphs: Set<string>;
}
