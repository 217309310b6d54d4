import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  GraphQLError,
  parse,
  type ExecutionArgs,
  type FormattedExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import { CloseCode, type Context } from 'graphql-ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { ErrorCode } from '../../shared/errors/codes.js';
import { authenticate, type TokenVerifier } from '../../shared/identity/tokens.js';
import type { Logger } from '../../shared/observability/logger.js';
import { tokenExpiry, type Admit } from './admission.js';
import { limitError, type Release, type SubscriptionLimits } from './limits.js';
import { NO_SUBGRAPH, type SubscriptionObserver } from './observer.js';

export interface GraphqlWsOptions {
  admit: Admit;
  tokens: TokenVerifier;
  limits: SubscriptionLimits;
  perConnection: number;
  idleTimeoutMs: number;
  keepAliveMs: number;
  /** Largest message a client may send (its subscribe's document and variables). */
  maxMessageBytes: number;
  /** The schema clients see: graphql-ws wants one for the execution arguments it passes along. */
  schema(): GraphQLSchema;
  /** The client's address of an upgrade request (the app's trusted proxies honoured). */
  clientIpOf(request: IncomingMessage): string;
  observer: SubscriptionObserver;
  logger: Logger;
}

/** What one WebSocket connection holds, beside graphql-ws's own state. */
interface ConnectionState {
  authorization?: string;
  /** The caller's user id, or the address for anonymous callers: what per-user limits count. */
  caller: string;
  releaseConnection: Release;
  subscriptions: Map<string, { release: Release; stream?: AsyncIterableIterator<FormattedExecutionResult>; subgraph?: string }>;
  idleTimer?: NodeJS.Timeout;
  expiryTimer?: NodeJS.Timeout;
}

/** How long shutdown waits for the last events (the shutdown reason) to go out before closing sockets. */
const CLOSE_FLUSH_MS = 2_000;

/** What graphql-ws is given as the document of an operation sent by its hash only. */
const PERSISTED_PLACEHOLDER = parse('{ __typename }');

type WsContext = Context<Record<string, unknown> | undefined, Extra & { state?: ConnectionState }>;

/** `Authorization` from a `connection_init` payload: `{ authorization }`, `{ Authorization }` or `{ headers: { … } }`. */
function authorizationOf(payload: Record<string, unknown> | undefined): string | undefined {
  const headers = (payload?.headers ?? {}) as Record<string, unknown>;
  const value = payload?.authorization ?? payload?.Authorization ?? headers.authorization ?? headers.Authorization;
  return typeof value === 'string' ? value : undefined;
}

/**
 * GraphQL over WebSocket (`graphql-transport-ws`, the graphql-ws library) on the gateway's
 * `/graphql`. The token comes in `connection_init`'s payload, is verified there (a refused one
 * closes with 4403) and ends the connection with 4403 when it expires; each `subscribe` goes
 * through Apollo Server's pipeline (`admit`), so it meets every limit a query meets.
 */
