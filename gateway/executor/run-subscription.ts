import { randomUUID } from 'node:crypto';
import type { PlanNode, QueryPlan, SubscriptionNode } from '@apollo/query-planner';
import type { DocumentNode, FormattedExecutionResult, GraphQLFormattedError, GraphQLSchema, OperationDefinitionNode } from 'graphql';
import { ErrorCode } from '../../shared/errors/codes.js';
import { TesseraError } from '../../shared/errors/errors.js';
import { createRequestScope, requestScope, runInRequestScope } from '../../shared/http/request-scope.js';
import { traceSubscription, type SubscriptionTrace } from '../../shared/observability/tracing.js';
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
  observer: Pick<SubscriptionObserver, 'slowConsumer'>;
}

/** Objects' ids, for keys: identical subscriptions share their document, operation and plan objects (Apollo's document store, the plan cache). */
const objectIds = new WeakMap<object, number>();
let lastObjectId = 0;
function idOf(object: object): number {
  let id = objectIds.get(object);
  if (id === undefined) objectIds.set(object, (id = ++lastObjectId));
  return id;
}

/** A subscription being served: what a reload needs to re-plan it, or end it. */
interface Running {
  start: SubscriptionStart;
  rest: PlanNode | undefined;
  trace: SubscriptionTrace;
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
  /**
   * Joins under way, by what makes two alike (see `joinKey`): a thousand subscribers of one
   * topic given one event join it once, not a thousand times (each with the same fetches to
   * the same subgraphs), and each gets that one result.
   */
  private readonly joinsUnderWay = new Map<string, Promise<FormattedExecutionResult>>();

  constructor(private readonly options: SubscriptionRunnerOptions) {}

  get active(): number {
    return this.running.size;
  }

  start(node: SubscriptionNode, start: SubscriptionStart): AsyncIterableIterator<FormattedExecutionResult> {
    const { clientOf, signingSecret, queueMax, keepAliveMs, requestTimeoutMs } = this.options;
    const scope = requestScope();
    const { primary } = node;
    let unsubscribe = () => {};
    // The codes of the errors it ended with, for its span.
    let endCodes: string[] = [];
    const endWith = (errors: readonly GraphQLFormattedError[]) => {
      endCodes = errors.map((error) => String(error.extensions?.code ?? ErrorCode.INTERNAL_SERVER_ERROR));
      return { errors: [...errors] };
    };
    const running: Running = {
      start,
      rest: node.rest,
      trace: traceSubscription(primary.serviceName, start.operation.name?.value),
      end: (error) => queue.fail(endWith([error])),
    };
    let overflowed = false;
    const overflow = () => {
      if (overflowed) return;
      overflowed = true;
      unsubscribe();
      // The one that did not fit, and those waiting (queued or being joined), are never sent.
      this.options.observer.slowConsumer(
        start.context.subscription?.transport ?? 'graphql-ws',
        primary.serviceName,
        queue.size + joining + 1,
      );
      queue.fail(
        endWith([
          new TesseraError(
            `This subscription's events came faster than they were read: more than ${queueMax} were waiting.`,
            ErrorCode.SLOW_CONSUMER,
          ).toJSON(),
        ]),
      );
    };
    const queue = new EventQueue<FormattedExecutionResult>(queueMax, overflow, () => {
      unsubscribe();
      this.running.delete(running);
      running.trace.end(endCodes);
    });
    this.running.add(running);
    // Events are joined one after another, so they reach the subscriber in the order they came.
    let joined: Promise<unknown> = Promise.resolve();
    // Events received and not yet joined wait too: joins slower than events come (a slow
    // subgraph behind them) must not pile events up in memory either.
    let joining = 0;
    const onEvent = (event: SubgraphEvent) => {
      if (overflowed) return;
      if (queue.size + joining >= queueMax) return overflow();
      joining++;
      joined = joined.then(async () => {
        const eventScope = createRequestScope({
          requestId: randomUUID(),
          logger: scope.logger,
          timeoutMs: requestTimeoutMs,
          clientIp: scope.clientIp,
        });
        let result: FormattedExecutionResult;
        try {
          result = await runInRequestScope(eventScope, () =>
            running.trace.event(() => this.sharedJoin(running, event, primary.serviceName)),
          );
        } catch (error) {
          // One event's failure is that event's error; the chain (and the subscription) goes on.
          scope.logger.error({ err: error, subgraph: primary.serviceName }, 'a subscription event could not be joined');
          result = { errors: [new TesseraError('This event could not be served.', ErrorCode.INTERNAL_SERVER_ERROR).toJSON()] };
        } finally {
          joining--;
        }
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
          void joined.then(() => queue.finish(errors?.length ? endWith(errors) : undefined));
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

  /**
   * This event's join, or the one under way for an identical subscription given the same
   * event. Sharing is bounded to what one publication fans out: the join shared began after
   * its own copy of this event arrived, so what it reads is no older than this copy's cause.
   */
  private sharedJoin(running: Running, event: SubgraphEvent, subgraph: string): Promise<FormattedExecutionResult> {
    const key = joinKey(running, event);
    let joining = this.joinsUnderWay.get(key);
    if (!joining) {
      joining = this.join(running, event, subgraph);
      this.joinsUnderWay.set(key, joining);
      const done = () => void this.joinsUnderWay.delete(key);
      joining.then(done, done);
    }
    return joining;
  }

  private async join(running: Running, event: SubgraphEvent, subgraph: string): Promise<FormattedExecutionResult> {
    const { engine, document, operation, variables, coercedVariables, context } = running.start;
    const execution = await executeSubscriptionEvent(running.rest, event, subgraph, {
      variables,
      coercedVariables,
      context,
      conditions: engine.conditions,
      clientOf: this.options.clientOf,
    });
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

/**
 * What makes two joins of an event the same: the supergraph, the operation and the rest of its
 * plan (the same objects for the same document; the subscribing subgraph follows from them),
 * the variables, the caller (whose identity the subgraphs see and the authorization rules
 * read) and the event as its subgraph sent it.
 */
function joinKey({ start, rest }: Running, event: SubgraphEvent): string {
  const plan = rest === undefined ? 0 : idOf(rest);
  return `${idOf(start.engine)}:${idOf(start.operation)}:${plan}:${JSON.stringify([start.variables, start.context.user ?? null, event])}`;
}
