import type { ApolloGateway } from '@apollo/gateway';
import { operationFromDocument, Supergraph } from '@apollo/federation-internals';
import { QueryPlanner, type QueryPlan } from '@apollo/query-planner';
import type {
  GatewayExecutionResult,
  GatewayExecutor,
  GatewayGraphQLRequestContext,
  GatewayInterface,
  GatewaySchemaLoadOrUpdateCallback,
} from '@apollo/server-gateway-interface';
import {
  BREAK,
  DirectiveLocation,
  GraphQLBoolean,
  GraphQLDirective,
  GraphQLError,
  GraphQLNonNull,
  GraphQLSchema,
  GraphQLString,
  validate,
  visit,
  type DocumentNode,
  type GraphQLFormattedError,
  type OperationDefinitionNode,
} from 'graphql';
import { getVariableValues } from 'graphql/execution/values.js';
import { LRUCache } from 'lru-cache';
import { ErrorCode, SubgraphUnavailableError } from '../../shared/errors/errors.js';
import { traceStep } from '../../shared/observability/tracing.js';
import type { GatewayContext } from '../context.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { SubgraphAnswer, SubgraphClient } from '../subgraph-calls/subgraph-client.js';
import { executePlan, type JsonObject } from './execute-plan.js';
import { restrictByCacheControl } from './cache-policy.js';
import { ExecutionSlots } from './execution-slots.js';
import type { SubscriptionRunner, SubscriptionStart } from './run-subscription.js';
import { deferredDocument, type DeferredDocument } from './deferred-document.js';
import { runDeferredPlan } from './run-defer.js';
import { shapeResponse } from './shape-response.js';
import { typeConditionsOf, type TypeConditions } from './type-conditions.js';

/** What one supergraph gives the executor, built when it is loaded and dropped with it (plans included). */
interface Engine {
  apiSchema: GraphQLSchema;
  supergraph: Supergraph;
  planner: QueryPlanner;
  /** Plans `@defer` into Defer nodes: for requests whose client accepts incremental delivery; made when first needed. */
  deferPlanner: QueryPlanner | undefined;
  /** Plans by document hash and operation name; bounded, and new with every supergraph. */
  plans: LRUCache<string, Planned>;
  conditions: TypeConditions;
}

/** A plan, and for a deferred one the document it was planned from (the request's, its `@defer`s all labelled) and its operation there. */
interface Planned {
  plan: QueryPlan;
  deferred?: DeferredDocument & { operation: OperationDefinitionNode };
}

interface TesseraGatewayOptions {
  /** Loads, reloads and validates the supergraph; with `executor: 'apollo'`, also runs the plans of queries and mutations. */
  apollo: ApolloGateway;
  executor: 'tessera' | 'apollo';
  /** The client of a subgraph the served supergraph names (undefined: it names none so). */
  clientOf(subgraph: string): SubgraphClient | undefined;
  planCacheMaxEntries: number;
  /** Plans Tessera's executor runs at once; the requests beyond wait their turn (`GATEWAY_EXECUTION_CONCURRENCY`). */
  executionConcurrency: number;
  metrics: Pick<GatewayMetrics, 'queryPlanCache'>;
  /** Runs the plans of subscriptions, and re-plans the running ones when the supergraph changes. */
  subscriptions: SubscriptionRunner;
}

/**
 * Apollo Server's gateway: @apollo/gateway loads the supergraph (and its reloads) and plans
 * with @apollo/query-planner; Tessera's executor runs the plans (`executor: 'tessera'`), or
 * @apollo/gateway's own does (`'apollo'`, for comparison; subscriptions, which it cannot run, stay Tessera's). Each supergraph loaded gets a planner
 * and a plan cache of its own, so a swap never serves a plan of the previous one.
 */
export class TesseraGateway implements GatewayInterface {
  private engine: Engine | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly slots: ExecutionSlots;

  constructor(private readonly options: TesseraGatewayOptions) {
    this.slots = new ExecutionSlots(options.executionConcurrency);
  }

  /** Whether a supergraph is loaded (else `apiSchema` throws). */
  get loaded(): boolean {
    return !!this.engine;
  }

  /** The API schema of the supergraph being served (what clients validate against). */
  get apiSchema(): GraphQLSchema {
    if (!this.engine) throw new Error('No supergraph is loaded yet.');
    return this.engine.apiSchema;
  }

  onSchemaLoadOrUpdate(callback: GatewaySchemaLoadOrUpdateCallback) {
    return this.options.apollo.onSchemaLoadOrUpdate(({ apiSchema, coreSupergraphSdl }) =>
      callback({ apiSchema: withDefer(apiSchema), coreSupergraphSdl }),
    );
  }

