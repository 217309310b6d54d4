import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { Fetcher } from '@apollo/utils.fetcher';
import { GraphQLError } from 'graphql';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { CACHE_EXTENSION, type CacheTagReport } from '../../shared/cache-tags/cache-tags.js';
import { currentRequestScope } from '../../shared/http/request-scope.js';
import type { Identity } from '../../shared/identity/identity.js';
import { signedRequestHeaders } from '../../shared/identity/signed-requests.js';
import { injectTraceContext, traceSubgraphFetch } from '../../shared/observability/tracing.js';
import type { GatewayContext } from '../context.js';
import { ErrorCode, GatewayTimeoutError } from '../../shared/errors/errors.js';
import type { SubgraphFetchObserver } from '../observability/metrics.js';

/**
 * Internal: carries the caller from `willSendRequest`, which has the GraphQL context, to the
 * fetcher, which has not; never sent (the signed identity is).
 */
const CALLER_HEADER = 'x-tessera-caller';

/**
 * fetch, with the request signed and aborted at the sooner of the subgraph timeout and the
 * client request's deadline (from its request scope, which the fetch runs in; outside a client
 * request there is none: the fetch is signed under an id of its own). Signed here, not in
 * `willSendRequest`: the signature covers the body, and only the fetcher sees the exact string
 * RemoteGraphQLDataSource serialized (and each of its sends, an APQ retry included, gets a
 * signature and a nonce of its own).
 */
function signingFetcher(signingSecret: string, subgraphTimeoutMs: number): Fetcher {
  return (async (url: string, init: { headers?: Record<string, string>; body?: string } & Record<string, unknown> = {}) => {
    const { [CALLER_HEADER]: caller, ...headers } = init.headers ?? {};
    const user = (caller ? JSON.parse(Buffer.from(caller, 'base64url').toString('utf8')) : null) as Identity | null;
    const scope = currentRequestScope();
    Object.assign(headers, signedRequestHeaders(signingSecret, init.body ?? '', user, scope?.requestId));
    const budget = Math.min(subgraphTimeoutMs, scope?.deadline === undefined ? subgraphTimeoutMs : scope.deadline - Date.now());
    return fetch(url, { ...init, headers, signal: AbortSignal.timeout(Math.max(1, budget)) } as RequestInit);
  }) as unknown as Fetcher;
}

/**
 * Fetches from a subgraph over HTTP, signed (the caller, the request id, which also joins logs
 * up across processes, and the body; see shared/identity/signed-requests.ts); gives up at the subgraph timeout
 * or the request's deadline, whichever comes first, with `GATEWAY_TIMEOUT` at the affected fields.
 */
export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(options: { name: string; url: string; signingSecret: string; subgraphTimeoutMs: number; metrics?: SubgraphFetchObserver }) {
    super({ url: options.url, fetcher: signingFetcher(options.signingSecret, options.subgraphTimeoutMs) });
    this.name = options.name;
    this.metrics = options.metrics;
  }

  private readonly name: string;
  private readonly metrics: SubgraphFetchObserver | undefined;

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    // Outside a client request (no context) the fetch is signed as anonymous.
    const user = (context as Partial<GatewayContext> | undefined)?.user ?? null;
    // base64url: a header value takes no characters beyond Latin-1, and a name may have them.
    request.http?.headers.set(CALLER_HEADER, Buffer.from(JSON.stringify(user)).toString('base64url'));
    injectTraceContext(request.http?.headers);
  }

  /**
   * Each fetch in a client span of its own, which the subgraph's spans continue (`traceparent`),
   * timed, and counted when it fails, by subgraph and reason (see gateway/observability/metrics.ts).
   */
  override process(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<GatewayGraphQLResponse> {
    return traceSubgraphFetch(this.name, this.url, () => this.measuredProcess(options));
  }

  override didEncounterError(error: Error): never {
    if (error.name === 'TimeoutError' || error.name === 'AbortError') {
      throw new GatewayTimeoutError(this.name);
    }
    throw error;
  }

  /**
   * Collects the subgraph's cache tag report into the request's context (it never reaches the
   * client). A subgraph that sends none (one not built on Tessera) is noted: the response cache
   * then cannot know what it read or changed, and falls back to the subgraph as a whole.
   */
  override async didReceiveResponse({
    response,
    context,
  }: {
    response: GatewayGraphQLResponse;
    context: GatewayContext;
  }): Promise<GatewayGraphQLResponse> {
    if (!context?.cacheTags) return response;
    const report = response.extensions?.[CACHE_EXTENSION] as CacheTagReport | undefined;
    if (!report) {
      context.untaggedSubgraphs.add(this.name);
      return response;
    }
    for (const tag of report.entities) context.cacheTags.entities.add(tag);
    for (const tag of report.changed) context.cacheTags.changed.add(tag);
    return response;
  }

  private async measuredProcess(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<GatewayGraphQLResponse> {
    if (!this.metrics) return super.process(options);
    const stopTimer = this.metrics.subgraphFetchDuration.startTimer({ subgraph: this.name });
    try {
      const response = await super.process(options);
      if (response.errors?.length) this.metrics.subgraphFetchErrors.inc({ subgraph: this.name, reason: 'graphql' });
      return response;
    } catch (error) {
      this.metrics.subgraphFetchErrors.inc({ subgraph: this.name, reason: fetchFailure(error) });
      throw error;
    } finally {
      stopTimer();
    }
  }
}

/** Why a fetch failed: our timeout, a non-2xx answer (RemoteGraphQLDataSource attaches the response), or the network. */
function fetchFailure(error: unknown): 'timeout' | 'http' | 'network' {
  if (error instanceof GraphQLError && error.extensions.code === ErrorCode.GATEWAY_TIMEOUT) return 'timeout';
  if (error instanceof GraphQLError && error.extensions.response) return 'http';
  return 'network';
}
