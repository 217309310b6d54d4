import { randomUUID } from 'node:crypto';
import { createServer, maxHeaderSize, STATUS_CODES, type RequestListener, type Server } from 'node:http';
import { Server as NetServer, type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ErrorRequestHandler, Express, RequestHandler } from 'express';
import { BadRequestError, ErrorCode, errorBody, sendError, TesseraError } from '../errors/errors.js';
import type { Logger } from '../observability/logger.js';
import { createRequestScope, currentRequestScope, runInRequestScope, type RequestScopeInput } from './request-scope.js';

export const REQUEST_ID_HEADER = 'x-request-id';
const acceptableRequestId = /^[\w.:-]{1,128}$/;

/**
 * The HTTP edge: takes the caller's `x-request-id` when it is sane, else makes one, echoes it
 * back, and runs the rest of the request in its scope (see ./request-scope.ts). Mount it first.
 */
export function enterRequestScope({ logger, timeoutMs }: Pick<RequestScopeInput, 'logger' | 'timeoutMs'>): RequestHandler {
  return (req, res, next) => {
    const given = req.get(REQUEST_ID_HEADER);
    const requestId = given && acceptableRequestId.test(given) ? given : randomUUID();
    res.setHeader(REQUEST_ID_HEADER, requestId);
    const clientIp = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    runInRequestScope(createRequestScope({ requestId, logger, timeoutMs, clientIp }), next);
  };
}

type ReadinessCheck = () => Promise<{ ready: boolean; [detail: string]: unknown }>;

/**
 * `GET /health`: the process is alive (answers without touching anything). `GET /ready`: it
 * can serve (503 until it can, with the reason); a check that hangs counts as not ready.
 */
export function healthRoutes(app: Express, readiness: ReadinessCheck, timeoutMs = 5_000): void {
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/ready', async (_req, res) => {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the readiness check did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    const report = await Promise.race([readiness(), timedOut])
      .catch((error: unknown) => ({ ready: false, error: error instanceof Error ? error.message : String(error) }))
      .finally(() => clearTimeout(timer));
    res.status(report.ready ? 200 : 503).json({ status: report.ready ? 'ready' : 'not ready', ...report });
  });
}

/** Whether body-parser's refused text is JSON after all: a scalar, which its strict mode refuses. */
function parsesAsJson(body: unknown): boolean {
  if (typeof body !== 'string') return false;
  try {
    JSON.parse(body);
    return true;
  } catch {
    return false;
  }
}

/**
 * Body-parser and other HTTP-level failures as a GraphQL error body (never Express's HTML
 * page with a stack trace), with the status the failure calls for.
 */
export function graphqlErrorHandler(logger: Logger): ErrorRequestHandler {
  return (error: { status?: number; type?: string; message?: string; body?: unknown }, _req, res, _next) => {
    // A refusal of our own (shared/http/json-body.ts) says what it is; body-parser's are BAD_REQUEST.
    if (error instanceof TesseraError) return sendError(res, error);
    const status = typeof error.status === 'number' && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status >= 500) {
      logger.error({ err: error, requestId: currentRequestScope()?.requestId }, 'request failed');
      return sendError(res, new TesseraError('Internal server error', ErrorCode.INTERNAL_SERVER_ERROR));
    }
    const message =
      error.type === 'entity.parse.failed'
        ? parsesAsJson(error.body)
          ? 'The request body is JSON but not an object (or an array, for a batch).'
          : 'The request body is not valid JSON.'
        : error.type === 'entity.too.large'
          ? 'The request body is too large.'
          : (error.message ?? 'Bad request');
    sendError(res, new BadRequestError(message, { status }));
  };
}

/** What a request Node's HTTP parser refused is answered with, by the parser's error code. */
function clientErrorRefusal(code: string | undefined): TesseraError {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return new TesseraError(
        `The request's URL and headers are larger than the ${maxHeaderSize} bytes accepted (a query string, token or cookie too long?).`,
        ErrorCode.HEADERS_TOO_LARGE,
      );
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new BadRequestError('The request did not arrive in time.', { status: 408 });
    default:
      return new BadRequestError('The request is not valid HTTP.');
  }
}

/**
 * Requests Node's HTTP parser refuses (headers over its limit, 16 KB by default; malformed request
 * lines) never reach the app; by default Node answers them with a bare status line. This
 * answers them as every other refusal is answered: a GraphQL error body with a code. As Node
 * does, only when no response has begun on the connection, and the connection is closed
 * after it (the parser cannot go on reading it).
 */
function answerClientErrors(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex & { _httpMessage?: { headersSent?: boolean } }) => {
    if (error.code === 'ECONNRESET' || !socket.writable || socket._httpMessage?.headersSent) {
      socket.destroy();
      return;
    }
    const refusal = clientErrorRefusal(error.code);
    const body = errorBody(refusal);
    socket.end(
      `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    // Ending lets the client read the answer before the connection goes (destroying at once
    // can reset it while the rest of the oversized request is still arriving); an HTTP
    // server's sockets are half-open, so one that never closes its side is cut shortly after.
    setTimeout(() => socket.destroy(), 1_000).unref();
  });
}

/**
 * Listens and resolves once the port is bound; port 0 picks a free one (tests). Takes the app,
 * or the app behind a lifecycle's guard.
 */
export async function listen(app: Express | RequestListener, host: string, port: number): Promise<{ server: Server; url: string }> {
  const server = createServer(app as RequestListener);
  answerClientErrors(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Node closes idle keep-alive sockets after 5 s; a client (the gateway's fetcher) reusing one
  // at that moment gets ECONNRESET. Keep them longer than any client does, so the client closes.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const address = server.address() as AddressInfo;
  const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  return { server, url: `http://${shownHost}:${address.port}` };
}

/**
 * Stops accepting, lets requests in progress finish, and closes keep-alive connections as
 * they fall idle; whatever is still open after `graceMs` is cut. For servers whose clients may
 * lose a request (tests, the metrics listener): an idle connection closed under a client that
 * is writing on it loses that request. A process's shutdown drains with `drainServer`.
 */
export async function closeServer(server: Server, graceMs = 5_000): Promise<void> {
  const sweep = setInterval(() => server.closeIdleConnections(), 50);
  const cut = setTimeout(() => server.closeAllConnections(), graceMs);
  try {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
  } finally {
    clearInterval(sweep);
    clearTimeout(cut);
  }
}

/**
 * Stops accepting and waits until every connection has ended, cutting what is left after
 * `graceMs`. It never closes a connection a client may still write a request on: an idle
 * keep-alive connection, or one whose request has arrived but is not parsed yet, looks
 * the same from here, and closing it loses that request unanswered. Connections end as their
 * client is answered with `Connection: close` (the lifecycle's guard does that while draining),
 * as the client drops them, or by the keep-alive timeout it was told in `Keep-Alive: timeout=N`.
 */
export async function drainServer(server: Server, graceMs: number): Promise<void> {
  const cut = setTimeout(() => server.closeAllConnections(), graceMs);
  try {
    // net's close only stops listening; http.Server#close would also destroy every idle
    // keep-alive connection at once (Node >= 19), racing clients that reuse them.
    await new Promise<void>((resolve) => NetServer.prototype.close.call(server, () => resolve()));
  } finally {
    clearTimeout(cut);
  }
  // No connection is left: http's close now only stops its request-timeout timer, which would
  // otherwise keep the server (and its app) alive. It emits `close` once more; nothing here listens.
  server.close();
}
