import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import {
  context,
  diag,
  DiagLogLevel,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Span,
  type SpanOptions,
} from '@opentelemetry/api';
import {
  ATTR_DB_COLLECTION_NAME,
  ATTR_DB_NAMESPACE,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_QUERY_TEXT,
  ATTR_DB_SYSTEM_NAME,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVICE_NAME,
  ATTR_URL_FULL,
  ATTR_URL_PATH,
  DB_SYSTEM_NAME_VALUE_POSTGRESQL,
} from '@opentelemetry/semantic-conventions';
import type { RequestHandler } from 'express';
import type { CommonConfig } from '../config/config.js';
import { currentRequestScope } from '../http/request-scope.js';
import { throttledWarn, type Logger } from './logger.js';
import { codesOf } from '../errors/errors.js';

/**
 * OpenTelemetry tracing, instrumented by hand (no auto-instrumentation: it needs loader hooks
 * under ESM, and explicit spans read the same on PGlite and PostgreSQL). Everything here talks
 * to the global OpenTelemetry API only: until a provider is registered (`startTracing` with an
 * endpoint, or a test's in-memory one) it is the API's no-op, and costs next to nothing.
 *
 * One trace per client request: the gateway's server span, a client span per subgraph fetch
 * (W3C `traceparent` sent along), each subgraph's server span, and a span per SQL statement.
 */

/** Who a span belongs to when service.name cannot tell (the tests run every service in one process). */
const ATTR_SUBGRAPH_NAME = 'subgraph.name';
const ATTR_REQUEST_ID = 'tessera.request_id';
const ATTR_GRAPHQL_OPERATION_NAME = 'graphql.operation.name';
const ATTR_GRAPHQL_OPERATION_TYPE = 'graphql.operation.type';
const ATTR_GRAPHQL_ERROR_CODES = 'graphql.error.codes';
/** The subgraph a subscription's events come from (on the gateway's subscription and event spans). */
const ATTR_SUBSCRIPTION_SUBGRAPH = 'tessera.subscription.subgraph';

/** Statements longer than this are cut in spans and logs; bulk inserts can run to megabytes. */
const MAX_STATEMENT_LENGTH = 2_000;

// Looked up on each use: the global provider may be registered (or replaced, in tests) after import.
const tracer = () => trace.getTracer('tessera');

/**
 * Exports this process's spans over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set;
 * otherwise registers nothing. Returns what flushes pending spans at shutdown. A collector
 * that fails costs a warning (at most one per 30 s), never a request or the shutdown.
 */
export async function startTracing(
  config: Pick<CommonConfig, 'tracing'>,
  serviceName: string,
  logger: Logger,
): Promise<() => Promise<void>> {
  const { otlpEndpoint, otlpHeaders, serviceName: override, sampleRatio } = config.tracing;
  if (!otlpEndpoint) return async () => {};
  // The SDK is loaded only when traces go somewhere: without a collector a process carries the API alone.
  const [
    { W3CTraceContextPropagator },
    { OTLPTraceExporter },
    { resourceFromAttributes },
    { BatchSpanProcessor, NodeTracerProvider, ParentBasedSampler, TraceIdRatioBasedSampler },
  ] = await Promise.all([
    import('@opentelemetry/core'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-trace-node'),
  ]);
  // The SDK reports its problems, failed exports among them (the error as JSON), through its diagnostic logger.
  const warn = throttledWarn(logger);
  const report = (message: string) => warn({ collector: otlpEndpoint, error: errorMessage(message) }, 'OpenTelemetry reported a problem');
  const ignore = () => {};
  diag.setLogger({ error: report, warn: report, info: ignore, debug: ignore, verbose: ignore }, DiagLogLevel.WARN);
  // Bounded, so that a collector that does not answer holds a shutdown for 5 s at most.
  const exporter = new OTLPTraceExporter({
    url: `${otlpEndpoint.replace(/\/+$/, '')}/v1/traces`,
    headers: otlpHeaders,
    timeoutMillis: 5_000,
  });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: override ?? serviceName }),
    // Roots are sampled by ratio; a request arriving with a traceparent follows the caller's decision,
    // so a trace is kept or dropped whole across the gateway and the subgraphs.
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(sampleRatio) }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  // The default context manager (AsyncLocalStorage) carries the active span through awaits.
  provider.register({ propagator: new W3CTraceContextPropagator() });
  return async () => {
    try {
      await provider.shutdown();
    } catch (error) {
      logger.warn({ collector: otlpEndpoint, err: error }, 'the last traces could not be exported');
    }
    diag.disable();
  };
}

