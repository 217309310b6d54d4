export type SubscriptionTransport = 'graphql-ws' | 'sse' | 'multipart';

/** The subgraph a subscription's events come from; a query or mutation sent over a subscription transport has none. */
export const NO_SUBGRAPH = 'none';

/** What the subscription transports report (gateway/observability/metrics.ts counts it). */
export interface SubscriptionObserver {
  connectionOpened(transport: SubscriptionTransport): void;
  connectionClosed(transport: SubscriptionTransport): void;
  subscriptionStarted(transport: SubscriptionTransport, subgraph: string): void;
  subscriptionEnded(transport: SubscriptionTransport, subgraph: string): void;
  eventDelivered(transport: SubscriptionTransport, subgraph: string): void;
  /** A subscriber fell behind: its subscription ended with `SLOW_CONSUMER`, these events never sent. */
  slowConsumer(transport: SubscriptionTransport, subgraph: string, droppedEvents: number): void;
}
