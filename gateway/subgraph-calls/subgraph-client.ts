import type { GraphQLFormattedError } from 'graphql';
import { Pool, type Dispatcher } from 'undici';
import { CACHE_EXTENSION, type CacheTagReport } from '../../shared/cache-tags/cache-tags.js';
import { GatewayTimeoutError, SubgraphUnavailableError, type TesseraError } from '../../shared/errors/errors.js';
import { currentRequestScope } from '../../shared/http/request-scope.js';
import { signedRequestHeaders } from '../../shared/identity/signed-requests.js';
import { throttledWarn, type Logger } from '../../shared/observability/logger.js';
import { injectTraceContext, traceSubgraphFetch } from '../../shared/observability/tracing.js';
import type { GatewayContext } from '../context.js';
import type { SubgraphFetchObserver } from '../observability/metrics.js';

/** One operation sent to a subgraph: a plan's fetch, or one the gateway asks itself (the caller check). */
export interface SubgraphCall {
  query: string;
  operationName?: string;
  variables?: Record<string, unknown>;
  /** This call as JSON already (the executor writes it from parts it serialized once); what is sent and signed. */
  body?: string;
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
 * Sends operations to one subgraph. Throws a TesseraError (`SUBGRAPH_UNAVAILABLE`,
 * `GATEWAY_TIMEOUT`) when no GraphQL answer came; the subgraph's own errors are in the answer.
 */
export interface SubgraphClient {
  readonly name: string;
  readonly url: string;
  call(call: SubgraphCall, caller: SubgraphCaller): Promise<SubgraphAnswer>;
  /** `finish` (the default): the calls under way go on to their answer or timeout; `abort`: they fail at once. */
  close(inFlight?: 'finish' | 'abort'): Promise<void>;
}

export interface SubgraphClientOptions {
  name: string;
  /** The subgraph's GraphQL endpoint, e.g. `http://127.0.0.1:4001/graphql`. */
  url: string;
  signingSecret: string;
  subgraphTimeoutMs: number;
  /** Keep-alive connections opened at most to the subgraph (`SUBGRAPH_CONNECTIONS`). */
  connections: number;
  logger: Logger;
  metrics?: SubgraphFetchObserver;
}

/** While a subgraph is down every request fails alike: one warning per this interval. */
const FAILURE_WARN_INTERVAL_MS = 10_000;

/**
 * As `subgraphFetchErrors` counts them: our timeout, a non-2xx answer, or anything else (the
 * connection refused or dropped, a 2xx body that is not a GraphQL response, as the stock
 * data source counts it).
 */
type FailureReason = 'timeout' | 'http' | 'network';

/** Why a call got no GraphQL answer: what the client is told, what is counted, what is logged. */
class CallFailure extends Error {
  constructor(
    readonly reason: FailureReason,
    cause: unknown,
    readonly status?: number,
  ) {
    super(reason, { cause });
  }
}

/**
 * One call's answer gathered through undici's handler interface: the status, `Cache-Control`
 * and the body's chunks, handed over once at its end. What `request()` adds around the same
 * dispatch (a body stream, an AbortSignal's listeners, an async resource) is not made per
 * call. A non-2xx body is read off and dropped, so the connection serves the next call. Its
 * budget's end fails it with a `timeout` CallFailure, sent or still queued.
 */
class BufferedAnswer implements Dispatcher.DispatchHandler {
  statusCode = 0;
  cacheControl: string | undefined;
  bytes: Buffer = Buffer.alloc(0);
  private readonly chunks: Buffer[] = [];
  private length = 0;
  private controller: Dispatcher.DispatchController | undefined;
  private abortedWith: Error | undefined;
  /** Cleared when the call ends, unlike AbortSignal.timeout's, which stays queued until it fires. */
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly resolve: (answer: BufferedAnswer) => void,
    private readonly reject: (error: unknown) => void,
    budgetMs: number,
  ) {
    this.timer = setTimeout(
      () => this.abort(new CallFailure('timeout', new Error(`No answer within ${budgetMs} ms.`))),
      Math.max(1, budgetMs),
    );
  }

  /** Fails the call with `reason`, now or (not yet sent) as soon as it starts. */
  private abort(reason: Error): void {
    this.abortedWith = reason;
    if (this.controller) this.controller.abort(reason);
    else this.fail(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.abortedWith) controller.abort(this.abortedWith);
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200) return; // 1xx: the answer follows
    this.statusCode = statusCode;
    const header = headers['cache-control'];
    this.cacheControl = Array.isArray(header) ? header.join(', ') : header;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.statusCode < 200 || this.statusCode >= 300) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  onResponseEnd(): void {
    this.bytes = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.length);
    clearTimeout(this.timer);
    this.resolve(this);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.fail(this.abortedWith ?? error);
  }

  private fail(error: Error): void {
    clearTimeout(this.timer);
    this.reject(error);
  }
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A subgraph over one undici `Pool`: keep-alive connections, one request at a time on each
 * (pipelining off: a slow answer must not hold up the ones queued behind it on its socket).
 * Each call is signed (the caller, the request id, the exact body), carries the trace
 * context, and is aborted at the sooner of the subgraph timeout and the client request's
 * deadline (from its request scope; outside a client request there is none, and the call is
 * signed under an id of its own). The answer is read as one buffer and parsed once.
 */
export class PoolSubgraphClient implements SubgraphClient {
  readonly name: string;
  readonly url: string;
  private readonly path: string;
  private readonly pool: Pool;
  private readonly signingSecret: string;
  private readonly subgraphTimeoutMs: number;
  private readonly metrics: SubgraphFetchObserver | undefined;
  /** This subgraph's fetch timer, its label bound once rather than hashed on every call. */
  private readonly fetchTimer: { startTimer(): () => void } | undefined;
  private readonly warn: (details: object, message: string) => void;

