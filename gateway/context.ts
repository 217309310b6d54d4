import type { CacheTags } from '../shared/cache-tags/cache-tags.js';
import type { Identity } from '../shared/identity/identity.js';
import type { Logger } from '../shared/observability/logger.js';

/** Per-request state of the gateway, built by the Express middleware for each request. */
export interface GatewayContext {
  requestId: string;
  logger: Logger;
  /** The verified caller, or null for an anonymous request. */
  user: Identity | null;
  /** What the subgraphs reported this request read and changed (for the response cache). */
  cacheTags: CacheTags;
  /** Subgraphs that answered this request without a cache tag report (not built on Tessera). */
  untaggedSubgraphs: Set<string>;
  /** The client's address (X-Forwarded-For is honoured only from trusted proxies). */
  clientIp: string;
  /** When the gateway gives up on this request (epoch ms): subgraph fetches stop by then. */
  deadline: number;
}
