import type { Request, RequestHandler, Response } from 'express';
import { Kind, OperationTypeNode, parse, type FormattedExecutionResult, type GraphQLFormattedError } from 'graphql';
import { ErrorCode } from '../../shared/errors/codes.js';
import { requestScope } from '../../shared/http/request-scope.js';
import { authenticate, type TokenVerifier } from '../../shared/identity/tokens.js';
import { tokenExpiry, type Admit } from './admission.js';
import type { Release, SubscriptionLimits } from './limits.js';
import type { SubscriptionObserver, SubscriptionTransport } from './observer.js';

export interface HttpStreamsOptions {
  admit: Admit;
  tokens: TokenVerifier;
  limits: SubscriptionLimits;
  keepAliveMs: number;
  observer: SubscriptionObserver;
}

/** How a streamed response frames its events. */
interface Framing {
  transport: SubscriptionTransport;
  contentType: string;
  /** Written once, before the first event. */
  start: string;
  event(result: FormattedExecutionResult): string;
  heartbeat: string;
  end: string;
}

export const BOUNDARY = 'graphql';
export const DELIMITER = `\r\n--${BOUNDARY}`;
/**
 * One part, followed at once by the next delimiter: a multipart reader (Apollo Client's) knows
 * a part is whole only when it sees the delimiter after it, so an event must not wait for the
 * next part (a heartbeat, seconds later) to be read. The stream opens with a delimiter, and the
 * last one becomes the close delimiter (`--graphql--`) with the `end`.
 */
export const part = (json: string) => `\r\nContent-Type: application/json; charset=utf-8\r\n\r\n${json}${DELIMITER}`;

/**
 * A result without `data` ends the subscription (the token expired, shutdown, a subgraph lost,
 * a slow consumer, a refusal by the subgraph): Apollo's protocol sends such a transport error as
 * `{"payload":null,"errors":[…]}`, which Apollo Client reports as a protocol error, not as the
 * GraphQL errors of an event.
 */
const envelope = (result: FormattedExecutionResult) => ('data' in result ? { payload: result } : { payload: null, errors: result.errors });

/** Apollo's multipart HTTP subscriptions (`subscriptionSpec=1.0`): each event a `{"payload":…}` part, `{}` as heartbeat. */
const multipart: Framing = {
  transport: 'multipart',
  contentType: `multipart/mixed; boundary="${BOUNDARY}"; subscriptionSpec=1.0`,
  start: DELIMITER,
  event: (result) => part(JSON.stringify(envelope(result))),
  heartbeat: part('{}'),
  end: '--\r\n',
};

/** GraphQL over Server-Sent Events, distinct connections mode (what graphql-sse's client speaks): `next` events, then `complete`. */
const sse: Framing = {
  transport: 'sse',
  contentType: 'text/event-stream; charset=utf-8',
  start: '',
  event: (result) => `event: next\ndata: ${JSON.stringify(result)}\n\n`,
  heartbeat: ':\n\n',
  end: 'event: complete\ndata:\n\n',
};

/** Whether the client takes only an event stream for its answer (graphql-sse's client: `Accept: text/event-stream`), no JSON. */
export function eventStreamOnly(req: Request): boolean {
  return /text\/event-stream/i.test(req.get('accept') ?? '') && !req.accepts(['application/json', 'application/graphql-response+json']);
}

/**
 * Whether a refusal goes to an event-stream-only client inside an accepted stream (a `next`
 * event with the errors, then `complete`) rather than as a JSON 400: the GraphQL over SSE
 * protocol asks so for what fails before execution (validation, variables, the limits on the
 * operation), since a client (EventSource, graphql-sse's) learns nothing from a failed
 * connection but its status. A request that is not GraphQL at all (a document that does not
 * parse, a malformed body) keeps its 400, as in graphql-sse's own server; refusals of the
 * caller or its rate (401, 403, 429) keep theirs.
 */
export function refusedInStream(req: Request, status: number, errors: readonly GraphQLFormattedError[] | undefined): boolean {
  return status === 400 && !!errors?.length && eventStreamOnly(req) && errors.every((e) => !NOT_GRAPHQL.has(e.extensions?.code));
}

/** The codes of a request that is not GraphQL at all: refused with 400 on every transport. */
const NOT_GRAPHQL = new Set<unknown>([ErrorCode.GRAPHQL_PARSE_FAILED, ErrorCode.BAD_REQUEST]);

/** One whole answer (`json`, a GraphQL response as Apollo Server wrote it) as a finished event stream: a `next` event, then `complete`. */
export function sendAsEventStream(res: Response, json: string): void {
  res.status(200).set({ 'content-type': sse.contentType, 'cache-control': 'no-store' });
  // Apollo Server ends its JSON with a newline; inside the event it would end the data line early.
  res.end(`event: next\ndata: ${json.trimEnd()}\n\n${sse.end}`);
}

function framingOf(accept: string | undefined): Framing | undefined {
  if (!accept) return undefined;
  if (/multipart\/mixed/i.test(accept) && /subscriptionSpec/i.test(accept)) return multipart;
  if (/text\/event-stream/i.test(accept)) return sse;
  return undefined;
}

