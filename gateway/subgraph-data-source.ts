import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { Fetcher, FetcherResponse } from '@apollo/utils.fetcher';
import { parse } from 'graphql';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { CACHE_EXTENSION, type CacheTagReport } from '../shared/cache-tags.js';
import { signedRequestHeaders } from '../shared/identity.js';
import type { GatewayContext } from './context.js';
import { SubgraphUnavailableError, TesseraError } from '../shared/errors.js';
import { errorsAtFetchedFields, subgraphFailure } from './subgraph-failures.js';

/** Internal: carries the request's deadline from `willSendRequest` to the fetcher, never sent. */
const DEADLINE_HEADER = 'x-tessera-deadline';

const FAILURE_WARN_INTERVAL_MS = 10_000;

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
 * request's deadline, whichever comes first, with `GATEWAY_TIMEOUT` at the affected fields;
 * a subgraph that cannot be reached or answers with something other than a GraphQL response
 * gives `SUBGRAPH_UNAVAILABLE` there. Every request tries again: nothing sticks once it is back.
 */
export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(options: { name: string; url: string; signingSecret: string; subgraphTimeoutMs: number }) {
    super({ url: options.url, fetcher: fetcherWithTimeout(options.subgraphTimeoutMs) });
    this.name = options.name;
    this.signingSecret = options.signingSecret;
  }

  private readonly name: string;
  private readonly signingSecret: string;
  /** While a subgraph is down every request fails alike: one warning per interval, counting those left out. */
  private readonly failureLog = { lastAt: 0, suppressed: 0 };

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    // Composition runs outside any client request: it is signed as anonymous, under an id of its own.
    const client = context as Partial<GatewayContext> | undefined;
    for (const [name, value] of Object.entries(signedRequestHeaders(this.signingSecret, client?.user ?? null, client?.requestId))) {
      request.http?.headers.set(name, value);
    }
    if (client?.deadline) request.http?.headers.set(DEADLINE_HEADER, String(client.deadline));
  }

  override async process(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<GatewayGraphQLResponse> {
    try {
      return await super.process(options);
    } catch (error) {
      // Composition and health checks want the failure itself; a client request wants it at its fields.
      if (!(error instanceof TesseraError) || !('incomingRequestContext' in options)) throw error;
      return { errors: errorsAtFetchedFields(error, options.document ?? parse(options.request.query!), options.request.variables) };
    }
  }

  override didEncounterError(error: Error, _request: unknown, response?: FetcherResponse, context?: GatewayContext): never {
    const failure = subgraphFailure(this.name, error);
    const log = this.failureLog;
    if (context?.logger && Date.now() - log.lastAt < FAILURE_WARN_INTERVAL_MS) {
      log.suppressed++;
    } else if (context?.logger) {
      const details = { subgraph: this.name, code: failure.code, status: response?.status, err: error, ...(log.suppressed && { suppressed: log.suppressed }) };
      context.logger.warn(details, 'subgraph fetch failed');
      Object.assign(log, { lastAt: Date.now(), suppressed: 0 });
    }
    throw failure;
  }

  /**
   * Refuses JSON that is not a GraphQL response (it would read as "no data, no errors");
   * collects the subgraph's cache tag report into the request's context (it never reaches the client).
   */
  override async didReceiveResponse({ response, context }: { response: GatewayGraphQLResponse; context: GatewayContext }): Promise<GatewayGraphQLResponse> {
    if (!('data' in response) && !('errors' in response)) {
      context?.logger?.warn({ subgraph: this.name, status: response.http?.status }, 'subgraph answered JSON that is not a GraphQL response');
      throw new SubgraphUnavailableError(this.name);
    }
    const report = response.extensions?.[CACHE_EXTENSION] as CacheTagReport | undefined;
    if (report && context?.cacheTags) {
      for (const tag of report.entities) context.cacheTags.entities.add(tag);
      for (const tag of report.changed) context.cacheTags.changed.add(tag);
    }
    return response;
  }
}
