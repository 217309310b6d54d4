import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { REQUEST_ID_HEADER } from '../shared/http.js';
import type { GatewayContext } from './context.js';

/** Fetches from a subgraph over HTTP, carrying the request id so logs join up across processes. */
export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    // Composition and health checks run outside any client request and carry no context.
    const requestId = (context as Partial<GatewayContext> | undefined)?.requestId;
    if (requestId) request.http?.headers.set(REQUEST_ID_HEADER, requestId);
  }
}
