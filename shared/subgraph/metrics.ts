import type { ApolloServerPlugin } from '@apollo/server';
import type { BatchLoadFn } from 'dataloader';
import type { RequestHandler } from 'express';
import type { PostgreSqlConnection } from '@mikro-orm/postgresql';
import type { Registry } from 'prom-client';
import type { StoreConfig } from '../config/subgraph-config.js';
import { currentRequestScope, requestScope, type RequestScope } from '../http/request-scope.js';
import type { SubgraphContext } from './context.js';
import type { SubgraphPubSub } from './pubsub.js';
import { boundedNames, metricsOn } from '../observability/metrics.js';
import type { Orm } from '../store/orm.js';
import { codeOf, codesOf } from '../errors/errors.js';

/** Seconds: an indexed lookup takes well under a millisecond, a cold page of joins tens of them. */
const SQL_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Statements per operation: a handful when every relation is batched; many more is an N+1. */
const STATEMENT_BUCKETS = [0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89];
/** Keys per DataLoader batch. */
const BATCH_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500];

/** A subgraph's own metrics, registered on the registry it is given (one per subgraph). */
export function createSubgraphMetrics(registry: Registry) {
  const { counter, histogram } = metricsOn(registry);
  return {
    /** Operation names as a bounded label: the gateway's generated names, e.g. `TopProducts__catalog__0`. */
    operationLabel: boundedNames(),
    errors: counter({
      name: 'tessera_subgraph_errors_total',
      help: 'Errors in responses the subgraph sent, by extensions.code',
      labelNames: ['code'],
    }),
    sqlDuration: histogram({
      name: 'tessera_subgraph_sql_duration_seconds',
      help: 'Duration of SQL statements, by the GraphQL operation that sent them (its _count is the number of statements)',
      labelNames: ['operation'],
      buckets: SQL_BUCKETS,
    }),
    sqlStatements: histogram({
      name: 'tessera_subgraph_sql_statements_per_operation',
      help: 'SQL statements one GraphQL operation sent, by operation',
      labelNames: ['operation'],
      buckets: STATEMENT_BUCKETS,
    }),
    batchSize: histogram({
      name: 'tessera_subgraph_dataloader_batch_size',
      help: 'Keys per DataLoader batch, by loader',
      labelNames: ['loader'],
      buckets: BATCH_BUCKETS,
    }),
  };
}

export type SubgraphMetrics = ReturnType<typeof createSubgraphMetrics>;

/** What one GraphQL request has done so far, for the metrics that count by operation. */
interface OperationTally {
  metrics: SubgraphMetrics;
  operation: string;
  statements: number;
}

/**
 * The tally of the GraphQL request a SQL statement or a DataLoader batch belongs to, by its
 * request scope: the ORM's logger and the batch functions run deep below the resolvers,
 * where no context object reaches, but the scope does. Readiness probes' statements have a
 * scope and no tally: only GraphQL operations are counted.
 */
const tallies = new WeakMap<RequestScope, OperationTally>();

const currentTally = (): OperationTally | undefined => {
  const scope = currentRequestScope();
  return scope && tallies.get(scope);
};

/** Express middleware: starts the request's operation tally (place it on `/graphql`, after the request scope is entered). */
export function operationMetricsScope(metrics: SubgraphMetrics): RequestHandler {
  return (_req, _res, next) => {
    tallies.set(requestScope(), { metrics, operation: 'unknown', statements: 0 });
    next();
  };
}

/** The id of the GraphQL request the code runs for; undefined outside one (migrations, seeding, readiness probes). */
export function graphqlRequestId(): string | undefined {
  const scope = currentRequestScope();
  return scope && tallies.has(scope) ? scope.requestId : undefined;
}

/** Called by the ORM's logger for every statement sent; outside a GraphQL request (migrations, seeding) it counts nothing. */
export function recordSqlStatement(tookMs: number | undefined): void {
  const tally = currentTally();
  if (!tally) return;
  tally.statements++;
  if (tookMs !== undefined) tally.metrics.sqlDuration.observe({ operation: tally.operation }, tookMs / 1000);
}

/** Wraps a DataLoader batch function so each batch's size is observed under `loader`. */
export function observeBatches<K, V>(loader: string, batch: BatchLoadFn<K, V>): BatchLoadFn<K, V> {
  return (keys) => {
    currentTally()?.metrics.batchSize.observe({ loader }, keys.length);
    return batch(keys);
  };
}

/** Names the operation scope once the operation is known; counts errors by code and statements per operation. */
export function useSubgraphMetrics(metrics: SubgraphMetrics): ApolloServerPlugin<SubgraphContext> {
  return {
    async contextCreationDidFail({ error }) {
      metrics.errors.inc({ code: codeOf(error) });
    },
    async requestDidStart() {
      return {
        async didResolveOperation({ operationName }) {
          const tally = currentTally();
          if (tally) tally.operation = metrics.operationLabel(operationName);
        },
        async willSendResponse({ response }) {
          const result = response.body.kind === 'single' ? response.body.singleResult : undefined;
          for (const code of codesOf(result?.errors)) metrics.errors.inc({ code });
          const tally = currentTally();
          if (tally) metrics.sqlStatements.observe({ operation: tally.operation }, tally.statements);
        },
      };
    },
  };
}

/**
 * Connections of the store, read when Prometheus scrapes: PostgreSQL's pool (open, idle,
 * and requests waiting for one, plus its maximum); PGlite is one embedded connection.
 */
export function observeConnections(registry: Registry, orm: Orm, store: StoreConfig['kind']): void {
  const { gauge } = metricsOn(registry);
  const pool = async () => {
    // The store's kind says which connection it is (the PostgreSQL driver is loaded only for PostgreSQL stores).
    return store === 'postgresql' ? (orm.em.getConnection() as PostgreSqlConnection).getNativeClient() : undefined;
  };
  gauge({
    name: 'tessera_subgraph_db_pool_connections',
    help: 'Store connections by state: total (open), idle, waiting (requests queued for a connection); PGlite reports total only',
    labelNames: ['state'],
    async collect() {
      const pg = await pool();
      this.set({ state: 'total' }, pg ? pg.totalCount : 1);
      if (!pg) return;
      this.set({ state: 'idle' }, pg.idleCount);
      this.set({ state: 'waiting' }, pg.waitingCount);
    },
  });
  gauge({
    name: 'tessera_subgraph_db_pool_max_connections',
    help: 'Most connections the store opens (PGlite: 1)',
    async collect() {
      const pg = await pool();
      this.set(pg ? (pg.options.max ?? 10) : 1);
    },
  });
}

/**
 * Subscribers in this process that would receive an event published now, by topic, read when
 * Prometheus scrapes (on Redis a topic counts once its channel is subscribed). Only topics with
 * a subscriber are reported: the others' series go away with their last subscriber.
 */
export function observeSubscribers(registry: Registry, pubSub: SubgraphPubSub): void {
  metricsOn(registry).gauge({
    name: 'tessera_subgraph_event_subscribers',
    help: 'Subscribers in this process that would receive an event published now, by topic',
    labelNames: ['topic'],
    collect() {
      this.reset();
      for (const topic of pubSub.topics()) this.set({ topic }, pubSub.subscriberCount(topic));
    },
  });
}
