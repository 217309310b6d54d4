import type { GraphQLFormattedError } from 'graphql';
import type { GatewayContext } from '../context.js';

/** One operation sent to a subgraph: a plan's fetch, or one the gateway asks itself (the caller check). */
export interface SubgraphCall {
  query: string;
  operationName?: string;
  variables?: Record<string, unknown>;
}

/** What the subgraph answered: a GraphQL response, its extensions already taken in (cache tags). */
export interface SubgraphAnswer {
  data?: Record<string, unknown> | null;
  errors?: GraphQLFormattedError[];
  /** The subgraph's `Cache-Control` header as sent; undefined: it sent none. */
  cacheControl?: string;
}

/** Who asks, and where what the subgraph reports about the answer goes; absent outside a client request. */
export type SubgraphCaller = Partial<Pick<GatewayContext, 'user' | 'cacheTags' | 'untaggedSubgraphs'>>;

/**
 * TODO(helper): the undici Pool client. Throws a TesseraError (`SUBGRAPH_UNAVAILABLE`,
 * `GATEWAY_TIMEOUT`) when no GraphQL answer came.
 */
export interface SubgraphClient {
  readonly name: string;
  readonly url: string;
  call(call: SubgraphCall, caller: SubgraphCaller): Promise<SubgraphAnswer>;
  close(): Promise<void>;
}
