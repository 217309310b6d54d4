import type { Registry } from 'prom-client';
import { boundedNames, metricsOn } from '../../shared/observability/metrics.js';
import type { ResponseCacheObserver } from '../response-cache/plugin.js';
import type { SubscriptionObserver } from '../subscriptions/observer.js';

/** Seconds: from a cached answer (milliseconds) to a slow federated query (tens of seconds). */
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The gateway's own metrics, registered on the registry it is given. The plugins and the
 * subgraph data sources each receive this object (or the part they feed) explicitly.
 */
export function createGatewayMetrics(registry: Registry) {
  const { counter, histogram, gauge } = metricsOn(registry);
  return {
    /** Client operation names as a bounded label (see `boundedNames`). */
    operationLabel: boundedNames(),
    operations: counter({
      name: 'tessera_gateway_operations_total',
      help: 'GraphQL operations answered, by operation name, type (query, mutation, unknown) and outcome (success, partial: data with errors, error: no data)',
      labelNames: ['operation', 'type', 'outcome'],
    }),
    requestDuration: histogram({
      name: 'tessera_gateway_request_duration_seconds',
      help: 'Time from receiving a GraphQL request to sending its response, by operation name and type',
      labelNames: ['operation', 'type'],
      buckets: REQUEST_BUCKETS,
    }),
    errors: counter({
      name: 'tessera_gateway_errors_total',
      help: 'Errors in responses sent to clients, by extensions.code',
      labelNames: ['code'],
    }),
    inFlight: gauge({
      name: 'tessera_gateway_requests_in_flight',
      help: 'GraphQL requests being processed now',
    }),
    subgraphFetchDuration: histogram({
      name: 'tessera_gateway_subgraph_fetch_duration_seconds',
      help: 'Duration of fetches from a subgraph (request to parsed response), by subgraph',
      labelNames: ['subgraph'],
      buckets: REQUEST_BUCKETS,
    }),
    subgraphFetchErrors: counter({
      name: 'tessera_gateway_subgraph_fetch_errors_total',
      help: 'Failed subgraph fetches, by subgraph and reason: timeout, http (a non-2xx answer), network, graphql (errors in the answer)',
      labelNames: ['subgraph', 'reason'],
    }),
    responseCache: counter({
      name: 'tessera_gateway_response_cache_requests_total',
      help: 'Response cache lookups of queries, by result: hit, miss, bypass (the store was unavailable)',
      labelNames: ['result'],
    }),
    responseCachePurges: counter({
      name: 'tessera_gateway_response_cache_purges_total',
      help: 'Response cache purges after mutations, by outcome: done, deferred (the store was unavailable; owed until it is back)',
      labelNames: ['outcome'],
    }),
    rateLimited: counter({
      name: 'tessera_gateway_rate_limited_total',
      help: 'Requests refused by the rate limiter, by limit: caller, operation (a per-operation limit), unavailable (failing closed)',
      labelNames: ['limit'],
    }),
    authFailures: counter({
      name: 'tessera_gateway_auth_failures_total',
      help: 'Requests refused because their access token did not verify, by reason (expired, signature, issuer, …)',
      labelNames: ['reason'],
    }),
    queryPlanCache: counter({
      name: 'tessera_gateway_query_plan_cache_total',
      help: 'Query plans looked up, by result: hit (planned before), miss (planned now)',
      labelNames: ['result'],
    }),
    subscriptionsActive: gauge({
      name: 'tessera_gateway_subscriptions_active',
      help: 'Subscriptions being served, by transport (graphql-ws, sse, multipart) and the subgraph their events come from (none: a query or mutation sent over the transport)',
      labelNames: ['transport', 'subgraph'],
    }),
    subscriptionConnections: gauge({
      name: 'tessera_gateway_subscription_connections_active',
      help: 'Open subscription connections, by transport',
      labelNames: ['transport'],
    }),
    subscriptionEvents: counter({
      name: 'tessera_gateway_subscription_events_total',
      help: 'Subscription events, by transport, subgraph and outcome (delivered; dropped: never sent, the subscription ended as a slow consumer)',
      labelNames: ['transport', 'subgraph', 'outcome'],
    }),
    deferredParts: counter({
      name: 'tessera_gateway_deferred_parts_total',
      help: 'Parts of incremental (@defer) responses written to clients, by transport (multipart, sse) and part (first, deferred)',
      labelNames: ['transport', 'part'],
    }),
    deferredFirstPart: histogram({
      name: 'tessera_gateway_deferred_first_part_seconds',
      help: 'Time from receiving an incremental (@defer) request to writing its first part, by transport',
      labelNames: ['transport'],
      buckets: REQUEST_BUCKETS,
    }),
    deferredLastPart: histogram({
      name: 'tessera_gateway_deferred_last_part_seconds',
      help: 'Time from receiving an incremental (@defer) request to writing its last part, by transport',
      labelNames: ['transport'],
      buckets: REQUEST_BUCKETS,
    }),
    subscriptionsSlowConsumer: counter({
      name: 'tessera_gateway_subscriptions_slow_consumer_total',
      help: 'Subscriptions ended with SLOW_CONSUMER (more than SUBSCRIPTION_QUEUE_MAX events waiting), by transport and subgraph',
      labelNames: ['transport', 'subgraph'],
    }),
  };
}

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;

