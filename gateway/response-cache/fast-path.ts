import { createHash } from 'node:crypto';
import { trace } from '@opentelemetry/api';
import type { KeyValueCache } from '@apollo/utils.keyvaluecache';
import type { Request, RequestHandler, Response } from 'express';
import { authenticatedCaller, type TokenVerifier } from '../../shared/identity/tokens.js';
import type { Identity } from '../../shared/identity/identity.js';
import { throttledWarn, type Logger } from '../../shared/observability/logger.js';
import { nameOperationSpan } from '../../shared/observability/tracing.js';
import { countRequest } from '../observability/metrics-plugin.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { logRequest } from '../observability/request-logging.js';
import { budgetHeaders, type RateLimitCharger } from '../rate-limit/plugin.js';
import { CACHE_STATUS_HEADER, operationKey, type ResponseCacheObserver } from './plugin.js';
import type { CachedResponse, ResponseCacheStore } from './store.js';

interface CacheHitOptions {
  /** The response cache's store: the plugin's (`useResponseCache`), whose entries are answered here. */
  store: ResponseCacheStore;
  /** Apollo Server's persisted-query cache (`persistedQueries.cache`): a hash alone is answered only when Apollo Server knows it. */
  persistedQueries: KeyValueCache<string>;
  /** The context's token verifier: a hit is for the caller the token proves. */
  tokens: TokenVerifier;
  /** The rate limit plugin's charger (`useRateLimit(…).charger`); none when rate limits are off. */
  rateLimit: RateLimitCharger | undefined;
  observer: ResponseCacheObserver;
  metrics: GatewayMetrics;
  /** The request log's threshold for a slow request (`SLOW_OPERATION_MS`). */
  slowMs: number;
  logger: Logger;
}

/** Apollo Server's media types for a single result, in the order it negotiates them (its `MEDIA_TYPES`). */
const SINGLE_RESULT_TYPES = [
  'application/json; charset=utf-8',
  'application/graphql-response+json; charset=utf-8',
  'application/json; callbackSpec=1.0; charset=utf-8',
];
/** What Apollo Server weighs `text/html` against to decide a GET wants its landing page. */
const LANDING_PAGE_RIVALS = [
  'application/json; charset=utf-8',
  'application/graphql-response+json; charset=utf-8',
  'multipart/mixed; deferSpec=20220824',
  'multipart/mixed; incrementalSpec=v0.2',
  'multipart/mixed',
  'text/html',
];
/** Apollo Server's CSRF prevention (on by default): these content types need one of these headers. */
const NON_PREFLIGHTED_CONTENT_TYPES = new Set(['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain']);
const CSRF_PREVENTION_HEADERS = ['x-apollo-operation-name', 'apollo-require-preflight'];
/** Apollo Server's prefix of persisted-query keys in the cache it is given. */
const APQ_CACHE_PREFIX = 'apq:';

