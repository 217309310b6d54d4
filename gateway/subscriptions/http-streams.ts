import type { RequestHandler, Response } from 'express';
import { Kind, OperationTypeNode, parse, type FormattedExecutionResult } from 'graphql';
import { ErrorCode } from '../../shared/errors/codes.js';
import { requestScope } from '../../shared/http/request-scope.js';
import { tokenExpiry, type Admit } from './admission.js';
import type { Release, SubscriptionLimits } from './limits.js';
import type { SubscriptionObserver, SubscriptionTransport } from './observer.js';

export interface HttpStreamsOptions {
  admit: Admit;
  limits: SubscriptionLimits;
  keepAliveMs: number;
  observer: SubscriptionObserver;
}

/** How a streamed response frames its events. */
interface Framing {
  transport: SubscriptionTransport;
  contentType: string;
  /** Written once, before anything else. */
  start: string;
  event(result: FormattedExecutionResult): string;
  heartbeat: string;
  end: string;
}

const BOUNDARY = 'graphql';
const DELIMITER = `\r\n--${BOUNDARY}`;
const part = (json: string) => `\r\nContent-Type: application/json; charset=utf-8\r\n\r\n${json}${DELIMITER}`;

/**
 * Apollo's multipart HTTP subscriptions (`subscriptionSpec=1.0`): each event a `{"payload":…}`
 * part, `{}` as heartbeat. A part ends where the next delimiter begins (RFC 2046), so each is
 * written with the delimiter after it: a client (Apollo Client's parser, say) reads an event as
 * it comes, not once the next heartbeat closes it.
 */
const multipart: Framing = {
  transport: 'multipart',
  contentType: `multipart/mixed; boundary="${BOUNDARY}"; subscriptionSpec=1.0`,
  start: DELIMITER,
  event: (result) => part(JSON.stringify({ payload: result })),
  heartbeat: part('{}'),
  // Closes the delimiter the last part ended with.
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
 * is an ordinary JSON error response with its status, an admitted subscription streams its
 * events with heartbeats until it ends, the client leaves, or the gateway shuts down. Anything
 * else goes on to Apollo Server.
 */
export function httpSubscriptions({ admit, limits, keepAliveMs, observer }: HttpStreamsOptions): RequestHandler {
  return (req, res, next) => {
    const framing = req.method === 'POST' ? framingOf(req.get('accept')) : undefined;
    const body = req.body as { query?: unknown } | undefined;
    if (!framing || !isSubscription(body)) return next();
    void serve(framing, req.get('authorization'), body, res).catch(next);
  };

  async function serve(framing: Framing, authorization: string | undefined, body: Record<string, unknown>, res: Response) {
    const { clientIp, requestId } = requestScope();
    const releaseConnection = limits.connection(clientIp);
    if (typeof releaseConnection !== 'function') return refuse(res, 429, [releaseConnection]);
    const release: Release = releaseConnection;
    const admission = await admit({ body, authorization, clientIp, requestId, transport: framing.transport, guarded: true });
    if ('errors' in admission) {
      release();
      return refuse(res, admission.status, admission.errors);
    }
    if ('result' in admission) {
      release();
      return res.status(200).json(admission.result);
    }
    const { stream } = admission;
    res.status(200).set({ 'content-type': framing.contentType, 'cache-control': 'no-store', connection: 'keep-alive' });
    res.flushHeaders();
    res.write(framing.start);
    observer.connectionOpened(framing.transport);
    observer.subscriptionStarted(framing.transport);
    const heartbeat = setInterval(() => res.write(framing.heartbeat), keepAliveMs);
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
        res.write(framing.event(result));
        observer.eventDelivered(framing.transport);
      }
      if (res.writable) res.end(framing.end);
    } finally {
      clearInterval(heartbeat);
      clearTimeout(expiry);
      res.off('close', closed);
      release();
      observer.subscriptionEnded(framing.transport);
      observer.connectionClosed(framing.transport);
    }
  }
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