/** What a subgraph data source reports about each fetch. */
export type SubgraphFetchObserver = Pick<GatewayMetrics, 'subgraphFetchDuration' | 'subgraphFetchErrors'>;

/**
 * ApolloGateway's `experimental_didResolveQueryPlan` callback, counting query plan cache hits.
 * The gateway keeps plans in an LRU and hands back the same object on a hit, so a plan seen
 * before is a hit and a new object was planned just now. A WeakSet keeps no plan alive that
 * the LRU has dropped.
 */
export function countQueryPlans(metrics: Pick<GatewayMetrics, 'queryPlanCache'>): (resolved: { queryPlan: object }) => void {
  const seen = new WeakSet<object>();
  return ({ queryPlan }) => {
    metrics.queryPlanCache.inc({ result: seen.has(queryPlan) ? 'hit' : 'miss' });
    seen.add(queryPlan);
  };
}

/** The subscription transports' observer: connections by transport; subscriptions and events by transport and subgraph. */
export function subscriptionObserver(
  metrics: Pick<GatewayMetrics, 'subscriptionsActive' | 'subscriptionConnections' | 'subscriptionEvents' | 'subscriptionsSlowConsumer'>,
): SubscriptionObserver {
  return {
    connectionOpened: (transport) => metrics.subscriptionConnections.inc({ transport }),
    connectionClosed: (transport) => metrics.subscriptionConnections.dec({ transport }),
    subscriptionStarted: (transport, subgraph) => metrics.subscriptionsActive.inc({ transport, subgraph }),
    subscriptionEnded: (transport, subgraph) => metrics.subscriptionsActive.dec({ transport, subgraph }),
    eventDelivered: (transport, subgraph) => metrics.subscriptionEvents.inc({ transport, subgraph, outcome: 'delivered' }),
    slowConsumer: (transport, subgraph, droppedEvents) => {
      metrics.subscriptionsSlowConsumer.inc({ transport, subgraph });
      metrics.subscriptionEvents.inc({ transport, subgraph, outcome: 'dropped' }, droppedEvents);
    },
  };
}

/** `useResponseCache`'s observer: lookups by status, purges by outcome. */
export function responseCacheObserver(metrics: Pick<GatewayMetrics, 'responseCache' | 'responseCachePurges'>): ResponseCacheObserver {
  return {
    lookup: (status) => metrics.responseCache.inc({ result: status.toLowerCase() }),
    purge: (outcome) => metrics.responseCachePurges.inc({ outcome }),
  };
}
