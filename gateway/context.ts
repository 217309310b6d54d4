import type { FormattedExecutionResult } from 'graphql';
import type { IncrementalPayload } from './executor/run-defer.js';
import type { SubscriptionTransport } from './subscriptions/observer.js';
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
  /**
   * Set by a subscription transport (gateway/subscriptions/): the executor leaves the stream of
   * an admitted subscription here, and the transport reads it once Apollo Server's pipeline
   * (authentication, limits, cost, rate limit) has run. Absent on plain HTTP requests.
   */
  subscription?: {
    transport: SubscriptionTransport;
    stream?: AsyncIterableIterator<FormattedExecutionResult>;
    /** The subgraph the stream's events come from. */
    subgraph?: string;
  };
  /**
   * Set by the incremental transport (gateway/incremental/) for a request with `@defer` whose
   * client accepts incremental delivery: the executor plans it with its Defer nodes and leaves
   * the stream of its parts here. Absent otherwise (the `@defer` is then ignored).
   */
  incremental?: {
    stream?: AsyncIterableIterator<IncrementalPayload>;
  };
}