function errorMessage(reported: string): string {
  try {
    return (JSON.parse(reported) as { message?: string }).message ?? reported;
  } catch {
    return reported;
  }
}

interface TraceRequestsOptions {
  /**
   * Set in a subgraph: its name goes on the span, and only requests that arrive within a
   * trace are traced. The gateway decides (and samples) what is traced; the requests it sends
   * outside any client request (readiness probes, composition) would each be a trace of its own.
   */
  subgraphName?: string;
}

/**
 * A server span around each HTTP request, continuing the caller's trace from its `traceparent`
 * and active for everything the request does, so subgraph fetches and SQL nest under it. The
 * GraphQL plugin (`useTracing`) names it after the operation once that is known.
 */
export function traceRequests({ subgraphName }: TraceRequestsOptions = {}): RequestHandler {
  return (req, res, next) => {
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    if (subgraphName && !trace.getSpanContext(parent)) return next();
    const requestId = currentRequestScope()?.requestId;
    const span = tracer().startSpan(
      `${req.method} ${req.baseUrl || req.path}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: req.method,
          [ATTR_URL_PATH]: req.originalUrl.split('?')[0],
          ...(requestId && { [ATTR_REQUEST_ID]: requestId }),
          ...(subgraphName && { [ATTR_SUBGRAPH_NAME]: subgraphName }),
        },
      },
      parent,
    );
    // Tracing off (the API's no-op, no caller's trace): nothing to carry through the request.
    if (!span.isRecording() && !trace.isSpanContextValid(span.spanContext())) return next();
    const active = trace.setSpan(parent, span);
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    };
    res.once('finish', end);
    res.once('close', end);
    // The body parser and Apollo continue from the request stream's events, which Node runs in
    // the context the connection was opened in; bound, they run in the request's span.
    context.bind(active, req);
    context.bind(active, res);
    context.with(active, next);
  };
}

/**
 * Names a request's server span `<type> <operation name>` and records both: `useTracing`'s
 * doing, and the response cache's for a hit answered before Apollo Server.
 */
export function nameOperationSpan(span: Span, type: string, operationName: string | null | undefined): void {
  span.updateName(operationName ? `${type} ${operationName}` : type);
  span.setAttribute(ATTR_GRAPHQL_OPERATION_TYPE, type);
  if (operationName) span.setAttribute(ATTR_GRAPHQL_OPERATION_NAME, operationName);
}

/**
 * Names the request's server span `<type> <operation name>` and records the operation and the
 * error codes of its response; registered on the gateway and on every subgraph.
 */
export function useTracing<TContext extends BaseContext>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      const span = trace.getActiveSpan();
      if (!span?.isRecording()) return;
      return {
        async didResolveOperation({ operationName, operation }) {
          if (operation) nameOperationSpan(span, operation.operation, operationName);
        },
        async willSendResponse({ errors }) {
          if (!errors?.length) return;
          const codes = codesOf(errors);
          span.setAttribute(ATTR_GRAPHQL_ERROR_CODES, codes);
          span.setStatus({ code: SpanStatusCode.ERROR, message: [...new Set(codes)].join(', ') });
        },
      };
    },
  };
}

/**
 * Runs a step of the gateway's work (`gateway.request`, `gateway.plan`, `gateway.execute`,
 * `gateway.postprocessing`: the names @apollo/gateway's spans have, so traces read the same
 * whichever executor runs) in an internal span of its own.
 */
export function traceStep<T>(name: string, step: () => T, options: SpanOptions = {}): T {
  return tracer().startActiveSpan(name, options, (span) => {
    let result: T;
    try {
      result = step();
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      span.end();
      throw error;
    }
    if (result instanceof Promise) {
      return result.then(
        (value) => {
          span.end();
          return value;
        },
        (error: Error) => {
          span.recordException(error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
          span.end();
          throw error;
        },
      ) as T;
    }
    span.end();
    return result;
  });
}

/** One subscription's tracing: see `traceSubscription`. */
export interface SubscriptionTrace {
  /** Runs one event's work (its fetches) in a span of its own. */
  event<T>(step: () => Promise<T>): Promise<T>;
  /** The subscription ended: with errors carrying these codes, or none. */
  end(errorCodes?: string[]): void;
}

/**
 * A span for a subscription, under the subscribe request's (when it has one), from subscribe
 * to its end; each event's work runs in a `gateway.subscription.event` span starting a trace of
 * its own, linked to the subscription's span. A trace per event (rather than children of one
 * span that lives for hours) keeps each readable and sampled apart, as messaging traces are.
 */
export function traceSubscription(subgraphName: string, operationName: string | undefined): SubscriptionTrace {
  const span = tracer().startSpan(operationName ? `subscription ${operationName}` : 'subscription', {
    attributes: {
      [ATTR_GRAPHQL_OPERATION_TYPE]: 'subscription',
      [ATTR_SUBSCRIPTION_SUBGRAPH]: subgraphName,
      ...(operationName && { [ATTR_GRAPHQL_OPERATION_NAME]: operationName }),
    },
  });
  const links = [{ context: span.spanContext() }];
  return {
    event: (step) =>
      traceStep('gateway.subscription.event', step, { root: true, links, attributes: { [ATTR_SUBSCRIPTION_SUBGRAPH]: subgraphName } }),
    end(errorCodes) {
      if (errorCodes?.length) {
        span.setAttribute(ATTR_GRAPHQL_ERROR_CODES, errorCodes);
        span.setStatus({ code: SpanStatusCode.ERROR, message: [...new Set(errorCodes)].join(', ') });
      }
      span.end();
    },
  };
}

/** Runs one subgraph fetch in a client span of its own; `injectTraceContext` puts it in the request's headers. */
export function traceSubgraphFetch<T>(subgraphName: string, url: string, fetch: () => Promise<T>): Promise<T> {
  const attributes: Attributes = { [ATTR_SUBGRAPH_NAME]: subgraphName, [ATTR_HTTP_REQUEST_METHOD]: 'POST', [ATTR_URL_FULL]: url };
  return tracer().startActiveSpan(`subgraph ${subgraphName}`, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    try {
      return await fetch();
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Writes the active span's W3C `traceparent` into outgoing headers (nothing when tracing is off). */
export function injectTraceContext(headers: { set(name: string, value: string): void } | undefined): void {
  if (headers) propagation.inject(context.active(), headers, { set: (carrier, name, value) => carrier.set(name, value) });
}

interface SqlStatement {
  /** The statement with `?` placeholders (never the values: they may be password hashes or tokens). */
  sql: string;
  tookMs: number;
  database: string;
  failed: boolean;
}

/** `SELECT`, `INSERT`, …: the statement's first keyword. */
function sqlOperation(sql: string): string | undefined {
  return /^\s*\(?\s*([a-z]+)/i.exec(sql)?.[1]?.toUpperCase();
}

/** The table a statement reads or writes first: `select … from "product"` → `product`. */
function sqlTable(sql: string): string | undefined {
  const match = /\b(?:from|into|update)\s+((?:"[^"]+"|\w+)(?:\.(?:"[^"]+"|\w+))?)/i.exec(sql);
  return match?.[1]?.replace(/"/g, '');
}

/** Cut to a readable length for spans and logs. */
export function truncateStatement(sql: string): string {
  return sql.length > MAX_STATEMENT_LENGTH ? `${sql.slice(0, MAX_STATEMENT_LENGTH)}…` : sql;
}

/**
 * A span for one SQL statement that has just run, under the active span (MikroORM runs the
 * query, and reports it, in the caller's async context). Statements outside a traced request
 * (migrations, seeding) are not recorded: they would be traces of one span each.
 */
export function recordSqlSpan({ sql, tookMs, database, failed }: SqlStatement): void {
  if (!trace.getActiveSpan()?.isRecording()) return;
  const operation = sqlOperation(sql);
  const table = sqlTable(sql);
  const end = Date.now();
  const span = tracer().startSpan(
    [operation, table].filter(Boolean).join(' ') || 'SQL',
    {
      kind: SpanKind.CLIENT,
      startTime: end - tookMs,
      attributes: {
        [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_NAME_VALUE_POSTGRESQL,
        [ATTR_DB_NAMESPACE]: database,
        [ATTR_DB_QUERY_TEXT]: truncateStatement(sql),
        ...(operation && { [ATTR_DB_OPERATION_NAME]: operation }),
        ...(table && { [ATTR_DB_COLLECTION_NAME]: table }),
      },
    },
    context.active(),
  );
  if (failed) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end(end);
}
