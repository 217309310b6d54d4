import { createClient, type Client } from 'graphql-ws';
import type { GraphQLFormattedError } from 'graphql';
import { SubgraphUnavailableError } from '../../shared/errors/errors.js';
import type { Identity } from '../../shared/identity/identity.js';
import { signedRequestHeaders } from '../../shared/identity/signed-requests.js';

/** One event of a subgraph's subscription, as it sent it. */
export interface SubgraphEvent {
  data?: Record<string, unknown> | null;
  errors?: readonly GraphQLFormattedError[];
}

export interface SubgraphSubscriptionSink {
  next(event: SubgraphEvent): void;
  /** The subscription ended: completed by the subgraph (no errors), refused by it, or lost (`SUBGRAPH_UNAVAILABLE`). */
  end(errors?: readonly GraphQLFormattedError[]): void;
}

export interface SubgraphSubscriptionOptions {
  subgraph: string;
  /** The subgraph's GraphQL endpoint over HTTP; its WebSocket is the same URL with `ws:`. */
  url: string;
  signingSecret: string;
  query: string;
  variables: Record<string, unknown>;
  user: Identity | null;
  requestId: string;
  /** How often the connection is pinged, so a subgraph that went away is noticed. */
  keepAliveMs: number;
}

/**
 * One client subscription's operation on a subgraph, over `graphql-transport-ws`: a connection
 * of its own, whose `connection_init` carries the gateway's signed identity for exactly this
 * operation (the signature covers `{ query, variables }` as sent in `subscribe`), so the
 * subgraph checks the caller at connection and again at the operation. Returns the unsubscribe.
 */
export function subscribeToSubgraph(options: SubgraphSubscriptionOptions, sink: SubgraphSubscriptionSink): () => void {
  const { subgraph, url, signingSecret, query, variables, user, requestId, keepAliveMs } = options;
  const payload = { query, variables };
  const client: Client = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: signedRequestHeaders(signingSecret, JSON.stringify(payload), user, requestId),
    lazy: true,
    retryAttempts: 0,
    keepAlive: keepAliveMs,
    shouldRetry: () => false,
  });
  let ended = false;
  const end = (errors?: readonly GraphQLFormattedError[]) => {
    if (ended) return;
    ended = true;
    sink.end(errors);
    void client.dispose();
  };
  const unsubscribe = client.subscribe<Record<string, unknown>>(payload, {
    next: (result) => {
      if (!ended) sink.next(result as SubgraphEvent);
    },
    complete: () => end(),
    error: (error: unknown) => {
      // The subgraph refused the operation with GraphQL errors, or the connection failed or closed.
      if (Array.isArray(error)) end(error as GraphQLFormattedError[]);
      else end([new SubgraphUnavailableError(subgraph).toJSON()]);
    },
  });
  return () => {
    ended = true;
    unsubscribe();
    void client.dispose();
  };
}
