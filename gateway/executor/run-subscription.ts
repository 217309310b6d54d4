import { randomUUID } from 'node:crypto';
import type { PlanNode, QueryPlan, SubscriptionNode } from '@apollo/query-planner';
import type { DocumentNode, FormattedExecutionResult, GraphQLFormattedError, GraphQLSchema, OperationDefinitionNode } from 'graphql';
import { ErrorCode } from '../../shared/errors/codes.js';
import { TesseraError } from '../../shared/errors/errors.js';
import { createRequestScope, requestScope, runInRequestScope } from '../../shared/http/request-scope.js';
import { traceStep } from '../../shared/observability/tracing.js';
import type { GatewayContext } from '../context.js';
import { EventQueue } from '../subscriptions/event-queue.js';
import type { SubscriptionObserver } from '../subscriptions/observer.js';
import { subscribeToSubgraph, type SubgraphEvent } from '../subscriptions/subgraph-subscription.js';
import type { SubgraphClient } from '../subgraph-calls/subgraph-client.js';
import { executeSubscriptionEvent, fetchVariables, type JsonObject } from './execute-plan.js';
import { shapeResponse } from './shape-response.js';
import type { TypeConditions } from './type-conditions.js';

/** What of a loaded supergraph a running subscription uses: replaced when a reload re-plans it. */
export interface SubscriptionEngine {
  apiSchema: GraphQLSchema;
  conditions: TypeConditions;
}

export interface SubscriptionStart {
  engine: SubscriptionEngine;
  document: DocumentNode;
  operation: OperationDefinitionNode;
  variables: JsonObject;
  coercedVariables: JsonObject;
  context: Partial<GatewayContext>;
}

export interface SubscriptionRunnerOptions {
  clientOf(subgraph: string): SubgraphClient;
  signingSecret: string;
  /** Events a subscriber may have waiting before its subscription ends with `SLOW_CONSUMER`. */
  queueMax: number;
  /** Ping interval on the gateway's connections to subgraphs. */
  keepAliveMs: number;
  /** Each event's fetches run within this, like a request's. */
  requestTimeoutMs: number;
  observer: Pick<SubscriptionObserver, 'eventsDropped'>;
}

/** A subscription being served: what a reload needs to re-plan it, or end it. */
interface Running {
  start: SubscriptionStart;
  rest: PlanNode | undefined;
  end(error: GraphQLFormattedError): void;
}

/**
 * Runs a plan's `Subscription` node: the subscribing fetch becomes a subscription on its
 * subgraph, and each event it sends runs the rest of the plan (the fields other subgraphs
 * join) in a scope of its own (its own request id and deadline), in order, one at a time.
 * What reaches the subscriber is shaped like any response. Every subscription is registered
 * here until it ends, so a supergraph reload can re-plan it (`replan`) and shutdown end it.
 */
export class SubscriptionRunner {
  private readonly running = new Set<Running>();

  constructor(private readonly options: SubscriptionRunnerOptions) {}

  get active(): number {
    return this.running.size;
  }

  start(node: SubscriptionNode, start: SubscriptionStart): AsyncIterableIterator<FormattedExecutionResult> {
    const { clientOf, signingSecret, queueMax, keepAliveMs, requestTimeoutMs } = this.options;
    const scope = requestScope();
    const { primary } = node;
    let unsubscribe = () => {};
    const running: Running = {
      start,
      rest: node.rest,
      end: (error) => queue.fail({ errors: [error] }),
    };
    const queue = new EventQueue<FormattedExecutionResult>(
      queueMax,
      () => {
        unsubscribe();
        this.options.observer.eventsDropped(start.context.subscription?.transport ?? 'graphql-ws', queue.size + 1);
        queue.fail({
          errors: [
            new TesseraError(
              `This subscription read its events too slowly: more than ${queueMax} were waiting.`,
              ErrorCode.SLOW_CONSUMER,
            ).toJSON(),
          ],
        });
      },
      () => {
        unsubscribe();
        this.running.delete(running);
      },
    );
    this.running.add(running);
    // Events are joined one after another, so they reach the subscriber in the order they came.
    let joined: Promise<unknown> = Promise.resolve();
    const onEvent = (event: SubgraphEvent) => {
      joined = joined.then(async () => {
        const eventScope = createRequestScope({
          requestId: randomUUID(),
          logger: scope.logger,
          timeoutMs: requestTimeoutMs,
          clientIp: scope.clientIp,
        });
        const result = await runInRequestScope(eventScope, () => this.join(running, event, primary.serviceName));
        queue.push(result);
      });
    };
    const client = clientOf(primary.serviceName);
    unsubscribe = subscribeToSubgraph(
      {
        subgraph: primary.serviceName,
        url: client.url,
        signingSecret,
        query: primary.operation,
        variables: fetchVariables(primary, start.variables),
        user: start.context.user ?? null,
        requestId: scope.requestId,
        keepAliveMs,
      },
      {
        next: onEvent,
        end: (errors) => {
          void joined.then(() => queue.finish(errors?.length ? { errors: [...errors] } : undefined));
        },
      },
    );
    return queue;
  }

  /** After a supergraph reload: each subscription gets its plan on the new supergraph, or ends when it has none. */
  replan(engine: SubscriptionEngine, plan: (start: SubscriptionStart) => { node: QueryPlan['node'] } | { error: GraphQLFormattedError }) {
    for (const running of this.running) {
      const planned = plan({ ...running.start, engine });
      if ('error' in planned) {
        running.end(planned.error);
        continue;
      }
      running.start = { ...running.start, engine };
      if (planned.node?.kind === 'Subscription') running.rest = planned.node.rest;
    }
  }

  /** Ends every subscription with `error` (shutdown). */
  endAll(error: GraphQLFormattedError) {
    for (const running of [...this.running]) running.end(error);
  }

  private async join(running: Running, event: SubgraphEvent, subgraph: string): Promise<FormattedExecutionResult> {
    const { engine, document, operation, variables, coercedVariables, context } = running.start;
    const execution = await traceStep('gateway.subscription.event', () =>
      executeSubscriptionEvent(running.rest, event, subgraph, {
        variables,
        coercedVariables,
        context,
        conditions: engine.conditions,
        clientOf: this.options.clientOf,
      }),
    );
    const data = shapeResponse({
      schema: engine.apiSchema,
      document,
      operation,
      variables: coercedVariables,
      data: execution.data,
      errors: execution.errors,
    });
    return execution.errors.length ? { data, errors: execution.errors } : { data };
  }
}