/**
 * Subscriptions over HTTP, for a POST whose `Accept` asks for multipart (`subscriptionSpec`) or
 * for an event stream: after the HTTP guards (body, document, trusted documents), before the
 * response cache. The request is admitted through Apollo Server's pipeline (`admit`); a refusal
 * is an ordinary JSON error response with its status (over SSE, to a client that takes only
 * the stream, what fails validation is a `next` event: `refusedInStream`), an admitted subscription streams its
 * events with heartbeats until it ends, the client leaves, or the gateway shuts down. Anything
 * else goes on to Apollo Server.
 */
export function httpSubscriptions({ admit, tokens, limits, keepAliveMs, observer }: HttpStreamsOptions): RequestHandler {
  return (req, res, next) => {
    const framing = req.method === 'POST' ? framingOf(req.get('accept')) : undefined;
    const body = req.body as { query?: unknown } | undefined;
    if (!framing || !isSubscription(body)) return next();
    void serve(framing, req, body, res).catch(next);
  };

  async function serve(framing: Framing, req: Request, body: Record<string, unknown>, res: Response) {
    const authorization = req.get('authorization');
    const { clientIp, requestId } = requestScope();
    const releaseConnection = limits.connection(clientIp);
    if (typeof releaseConnection !== 'function') return refuse(res, 429, [releaseConnection]);
    // One stream is one subscription: it counts against its caller as a WebSocket one does.
    const releaseSubscription = limits.subscription(await callerOf(authorization, clientIp));
    if (typeof releaseSubscription !== 'function') {
      releaseConnection();
      return refuse(res, 429, [releaseSubscription]);
    }
    const release: Release = () => {
      releaseSubscription();
      releaseConnection();
    };
    const admission = await admit({ body, authorization, clientIp, requestId, transport: framing.transport, guarded: true });
    if ('errors' in admission) {
      release();
      if (framing === sse && refusedInStream(req, admission.status, admission.errors))
        return sendAsEventStream(res, JSON.stringify({ errors: admission.errors }));
      return refuse(res, admission.status, admission.errors);
    }
    if ('result' in admission) {
      release();
      if (framing === sse) return sendAsEventStream(res, JSON.stringify(admission.result));
      return res.status(200).json(admission.result);
    }
    const { stream, subgraph } = admission;
    res.status(200).set({ 'content-type': framing.contentType, 'cache-control': 'no-store', connection: 'keep-alive' });
    res.flushHeaders();
    if (framing.start) res.write(framing.start);
    observer.connectionOpened(framing.transport);
    observer.subscriptionStarted(framing.transport, subgraph);
    // A client that is not reading gets no more heartbeats piled up behind its events.
    const heartbeat = setInterval(() => res.writableNeedDrain || res.write(framing.heartbeat), keepAliveMs);
    const closed = () => void stream.return?.();
    res.on('close', closed);
    // An expired token ends the subscription then, with an error event, not only at connect.
    const expiresAt = authorization ? tokenExpiry(authorization) : undefined;
    const expiry =
      expiresAt === undefined
        ? undefined
        : setTimeout(
            () => {
              res.write(
                framing.event({ errors: [{ message: 'The access token expired.', extensions: { code: ErrorCode.UNAUTHENTICATED } }] }),
              );
              void stream.return?.();
            },
            Math.max(0, expiresAt - Date.now()),
          );
    try {
      for await (const result of stream) {
        if (!res.writable) break;
        // Waiting for the client to take what was written leaves the next events in the
        // subscription's bounded queue, not in the response's unbounded buffer.
        if (!res.write(framing.event(result)) && !(await drained(res))) break;
        observer.eventDelivered(framing.transport, subgraph);
      }
      if (res.writable) res.end(framing.end);
    } finally {
      clearInterval(heartbeat);
      clearTimeout(expiry);
      res.off('close', closed);
      release();
      observer.subscriptionEnded(framing.transport, subgraph);
      observer.connectionClosed(framing.transport);
    }
  }

  /** Who a subscription counts against: the token's user, or the address for anonymous callers (a refused token is admission's to answer). */
  async function callerOf(authorization: string | undefined, clientIp: string): Promise<string> {
    try {
      const user = await authenticate(authorization, tokens);
      if (user) return `user:${user.userId}`;
    } catch {
      // Admission refuses the token with its own error.
    }
    return `ip:${clientIp}`;
  }
}

/** Whether the response's buffer drained (true) or the client went first (false). */
export function drained(res: Response): Promise<boolean> {
  return new Promise((resolve) => {
    const settle = (outcome: boolean) => () => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(outcome);
    };
    const onDrain = settle(true);
    const onClose = settle(false);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}

/** Whether the request's operation is a subscription (an unparsable one goes on to Apollo Server, which says why). */
function isSubscription(body: { query?: unknown; operationName?: unknown } | undefined): body is Record<string, unknown> {
  if (typeof body?.query !== 'string') return false;
  try {
    const operations = parse(body.query).definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
    const operation = typeof body.operationName === 'string' ? operations.find((o) => o.name?.value === body.operationName) : operations[0];
    return operation?.operation === OperationTypeNode.SUBSCRIPTION;
  } catch {
    return false;
  }
}

function refuse(res: Response, status: number, errors: readonly unknown[]) {
  res.status(status).json({ errors });
}
