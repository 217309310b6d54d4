export type SubscriptionTransport = 'graphql-ws' | 'sse' | 'multipart';

/** What the subscription transports report (gateway/observability/metrics.ts counts it). */
export interface SubscriptionObserver {
  connectionOpened(transport: SubscriptionTransport): void;
  connectionClosed(transport: SubscriptionTransport): void;
  subscriptionStarted(transport: SubscriptionTransport): void;
  subscriptionEnded(transport: SubscriptionTransport): void;
  eventDelivered(transport: SubscriptionTransport): void;
  eventsDropped(transport: SubscriptionTransport, count: number): void;
}