  async load(options: Parameters<GatewayInterface['load']>[0]) {
    const { apollo, executor } = this.options;
    this.unsubscribe = apollo.onSchemaLoadOrUpdate(({ apiSchema, coreSupergraphSdl }) => {
      const engine = this.engineFor(withDefer(apiSchema), coreSupergraphSdl);
      this.engine = engine;
      this.options.subscriptions.replan(engine, (start) => replanned(engine, start));
    });
    const loaded = await apollo.load(options);
    if (executor === 'tessera') return { executor: this.execute };
    // @apollo/gateway runs no Subscription node: with its executor, subscriptions are still Tessera's.
    const execute: GatewayExecutor = (requestContext) =>
      requestContext.operation.operation === 'subscription' ? this.execute(requestContext) : loaded.executor(requestContext);
    return { ...loaded, executor: execute };
  }

  async stop() {
    this.unsubscribe?.();
    await this.options.apollo.stop();
  }

  private engineFor(apiSchema: GraphQLSchema, supergraphSdl: string): Engine {
    // @apollo/gateway has validated this supergraph already.
    const supergraph = Supergraph.build(supergraphSdl, { validateSupergraph: false });
    return {
      apiSchema,
      supergraph,
      planner: new QueryPlanner(supergraph),
      deferPlanner: undefined,
      plans: new LRUCache({ max: this.options.planCacheMaxEntries }),
      conditions: typeConditionsOf(supergraph.schema),
    };
  }

  private readonly execute: GatewayExecutor = (requestContext: GatewayGraphQLRequestContext) =>
    this.slots.run(() => traceStep('gateway.request', () => this.run(requestContext)));

  private async run(requestContext: GatewayGraphQLRequestContext): Promise<GatewayExecutionResult> {
    const engine = this.engine!;
    const { request, operation, document } = requestContext;
    const context = requestContext.context as Partial<GatewayContext>;
    if (operation.operation === 'subscription' && !context.subscription) {
      return {
        errors: [
          new GraphQLError('Subscriptions are served over WebSocket (graphql-transport-ws), Server-Sent Events or multipart HTTP.', {
            extensions: { code: ErrorCode.BAD_REQUEST },
          }),
        ],
      };
    }
    const variables = (request.variables ?? {}) as JsonObject;
    const coerced = getVariableValues(engine.apiSchema, operation.variableDefinitions ?? [], variables);
    if (coerced.errors) return { errors: coerced.errors };
    let incremental = context.incremental && hasDefer(document) ? context.incremental : undefined;
    let planned = traceStep('gateway.plan', () => this.planOf(engine, requestContext, Boolean(incremental)));
    if (incremental && !('plan' in planned)) {
      // Apollo's planner fails on some deferred shapes (a deferred @requires chain, say) that
      // it plans without defer: those get the whole result in one part, as the spec allows.
      incremental = undefined;
      planned = traceStep('gateway.plan', () => this.planOf(engine, requestContext, false));
    }
    if (!('plan' in planned)) return planned;
    const { node } = planned.plan;
    if (incremental && planned.deferred && node?.kind !== 'Subscription') {
      incremental.stream = runDeferredPlan(node, {
        schema: engine.apiSchema,
        ...planned.deferred,
        execution: {
          variables,
          coercedVariables: coerced.coerced,
          context,
          conditions: engine.conditions,
          clientOf: (subgraph) => this.options.clientOf(subgraph) ?? unroutable(subgraph),
        },
        slots: this.slots,
      });
      // The transport that asked reads the parts from the context; this answer is not sent (nor cached: it has no data).
      return { data: null };
    }
    if (node?.kind === 'Subscription') {
      context.subscription!.subgraph = node.primary.serviceName;
      context.subscription!.stream = this.options.subscriptions.start(node, {
        engine,
        document,
        operation,
        variables,
        coercedVariables: coerced.coerced,
        context,
      });
      // The transport that asked reads the stream from the context; this answer is not sent.
      return { data: null };
    }
    const execution = await traceStep('gateway.execute', () =>
      executePlan(node, {
        variables,
        coercedVariables: coerced.coerced,
        context,
        conditions: engine.conditions,
        clientOf: (subgraph) => this.options.clientOf(subgraph) ?? unroutable(subgraph),
        onAnswer: (_subgraph: string, answer: SubgraphAnswer) =>
          restrictByCacheControl(requestContext.overallCachePolicy, answer.cacheControl),
      }),
    );
    const data = traceStep('gateway.postprocessing', () =>
      shapeResponse({
        schema: engine.apiSchema,
        document,
        operation,
        variables: coerced.coerced,
        data: execution.data,
        errors: execution.errors,
      }),
    );
    return resultOf(data, execution.errors);
  }

