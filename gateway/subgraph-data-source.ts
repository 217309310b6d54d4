import { randomUUID } from 'node:crypto';
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { CACHE_EXTENSION, type CacheTagReport } from '../shared/cache-tags.js';
import { REQUEST_ID_HEADER } from '../shared/http.js';
import { signIdentity } from '../shared/identity.js';
import type { GatewayContext } from './context.js';

/**
 * Fetches from a subgraph over HTTP, with the caller's identity signed for the subgraph and
 * the request id, so logs join up across processes.
 */
export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(options: { url: string; signingSecret: string }) {
    super({ url: options.url });
    this.signingSecret = options.signingSecret;
  }

  private readonly signingSecret: string;

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    // Composition runs outside any client request: it is signed as anonymous, under an id of its own.
    const client = context as Partial<GatewayContext> | undefined;
    const requestId = client?.requestId ?? randomUUID();
    request.http?.headers.set(REQUEST_ID_HEADER, requestId);
    for (const [name, value] of Object.entries(signIdentity(this.signingSecret, client?.user ?? null, requestId))) {
      request.http?.headers.set(name, value);
    }
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