export function graphqlWsTransport(options: GraphqlWsOptions) {
  const { admit, tokens, limits, perConnection, idleTimeoutMs, keepAliveMs, maxMessageBytes, observer, logger } = options;
  const server = new WebSocketServer({ noServer: true, maxPayload: maxMessageBytes });
  const states = new Set<ConnectionState>();
  const closeIdle = (ctx: WsContext, state: ConnectionState) => {
    clearTimeout(state.idleTimer);
    if (state.subscriptions.size) return;
    state.idleTimer = setTimeout(() => ctx.extra.socket.close(CloseCode.BadRequest, 'Idle: no subscription for too long'), idleTimeoutMs);
    state.idleTimer.unref();
  };
  const disposable = useServer<Record<string, unknown> | undefined, { state?: ConnectionState }>(
    {
      schema: () => options.schema(),
      onConnect: async (ctx: WsContext) => {
        const ip = options.clientIpOf(ctx.extra.request);
        const releaseConnection = limits.connection(ip);
        if (typeof releaseConnection !== 'function') {
          ctx.extra.socket.close(CloseCode.Forbidden, releaseConnection.message);
          return false;
        }
        const authorization = authorizationOf(ctx.connectionParams);
        let caller = `ip:${ip}`;
        try {
          const user = await authenticate(authorization, tokens);
          if (user) caller = `user:${user.userId}`;
        } catch {
          releaseConnection();
          return false;
        }
        const state: ConnectionState = { authorization, caller, releaseConnection, subscriptions: new Map() };
        ctx.extra.state = state;
        states.add(state);
        const expiresAt = authorization ? tokenExpiry(authorization) : undefined;
        if (expiresAt !== undefined) {
          state.expiryTimer = setTimeout(
            () => ctx.extra.socket.close(CloseCode.Forbidden, 'Forbidden: the access token expired'),
            Math.max(0, expiresAt - Date.now()),
          );
          state.expiryTimer.unref();
        }
        observer.connectionOpened('graphql-ws');
        closeIdle(ctx, state);
        return true;
      },
      onSubscribe: async (ctx: WsContext, id, payload) => {
        const state = ctx.extra.state!;
        if (state.subscriptions.size >= perConnection) {
          return [asError(limitError(`More than ${perConnection} subscriptions on one connection.`))];
        }
        const release = limits.subscription(state.caller);
        if (typeof release !== 'function') return [asError(release)];
        state.subscriptions.set(id, { release });
        clearTimeout(state.idleTimer);
        const admission = await admit({
          body: payload,
          authorization: state.authorization,
          clientIp: options.clientIpOf(ctx.extra.request),
          transport: 'graphql-ws',
          guarded: false,
        });
        const held = state.subscriptions.get(id);
        if ('errors' in admission || !held) {
          release();
          state.subscriptions.delete(id);
          closeIdle(ctx, state);
          return 'errors' in admission ? admission.errors.map(asError) : [];
        }
        const stream = 'stream' in admission ? admission.stream : single(admission.result);
        held.stream = stream;
        held.subgraph = 'stream' in admission ? admission.subgraph : NO_SUBGRAPH;
        observer.subscriptionStarted('graphql-ws', held.subgraph);
        // graphql-ws passes a document along; the stream was planned from the admitted one (a
        // persisted query's document may never have been in the message).
        const document = payload.query ? parse(payload.query) : PERSISTED_PLACEHOLDER;
        const args: ExecutionArgs = { schema: options.schema(), document, contextValue: { stream } };
        return args;
      },
      subscribe: (args) => asGraphQLResults((args.contextValue as StreamContext).stream) as never,
      execute: (args) => asGraphQLResults((args.contextValue as StreamContext).stream) as never,
      // What onNext returns replaces the event: nothing.
      onNext: (ctx: WsContext, id) => {
        observer.eventDelivered('graphql-ws', ctx.extra.state?.subscriptions.get(id)?.subgraph ?? NO_SUBGRAPH);
      },
      onComplete: (ctx: WsContext, id) => {
        const state = ctx.extra.state;
        const held = state?.subscriptions.get(id);
        if (!state || !held) return;
        held.release();
        state.subscriptions.delete(id);
        if (held.stream) observer.subscriptionEnded('graphql-ws', held.subgraph ?? NO_SUBGRAPH);
        closeIdle(ctx, state);
      },
      onClose: (ctx: WsContext) => {
        const state = ctx.extra.state;
        if (!state) return;
        clearTimeout(state.idleTimer);
        clearTimeout(state.expiryTimer);
        for (const held of state.subscriptions.values()) {
          held.release();
          if (held.stream) {
            void held.stream.return?.();
            observer.subscriptionEnded('graphql-ws', held.subgraph ?? NO_SUBGRAPH);
          }
        }
        state.subscriptions.clear();
        states.delete(state);
        state.releaseConnection();
        observer.connectionClosed('graphql-ws');
      },
    },
    server,
    keepAliveMs,
  );
  let closing = false;
  const subscribed = () => [...states].reduce((sum, state) => sum + state.subscriptions.size, 0);
  return {
    /** For the HTTP server's `upgrade` event: takes WebSocket requests on `/graphql`, refuses the rest. */
    handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer) {
      if (closing) {
        socket.end('HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\n\r\n');
        return;
      }
      const path = (request.url ?? '').split('?')[0];
      if (path !== '/graphql' && path !== '/') {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
        return;
      }
      server.handleUpgrade(request, socket, head, (ws) => server.emit('connection', ws, request));
    },
    /** Shutdown: every client is told why (close 1001 with the reason), and the sockets close. */
    async close(reason: string) {
      if (closing) return;
      closing = true;
      // The streams have been ended (with their reason as the last event): let graphql-ws send
      // those and `complete` before the sockets close, for a bounded moment.
      const deadline = Date.now() + CLOSE_FLUSH_MS;
      while (subscribed() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      for (const client of server.clients) client.close(1001, reason);
      await disposable.dispose();
      logger.debug('graphql-ws transport closed');
    },
    get connections() {
      return server.clients.size;
    },
  };
}

function asError({ message, path, extensions }: GraphQLFormattedError): GraphQLError {
  return new GraphQLError(message, { path, extensions: extensions ?? { code: ErrorCode.BAD_REQUEST } });
}

type StreamContext = { stream: AsyncIterableIterator<FormattedExecutionResult> };

/** graphql-ws serializes each result's errors itself (`toJSON`): it wants GraphQLErrors, not their JSON. */
function asGraphQLResults(stream: AsyncIterableIterator<FormattedExecutionResult>): AsyncIterableIterator<unknown> {
  return {
    next: async () => {
      const step = await stream.next();
      if (step.done || !step.value.errors) return step;
      return { done: false, value: { ...step.value, errors: step.value.errors.map(asError) } };
    },
    return: async () => (await stream.return?.()) ?? { done: true, value: undefined },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** A single result as a stream (a query or mutation sent over the socket). */
async function* single(result: FormattedExecutionResult): AsyncIterableIterator<FormattedExecutionResult> {
  yield result;
}
