import type { Server } from 'node:http';
import {
  createSourceEventStream,
  execute,
  getOperationAST,
  GraphQLError,
  parse,
  validate,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { SubgraphConfig } from '../config/subgraph-config.js';
import { ErrorCode } from '../errors/errors.js';
import { REQUEST_ID_HEADER } from '../http/http.js';
import type { Identity } from '../identity/identity.js';
import type { NonceStore } from '../identity/nonce-store.js';
import { IDENTITY_HEADER, SIGNATURE_HEADER, verifySignature, verifySignedRequest } from '../identity/signed-requests.js';
import type { Logger } from '../observability/logger.js';
import type { ContextInput } from './context.js';

/** Who a subscription is for, as its signature proved: each of its events gets a context made from this. */
interface SubscriptionCaller {
  requestId: string;
  user: Identity | null;
}

export interface SubscriptionServerOptions {
  /** The subgraph's HTTP server: its upgrades to `/graphql` are served here. */
  server: Server;
  /** The schema the HTTP endpoint serves. */
  schema: GraphQLSchema;
  /** The HTTP endpoint's context factory: a fresh context (EntityManager fork, loaders) for each event. */
  createContext(input: ContextInput): object;
  config: Pick<SubgraphConfig, 'signatureMaxAgeMs'> & { signingSecret: string };
  nonces: NonceStore;
  /** Formats each error an event carries as the HTTP endpoint does (codes kept, unexpected ones masked). */
  formatError(error: GraphQLError): ReturnType<GraphQLError['toJSON']>;
  logger: Logger;
}

export interface SubscriptionServer {
  /** Closes every WebSocket (code 1001, going away): their subscriptions complete. */
  close(): Promise<void>;
}

const unauthenticated = (message: string) => new GraphQLError(message, { extensions: { code: ErrorCode.UNAUTHENTICATED } });

const isAsyncIterable = (value: unknown): value is AsyncIterable<unknown> =>
  typeof value === 'object' && value !== null && Symbol.asyncIterator in value;

/**
 * graphql-js's `subscribe`, but each event is executed with a context of its own: the same
 * caller and request id, a fresh EntityManager fork and fresh DataLoaders, as for a request
 * over HTTP. With one context for the whole subscription, a loader would answer every event
 * after the first from its cache (the quantity of the first stock change, forever).
 */
async function subscribePerEvent(
  args: ExecutionArgs,
  contextFor: () => object,
): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const events = await createSourceEventStream({ ...args, contextValue: contextFor() });
  if (!isAsyncIterable(events)) return events;
  const source = events[Symbol.asyncIterator]();
  // Not an async generator: one waiting for the next event could not be ended until that event came.
  const iterator: AsyncIterableIterator<ExecutionResult> = {
    async next() {
      const event = await source.next();
      if (event.done) return { done: true, value: undefined };
      return { done: false, value: await execute({ ...args, rootValue: event.value, contextValue: contextFor() }) };
    },
    async return() {
      await source.return?.();
      return { done: true, value: undefined };
    },
    async throw(error: unknown) {
      await source.return?.();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return iterator;
}

/**
 * The subgraph's subscriptions, over GraphQL over WebSocket (`graphql-transport-ws`, the
 * graphql-ws library) on its own port and path, for the gateway. The gateway's signed identity
 * (shared/identity/signed-requests.ts) is checked twice: at `connection_init`, whose payload is the
 * three signed headers, only whether the HMAC verifies (else the socket is closed with 4403);
 * at each `subscribe`, in full, against the `{ query, variables }` it carries, with the same
 * window and nonce store as over HTTP, so a connection's signature serves one operation only.
 * Only subscriptions are served here; queries and mutations go over HTTP.
 */
export function serveSubscriptions(options: SubscriptionServerOptions): SubscriptionServer {
  const { server, schema, createContext, config, nonces, formatError, logger } = options;
  const wss = new WebSocketServer({ noServer: true });
  const onUpgrade = (request: Parameters<WebSocketServer['handleUpgrade']>[0], socket: import('node:stream').Duplex, head: Buffer) => {
    if (new URL(request.url ?? '/', 'http://subgraph').pathname !== '/graphql') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  };
  server.on('upgrade', onUpgrade);
  const serving = useServer<Record<string, unknown> | undefined>(
    {
      schema,
      onConnect: ({ connectionParams: params }) => {
        const identity = params?.[IDENTITY_HEADER];
        const signature = params?.[SIGNATURE_HEADER];
        const requestId = params?.[REQUEST_ID_HEADER];
        return (
          typeof identity === 'string' &&
          typeof signature === 'string' &&
          typeof requestId === 'string' &&
          verifySignature(config.signingSecret, identity, signature)
        );
      },
      onSubscribe: async ({ connectionParams: params }, _id, payload) => {
        let caller: SubscriptionCaller;
        try {
          const requestId = params?.[REQUEST_ID_HEADER] as string;
          const user = await verifySignedRequest(
            config.signingSecret,
            {
              identity: params?.[IDENTITY_HEADER] as string,
              signature: params?.[SIGNATURE_HEADER] as string,
              requestId,
              body: Buffer.from(JSON.stringify({ query: payload.query, variables: payload.variables })),
            },
            { maxAgeMs: config.signatureMaxAgeMs, nonces },
          );
          caller = { requestId, user };
        } catch (error) {
          return [unauthenticated((error as Error).message)];
        }
        let document;
        try {
          document = parse(payload.query);
        } catch (error) {
          return [error as GraphQLError];
        }
        const invalid = validate(schema, document);
        if (invalid.length) return invalid;
        if (getOperationAST(document, payload.operationName)?.operation !== 'subscription') {
          return [
            new GraphQLError('Only subscriptions are served over WebSocket; send queries and mutations over HTTP.', {
              extensions: { code: ErrorCode.BAD_REQUEST },
            }),
          ];
        }
        const args: ExecutionArgs = {
          schema,
          document,
          variableValues: payload.variables,
          operationName: payload.operationName,
          // Not the context yet: what each event's context is made from (below).
          contextValue: caller,
        };
        return args;
      },
      subscribe: (args) => {
        const caller = args.contextValue as SubscriptionCaller;
        return subscribePerEvent(args, () => createContext(caller));
      },
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: result.errors.map((error) => formatError(error)) } : undefined,
      onError: (_ctx, id, _payload, errors) => {
        logger.debug({ id, errors: errors.map((error) => error.message) }, 'subscription refused');
      },
    },
    wss,
  );
  // Once: at the drain's start and again when the subgraph stops.
  let closed: Promise<void> | undefined;
  return {
    close() {
      server.off('upgrade', onUpgrade);
      closed ??= Promise.resolve(serving.dispose());
      return closed;
    },
  };
}