  constructor({ name, url, signingSecret, subgraphTimeoutMs, connections, logger, metrics }: SubgraphClientOptions) {
    const endpoint = new URL(url);
    this.name = name;
    this.url = url;
    this.path = `${endpoint.pathname}${endpoint.search}`;
    this.pool = new Pool(endpoint.origin, { connections, pipelining: 1 });
    this.signingSecret = signingSecret;
    this.subgraphTimeoutMs = subgraphTimeoutMs;
    this.metrics = metrics;
    this.fetchTimer = metrics?.subgraphFetchDuration.labels({ subgraph: name });
    this.warn = throttledWarn(logger, FAILURE_WARN_INTERVAL_MS);
  }

  /** Each call in a client span of its own, which the subgraph's spans continue (`traceparent`), timed and counted by outcome. */
  call(call: SubgraphCall, caller: SubgraphCaller): Promise<SubgraphAnswer> {
    return traceSubgraphFetch(this.name, this.url, () => this.measuredCall(call, caller));
  }

  close(inFlight: 'finish' | 'abort' = 'finish'): Promise<void> {
    return inFlight === 'abort' ? this.pool.destroy() : this.pool.close();
  }

  private async measuredCall(call: SubgraphCall, caller: SubgraphCaller): Promise<SubgraphAnswer> {
    const stopTimer = this.fetchTimer?.startTimer();
    try {
      const answer = await this.send(call, caller);
      if (answer.errors?.length) this.metrics?.subgraphFetchErrors.inc({ subgraph: this.name, reason: 'graphql' });
      return answer;
    } catch (error) {
      const failure = error instanceof CallFailure ? error : new CallFailure('network', error);
      this.metrics?.subgraphFetchErrors.inc({ subgraph: this.name, reason: failure.reason });
      const thrown: TesseraError =
        failure.reason === 'timeout' ? new GatewayTimeoutError(this.name) : new SubgraphUnavailableError(this.name);
      // The URL, status and body go to the log only, never to the client.
      this.warn(
        { subgraph: this.name, requestId: currentRequestScope()?.requestId, code: thrown.code, status: failure.status, err: failure.cause },
        'subgraph fetch failed',
      );
      throw thrown;
    } finally {
      stopTimer?.();
    }
  }

  private async send(call: SubgraphCall, caller: SubgraphCaller): Promise<SubgraphAnswer> {
    const body = call.body ?? JSON.stringify(call);
    const scope = currentRequestScope();
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...signedRequestHeaders(this.signingSecret, body, caller.user ?? null, scope?.requestId),
    };
    injectTraceContext({ set: (name, value) => (headers[name] = value) });
    const budget = scope?.deadline === undefined ? this.subgraphTimeoutMs : Math.min(this.subgraphTimeoutMs, scope.deadline - Date.now());
    const { statusCode, cacheControl, bytes } = await new Promise<BufferedAnswer>((resolve, reject) =>
      this.pool.dispatch({ method: 'POST', path: this.path, headers, body }, new BufferedAnswer(resolve, reject, budget)),
    );
    if (statusCode < 200 || statusCode >= 300)
      throw new CallFailure('http', new Error(`The subgraph answered HTTP ${statusCode}.`), statusCode);
    let answer: ReturnType<typeof graphQLAnswer>;
    try {
      // Read whole, then parsed once.
      answer = graphQLAnswer(JSON.parse(bytes.toString('utf8')));
    } catch (error) {
      throw new CallFailure('network', error, statusCode);
    }
    if (!answer) throw new CallFailure('network', new Error('The subgraph answered JSON that is not a GraphQL response.'), statusCode);
    this.takeCacheTags(answer.extensions, caller);
    return { data: answer.data, errors: answer.errors, cacheControl };
  }

  /**
   * Collects the subgraph's cache tag report into the request's (it never reaches the client).
   * A subgraph that sends none (one not built on Tessera) is noted: the response cache then
   * cannot know what it read or changed, and falls back to the subgraph as a whole.
   */
  private takeCacheTags(extensions: Record<string, unknown> | undefined, { cacheTags, untaggedSubgraphs }: SubgraphCaller): void {
    if (!cacheTags) return;
    const report = extensions?.[CACHE_EXTENSION] as CacheTagReport | undefined;
    if (!report) {
      untaggedSubgraphs?.add(this.name);
      return;
    }
    for (const tag of report.entities) cacheTags.entities.add(tag);
    for (const tag of report.changed) cacheTags.changed.add(tag);
  }
}

/** The body as a GraphQL response (data, errors or both, in their shapes), or undefined. */
function graphQLAnswer(
  body: unknown,
): { data?: Record<string, unknown> | null; errors?: GraphQLFormattedError[]; extensions?: Record<string, unknown> } | undefined {
  if (!isObject(body) || !('data' in body || 'errors' in body)) return undefined;
  const { data, errors, extensions } = body;
  if (data !== undefined && data !== null && !isObject(data)) return undefined;
  if (errors !== undefined && !Array.isArray(errors)) return undefined;
  return {
    data: data as Record<string, unknown> | null | undefined,
    errors: errors as GraphQLFormattedError[] | undefined,
    extensions: isObject(extensions) ? extensions : undefined,
  };
}

export function createSubgraphClient(options: SubgraphClientOptions): SubgraphClient {
  return new PoolSubgraphClient(options);
}