  private planOf(
    engine: Engine,
    { queryHash, operationName, document, operation }: GatewayGraphQLRequestContext,
    deferred: boolean,
  ): Planned | { errors: GraphQLError[] } {
    // A deferred plan is another plan of the same document: keyed apart.
    const key = `${deferred ? 'defer:' : ''}${queryHash}:${operationName ?? ''}`;
    const cached = engine.plans.get(key);
    this.options.metrics.queryPlanCache.inc({ result: cached ? 'hit' : 'miss' });
    if (cached) return cached;
    try {
      const planner = deferred
        ? (engine.deferPlanner ??= new QueryPlanner(engine.supergraph, { incrementalDelivery: { enableDefer: true } }))
        : engine.planner;
      // Planned with every `@defer` labelled, so that each part names its fragment (see deferredDocument).
      const labelled = deferred ? deferredDocument(document) : undefined;
      const plan = planner.buildQueryPlan(
        operationFromDocument(engine.supergraph.schema, labelled?.document ?? document, { operationName: operationName ?? undefined }),
      );
      const planned: Planned = {
        plan,
        ...(labelled && {
          deferred: {
            ...labelled,
            // `visit` keeps the definitions' order.
            operation: labelled.document.definitions[document.definitions.indexOf(operation)] as OperationDefinitionNode,
          },
        }),
      };
      engine.plans.set(key, planned);
      return planned;
    } catch (error) {
      return { errors: [new GraphQLError((error as Error).message, { extensions: { code: ErrorCode.GRAPHQL_VALIDATION_FAILED } })] };
    }
  }
}

/** A running subscription's plan on a newly loaded supergraph, or why that supergraph cannot serve it. */
function replanned(
  engine: Engine,
  { document, operation }: SubscriptionStart,
): { node: QueryPlan['node'] } | { error: GraphQLFormattedError } {
  const invalid = validate(engine.apiSchema, document);
  try {
    if (invalid.length) throw invalid[0]!;
    const plan = engine.planner.buildQueryPlan(
      operationFromDocument(engine.supergraph.schema, document, { operationName: operation.name?.value }),
    );
    return { node: plan.node };
  } catch (error) {
    return {
      error: new GraphQLError(`The supergraph changed and no longer serves this subscription: ${(error as Error).message}`, {
        extensions: { code: ErrorCode.GRAPHQL_VALIDATION_FAILED },
      }).toJSON(),
    };
  }
}

/** `@defer` as the incremental delivery spec (and Apollo's `deferSpec=20220824`) declares it. */
const deferDirective = new GraphQLDirective({
  name: 'defer',
  description: 'Delivers this fragment later than the rest, to a client that accepts incremental delivery; ignored otherwise.',
  locations: [DirectiveLocation.FRAGMENT_SPREAD, DirectiveLocation.INLINE_FRAGMENT],
  args: { label: { type: GraphQLString }, if: { type: new GraphQLNonNull(GraphQLBoolean), defaultValue: true } },
});

const withDeferSchemas = new WeakMap<GraphQLSchema, GraphQLSchema>();
/**
 * The API schema clients validate against, with `@defer` (@apollo/gateway's has none): the
 * same object for Apollo Server and the executor, made once per supergraph loaded.
 */
function withDefer(apiSchema: GraphQLSchema): GraphQLSchema {
  let schema = withDeferSchemas.get(apiSchema);
  if (!schema) {
    const config = apiSchema.toConfig();
    schema = apiSchema.getDirective('defer')
      ? apiSchema
      : new GraphQLSchema({ ...config, directives: [...config.directives, deferDirective] });
    withDeferSchemas.set(apiSchema, schema);
  }
  return schema;
}

/** Whether a document uses `@defer` anywhere (its operations or fragments). */
function hasDefer(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    Directive(node) {
      if (node.name.value !== 'defer') return undefined;
      found = true;
      return BREAK;
    },
  });
  return found;
}

/** A plan's fetch to a subgraph the served supergraph does not route: answered as that subgraph being down. */
export function unroutable(subgraph: string): SubgraphClient {
  return {
    name: subgraph,
    url: '',
    call: () => Promise.reject(new SubgraphUnavailableError(subgraph)),
    close: async () => {},
  };
}

function resultOf(data: JsonObject | null, errors: GraphQLFormattedError[]): GatewayExecutionResult {
  if (!errors.length) return { data };
  return {
    data,
    errors: errors.map(
      (error) => new GraphQLError(error.message, { path: error.path as (string | number)[] | undefined, extensions: error.extensions }),
    ),
  };
}