const TOKEN_PAIR = /^[!#$%&'*+.^_`|~0-9a-z-]+\/[!#$%&'*+.^_`|~0-9a-z-]+$/;

/** A content type's `type/subtype`, lower-cased; undefined when it is not plainly one. */
function essenceOf(contentType: string): string | undefined {
  const essence = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return TOKEN_PAIR.test(essence) ? essence : undefined;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
const absentOrRecord = (value: unknown) => value === undefined || value === null || isRecord(value);

/** One operation of a request, as Apollo Server would read it. */
interface RequestedOperation {
  query: unknown;
  operationName: unknown;
  variables: unknown;
  extensions: unknown;
}

/** A GET's operation from its query string, each parameter at most once and the JSON ones objects; undefined otherwise. */
function fromSearch(req: Request): RequestedOperation | undefined {
  // Apollo Server reads `req.url` (the trusted documents guard may have rewritten it), not `req.query`.
  const at = req.url.indexOf('?');
  const params = new URLSearchParams(at < 0 ? '' : req.url.slice(at + 1).split('#', 1)[0]);
  const once = (name: string) => {
    const values = params.getAll(name);
    return values.length > 1 ? null : values[0];
  };
  const json = (name: string): unknown => {
    const text = once(name);
    if (text === null) return null;
    if (text === undefined) return undefined;
    try {
      const value: unknown = JSON.parse(text);
      return isRecord(value) ? value : null;
    } catch {
      return null;
    }
  };
  const operation = {
    query: once('query'),
    operationName: once('operationName'),
    variables: json('variables'),
    extensions: json('extensions'),
  };
  return Object.values(operation).includes(null) ? undefined : operation;
}

/**
 * The media type Apollo Server would answer `req` with, when it would run it at all: undefined
 * for anything it would refuse or answer otherwise (CSRF prevention, a GET's content type or
 * landing page, an `Accept` it cannot meet). Negotiated like Apollo Server (`req.accepts` is
 * the same Negotiator).
 */
function answerableAs(req: Request): string | undefined {
  const contentType = req.get('content-type');
  const essence = contentType === undefined ? undefined : essenceOf(contentType);
  if (contentType !== undefined && essence === undefined) return undefined;
  const preflighted = CSRF_PREVENTION_HEADERS.some((header) => !!req.get(header));
  if (!preflighted && (essence === undefined || NON_PREFLIGHTED_CONTENT_TYPES.has(essence))) return undefined;
  if (req.method === 'GET') {
    if (contentType !== undefined && essence !== 'application/json') return undefined;
    if (req.get('accept') && req.accepts(LANDING_PAGE_RIVALS) === 'text/html') return undefined;
  }
  if (!req.get('accept')) return SINGLE_RESULT_TYPES[0];
  return req.accepts(SINGLE_RESULT_TYPES) || undefined;
}

/** What a request would be looked up by, when it is one operation Apollo Server would take as it is. */
interface CacheableRequest {
  /** Apollo Server's `queryHash`. */
  queryHash: string;
  operationName: string | undefined;
  variables: Record<string, unknown> | undefined;
  /** Sent by its persisted query's hash alone: Apollo Server runs it only if its cache holds the document. */
  byHashOnly: boolean;
}

/** The request as the response cache's plugin would key it; undefined for what is left to Apollo Server. */
export function cacheableRequest(req: Request): CacheableRequest | undefined {
  let operation: RequestedOperation | undefined;
  if (req.method === 'GET') operation = fromSearch(req);
  else if (req.method === 'POST' && isRecord(req.body) && Object.keys(req.body).length) {
    const { query, operationName, variables, extensions } = req.body;
    operation = { query, operationName, variables, extensions };
  }
  if (!operation) return undefined;
  const { query, operationName, variables, extensions } = operation;
  if (!absentOrRecord(variables) || !absentOrRecord(extensions)) return undefined;
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') return undefined;
  const persistedQuery = isRecord(extensions) ? extensions.persistedQuery : undefined;
  const hash = isRecord(persistedQuery) ? persistedQuery.sha256Hash : undefined;
  let queryHash: string;
  if (persistedQuery) {
    // A hash sent with its text registers it with Apollo Server's cache: left to Apollo Server,
    // as anything the persisted query guard has not vouched for (gateway/persisted-documents/apq-guard.ts).
    if (query !== undefined || typeof hash !== 'string') return undefined;
    queryHash = hash;
  } else if (typeof query === 'string' && query) {
    queryHash = createHash('sha256').update(query).digest('hex');
  } else {
    return undefined;
  }
  return {
    queryHash,
    operationName: operationName ?? undefined,
    variables: (variables ?? undefined) as Record<string, unknown> | undefined,
    byHashOnly: !!persistedQuery,
  };
}

/**
 * Answers response cache hits before Apollo Server: no parse, validation, planning or plugin
 * pipeline, the body written as it was stored. Mounted after the body and document guards, the
 * persisted query guard and trusted documents (which a hit passes as any request), just before
 * Apollo Server. A hit is still for its caller only (the bearer token verified as the context
 * verifies it; a PRIVATE entry only for its owner), still charged by the rate limit (as its
 * miss was), counted, logged and traced as the plugin path would. Its shape and cost limits
 * are not run again: the entry was stored only after the document passed them.
 *
 * Everything else goes on to Apollo Server as before, where the plugin (./plugin.ts) looks up,
 * stores and purges: a miss, a mutation (never stored), a batch, a request Apollo Server would
 * refuse or answer otherwise, a token that does not verify, the store unavailable, an entry in
 * its last second (Apollo Server would send `no-store` for it). A hit the rate limit refuses
 * goes on too, with its verdict handed over, so the refusal is Apollo Server's as ever.
 */
export function answerCacheHits(options: CacheHitOptions): RequestHandler {
  const warn = throttledWarn(options.logger);
  return (req, res, next) => {
    const started = performance.now();
    answer(req, res, started).then(
      (answered) => answered || next(),
      (error: unknown) => {
        warn({ err: (error as Error).message }, 'response cache fast path failed; answering through Apollo Server');
        next();
      },
    );
  };

  async function answer(req: Request, res: Response, started: number): Promise<boolean> {
    if (Array.isArray(req.body) || !options.store.available()) return false;
    const contentType = answerableAs(req);
    const request = contentType ? cacheableRequest(req) : undefined;
    if (!request) return false;
    let user: Identity | null;
    try {
      user = await authenticatedCaller(req.get('authorization'), options.tokens);
    } catch {
      return false; // refused with its reason by Apollo Server's context
    }
    const hit = await lookup(request, user);
    if (!hit) return false;
    const age = Math.max(0, Math.floor((Date.now() - hit.storedAt) / 1000));
    const remaining = hit.maxAge - age;
    if (remaining <= 0) return false;
    const { operationName, cost, rootFields } = hit.charge;
    let budget;
    if (options.rateLimit) {
      const verdict = await options.rateLimit.charge({ user, operationName, cost, rootFields });
      if (verdict.refusal) {
        options.rateLimit.handOver(verdict);
        return false;
      }
      budget = verdict.budget;
    }

    if (budget) for (const [name, value] of budgetHeaders(budget)) res.setHeader(name, value);
    res.setHeader(CACHE_STATUS_HEADER, 'HIT');
    res.setHeader('age', String(age));
    res.setHeader('cache-control', `max-age=${remaining}, ${hit.scope.toLowerCase()}`);
    res.setHeader('content-type', contentType!);
    // As a miss over GET gets it (shared/http/apollo-middleware.ts), computed at store time; a POST answer gets none.
    if (req.method === 'GET') res.setHeader('etag', hit.entityTag);
    // Express adds the length, and answers a matching If-None-Match with 304.
    res.status(200).send(hit.body);

    options.observer.lookup('HIT');
    countRequest(options.metrics, started)({ operationName, operationType: 'query', errors: undefined, data: true });
    logRequest(
      { operationName, operationType: 'query', status: 200, ms: Math.round(performance.now() - started), errors: undefined },
      options.slowMs,
    );
    const span = trace.getActiveSpan();
    if (span?.isRecording()) nameOperationSpan(span, 'query', operationName);
    return true;
  }

  /** The caller's entry (their own PRIVATE one first, as the plugin looks), if there is one Apollo Server would serve. */
  async function lookup({ queryHash, operationName, variables, byHashOnly }: CacheableRequest, user: Identity | null) {
    const base = operationKey(queryHash, operationName, variables);
    const keys = user ? [`user:${user.userId}:${base}`, `public:${base}`] : [`public:${base}`];
    const [found, known] = await Promise.all([
      options.store.lookup(keys),
      byHashOnly ? options.persistedQueries.get(`${APQ_CACHE_PREFIX}${queryHash}`) : true,
    ]);
    if (!known) return undefined; // Apollo Server answers PERSISTED_QUERY_NOT_FOUND
    return found.entries.find((entry): entry is CachedResponse => entry !== null);
  }
}
