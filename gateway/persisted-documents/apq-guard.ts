import { createHash } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { BadRequestError, ErrorCode, sendError, TesseraError } from '../../shared/errors/errors.js';
import { requestScope } from '../../shared/http/request-scope.js';

/** The only version of Apollo's automatic persisted query protocol. */
const APQ_VERSION = 1;
// Lower-case, as Apollo Server computes and compares it.
const sha256Hex = /^[0-9a-f]{64}$/;

/** Why an operation's `extensions.persistedQuery` cannot be honoured; undefined when it can (or is absent). */
export function persistedQueryRefusal(operation: unknown): TesseraError | undefined {
  if (typeof operation !== 'object' || operation === null) return undefined;
  const { query, extensions } = operation as { query?: unknown; extensions?: unknown };
  // Not an object: Apollo Server refuses the extensions themselves with BAD_REQUEST.
  if (typeof extensions !== 'object' || extensions === null) return undefined;
  const persistedQuery = (extensions as { persistedQuery?: unknown }).persistedQuery;
  if (persistedQuery === undefined || persistedQuery === null) return undefined;
  if (typeof persistedQuery !== 'object' || Array.isArray(persistedQuery)) {
    return new BadRequestError('extensions.persistedQuery must be an object: { "version": 1, "sha256Hash": "<hex sha256 of the query>" }.');
  }
  const { version, sha256Hash } = persistedQuery as { version?: unknown; sha256Hash?: unknown };
  if (version !== APQ_VERSION) {
    return new TesseraError(
      `Persisted query version ${JSON.stringify(version ?? null)} is not supported; send "version": ${APQ_VERSION}.`,
      ErrorCode.PERSISTED_QUERY_VERSION_NOT_SUPPORTED,
      { extensions: { supportedVersions: [APQ_VERSION] } },
    );
  }
  if (typeof sha256Hash !== 'string' || !sha256Hex.test(sha256Hash)) {
    return new BadRequestError('extensions.persistedQuery.sha256Hash must be the sha256 of the query, as 64 lower-case hex digits.');
  }
  if (typeof query === 'string' && createHash('sha256').update(query).digest('hex') !== sha256Hash) {
    return new TesseraError(
      'extensions.persistedQuery.sha256Hash is not the sha256 of the query sent with it; hash the exact query text (UTF-8) and send it again.',
      ErrorCode.PERSISTED_QUERY_HASH_MISMATCH,
    );
  }
  return undefined;
}

/** A GET's operation from its query string; `extensions` that is not JSON is left to Apollo Server to refuse. */
function fromQueryString(req: Request): unknown {
  const { query, extensions } = req.query;
  try {
    return { query, extensions: typeof extensions === 'string' ? JSON.parse(extensions) : undefined };
  } catch {
    return undefined;
  }
}

/**
 * Automatic persisted queries whose extension is malformed, of another version, or whose
 * hash is not the query's, refused with 400 and a code of their own, before Apollo Server
 * reads them. Apollo Server refuses the last two itself, but with errors that carry no code:
 * they would reach clients as INTERNAL_SERVER_ERROR (with a stack trace in development) and
 * be logged as unexpected. They are the client's mistakes, so they are logged at info.
 * A hash that is well formed but unknown is left to Apollo Server (PERSISTED_QUERY_NOT_FOUND:
 * the protocol's request to send the query).
 */
export function persistedQueryGuard(): RequestHandler {
  return (req, res, next) => {
    const body: unknown = req.method === 'GET' ? fromQueryString(req) : req.body;
    const operations = Array.isArray(body) ? body : [body];
    for (const operation of operations) {
      const refusal = persistedQueryRefusal(operation);
      if (!refusal) continue;
      requestScope().logger.info({ code: refusal.code }, 'persisted query refused');
      sendError(res, refusal);
      return;
    }
    next();
  };
}
