import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { Fetcher } from '@apollo/utils.fetcher';
import { GraphQLError } from 'graphql';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { CACHE_EXTENSION, type CacheTagReport } from '../shared/cache-tags.js';
import { signedRequestHeaders } from '../shared/identity.js';
import { injectTraceContext, traceSubgraphFetch } from '../shared/tracing.js';
import type { GatewayContext } from './context.js';
import { ErrorCode } from '../shared/errors.js';
import type { SubgraphFetchObserver } from './metrics.js';

/** Internal: carries the request's deadline from `willSendRequest` to the fetcher, never sent. */
const DEADLINE_HEADER = 'x-tessera-deadline';

/** fetch, aborted at the sooner of the subgraph timeout and the client request's deadline. */
function fetcherWithTimeout(subgraphTimeoutMs: number): Fetcher {
  return (async (url: string, init: { headers?: Record<string, string> } & Record<string, unknown> = {}) => {
    const { [DEADLINE_HEADER]: deadline, ...headers } = init.headers ?? {};
    const budget = Math.min(subgraphTimeoutMs, deadline ? Number(deadline) - Date.now() : subgraphTimeoutMs);
    return fetch(url, { ...init, headers, signal: AbortSignal.timeout(Math.max(1, budget)) } as RequestInit);
  }) as unknown as Fetcher;
}

/**
 * Fetches from a subgraph over HTTP, with the caller's identity signed for the subgraph and
 * the request id, so logs join up across processes; gives up at the subgraph timeout or the
 * request's deadline, whichever comes first, with `GATEWAY_TIMEOUT` at the affected fields.
 */
export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(options: { name: string; url: string; signingSecret: string; subgraphTimeoutMs: number; metrics?: SubgraphFetchObserver }) {
    super({ url: options.url, fetcher: fetcherWithTimeout(options.subgraphTimeoutMs) });
    this.name = options.name;
    this.signingSecret = options.signingSecret;
    this.metrics = options.metrics;
  }

  private readonly name: string;
  private readonly signingSecret: string;
  private readonly metrics: SubgraphFetchObserver | undefined;

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    // Composition runs outside any client request: it is signed as anonymous, under an id of its own.
    const client = context as Partial<GatewayContext> | undefined;
    for (const [name, value] of Object.entries(signedRequestHeaders(this.signingSecret, client?.user ?? null, client?.requestId))) {
      request.http?.headers.set(name, value);
    }
    if (client?.deadline) request.http?.headers.set(DEADLINE_HEADER, String(client.deadline));
    injectTraceContext(request.http?.headers);
  }

  /**
   * Each fetch in a client span of its own, which the subgraph's spans continue (`traceparent`),
   * timed, and counted when it fails, by subgraph and reason (see gateway/metrics.ts).
   */
  override process(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<GatewayGraphQLResponse> {
    return traceSubgraphFetch(this.name, this.url, () => this.measuredProcess(options));
  }

  override didEncounterError(error: Error): never {
    if (error.name === 'TimeoutError' || error.name === 'AbortError') {
      throw new GraphQLError(`The ${this.name} subgraph did not answer in time.`, { extensions: { code: ErrorCode.GATEWAY_TIMEOUT, subgraph: this.name } });
    }
    throw error;
  }

  /**
   * Collects the subgraph's cache tag report into the request's context (it never reaches the
   * client). A subgraph that sends none (one not built on Tessera) is noted: the response cache
   * then cannot know what it read or changed, and falls back to the subgraph as a whole.
   */
  override async didReceiveResponse({ response, context }: { response: GatewayGraphQLResponse; context: GatewayContext }): Promise<GatewayGraphQLResponse> {
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
