import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { Fetcher } from '@apollo/utils.fetcher';
import { GraphQLError } from 'graphql';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { CACHE_EXTENSION, type CacheTagReport } from '../shared/cache-tags.js';
import { signedRequestHeaders } from '../shared/identity.js';
import type { GatewayContext } from './context.js';
import { ErrorCode } from '../shared/errors.js';

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
  constructor(options: { name: string; url: string; signingSecret: string; subgraphTimeoutMs: number }) {
    super({ url: options.url, fetcher: fetcherWithTimeout(options.subgraphTimeoutMs) });
    this.name = options.name;
    this.signingSecret = options.signingSecret;
  }

  private readonly name: string;
  private readonly signingSecret: string;

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    // Composition runs outside any client request: it is signed as anonymous, under an id of its own.
    const client = context as Partial<GatewayContext> | undefined;
    for (const [name, value] of Object.entries(signedRequestHeaders(this.signingSecret, client?.user ?? null, client?.requestId))) {
      request.http?.headers.set(name, value);
    }
    if (client?.deadline) request.http?.headers.set(DEADLINE_HEADER, String(client.deadline));
  }

  override didEncounterError(error: Error): never {
    if (error.name === 'TimeoutError' || error.name === 'AbortError') {
      throw new GraphQLError(`The ${this.name} subgraph did not answer in time.`, { extensions: { code: ErrorCode.GATEWAY_TIMEOUT, subgraph: this.name } });
    }
    throw error;
  }

  /** Collects the subgraph's cache tag report into the request's context (it never reaches the client). */
  override async didReceiveResponse({ response, context }: { response: GatewayGraphQLResponse; context: GatewayContext }): Promise<GatewayGraphQLResponse> {
    const report = response.extensions?.[CACHE_EXTENSION] as CacheTagReport | undefined;
    if (report && context?.cacheTags) {
      for (const tag of report.entities) context.cacheTags.entities.add(tag);
      for (const tag of report.changed) context.cacheTags.changed.add(tag);
    }
    return response;
  }
}
