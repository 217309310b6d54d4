import { HeaderMap, type ApolloServer } from '@apollo/server';
import type { KeyValueCache } from '@apollo/utils.keyvaluecache';
import type { Request, RequestHandler, Response } from 'express';
import type { GraphQLFormattedError } from 'graphql';
import type { GatewayContext } from '../context.js';
import type { JsonObject } from '../executor/execute-plan.js';
import type { IncrementalPayload } from '../executor/run-defer.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { BOUNDARY, DELIMITER, drained, eventStreamOnly, part, refusedInStream, sendAsEventStream } from '../subscriptions/http-streams.js';

type IncrementalTransport = 'multipart' | 'sse';

/** How an incremental response frames its payloads. */
interface Framing {
  transport: IncrementalTransport;
  contentType: string;
  /** Written once, before the first payload. */
  start: string;
  payload(payload: IncrementalPayload): string;
  end: string;
}

/**
 * Apollo's incremental delivery over multipart (`deferSpec=20220824`, what Apollo Client and
 * Apollo Router speak): each payload a part, followed at once by the next delimiter (a reader
 * knows a part is whole only when it sees one), the last delimiter closed with `--`.
 */
const multipart: Framing = {
  transport: 'multipart',
  contentType: `multipart/mixed; boundary="${BOUNDARY}"; deferSpec=20220824`,
  start: DELIMITER,
  payload: (payload) => part(JSON.stringify(payload)),
  end: '--\r\n',
};

/** The same payloads as Server-Sent Events: a `next` event each, then `complete`. */
const sse: Framing = {
  transport: 'sse',
  contentType: 'text/event-stream; charset=utf-8',
  start: '',
  payload: (payload) => `event: next\ndata: ${JSON.stringify(payload)}\n\n`,
  end: 'event: complete\ndata:\n\n',
};

function framingOf(accept: string | undefined): Framing | undefined {
  if (!accept) return undefined;
  if (/multipart\/mixed/i.test(accept) && /deferSpec=20220824/i.test(accept)) return multipart;
  if (/text\/event-stream/i.test(accept)) return sse;
  return undefined;
}

export interface HttpIncrementalOptions {
  apollo: ApolloServer<GatewayContext>;
  /** The GraphQL context of a request with this `Authorization` (what every HTTP request gets). */
  contextFor(authorization: string | undefined): Promise<Omit<GatewayContext, 'incremental'>>;
  metrics: Pick<GatewayMetrics, 'deferredParts' | 'deferredFirstPart' | 'deferredLastPart'>;
  /** Apollo Server's persisted-query cache: a request by hash alone is incremental when the stored document uses `@defer`. */
  persistedQueries: KeyValueCache<string>;
}

// Apollo Server's key for a persisted document in `persistedQueries.cache`.
const APQ_CACHE_PREFIX = 'apq:';

/**
 * `@defer` over HTTP, for a POST whose document uses it and whose `Accept` asks for incremental
 * delivery (multipart `deferSpec=20220824`, or an event stream): after the HTTP guards, before
 * the response cache's fast path. The request goes through Apollo Server's pipeline like any
 * (token, validation with the shape limits, cost, rate limit, every plugin) with the
 * `incremental` slot in its context, where the executor leaves the stream of its parts; they
 * are written as they come, within the request's deadline. A request answered without a stream
 * (a response cache hit, a plan with nothing deferred) is one part with the whole result; a
 * refusal is the pipeline's JSON answer with its status (over SSE, what fails validation is an
 * event: `refusedInStream`). A query or mutation without `@defer` from a client that takes only
 * an event stream is answered as one `next` event. Anything else goes on (a `@defer` from a
 * client accepting neither is ignored: the whole result at once).
 */
export function httpIncremental({ apollo, contextFor, metrics, persistedQueries }: HttpIncrementalOptions): RequestHandler {
  return (req, res, next) => {
    const framing = req.method === 'POST' ? framingOf(req.get('accept')) : undefined;
    if (!framing) return next();
    void documentOf(req.body)
      .then((query) => {
        if (query?.includes('@defer')) return serve(framing, req, res);
        if (framing === sse && eventStreamOnly(req)) return serveWhole(req, res);
        next();
      })
      .catch(next);
  };

  /**
   * A query or mutation from a client that takes only an event stream (graphql-sse's client
   * asks every operation so): the pipeline's whole answer as one `next` event, then `complete`.
   */
  async function serveWhole(req: Request, res: Response) {
    sendPipelineAnswer(req, res, await throughPipeline(req), true);
  }

  /** The request through Apollo Server's pipeline as a JSON POST, with its caller's context and `incremental`'s slot when given. */
  function throughPipeline(req: Request, incremental?: GatewayContext['incremental']): Promise<PipelineResponse> {
    const authorization = req.get('authorization');
    const headers = new HeaderMap([['content-type', 'application/json']]);
    if (authorization) headers.set('authorization', authorization);
    return apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: 'POST', headers, search: '', body: req.body as unknown },
      context: async () => ({ ...(await contextFor(authorization)), ...(incremental && { incremental }) }),
    });
  }

  /** The request's document: its `query`, or the persisted one for its hash alone (unknown: none). */
  async function documentOf(body: unknown): Promise<string | undefined> {
    const { query, extensions } = (body ?? {}) as { query?: unknown; extensions?: { persistedQuery?: { sha256Hash?: unknown } } };
    if (typeof query === 'string') return query;
    const hash = extensions?.persistedQuery?.sha256Hash;
    return typeof hash === 'string' ? persistedQueries.get(`${APQ_CACHE_PREFIX}${hash}`) : undefined;
  }

  async function serve(framing: Framing, req: Request, res: Response) {
    const receivedAt = performance.now();
    const slot: NonNullable<GatewayContext['incremental']> = {};
    const response = await throughPipeline(req, slot);
    const answered = answerOf(response);
    const stream =
      slot.stream ??
      (answered?.data ? one({ data: answered.data, ...(answered.errors && { errors: answered.errors }), hasNext: false }) : undefined);
    if (!stream) {
      // Refused, or errors without data: the pipeline's answer as it would be sent.
      sendPipelineAnswer(req, res, response, framing === sse);
      return;
    }
    res.status(200).set({ 'content-type': framing.contentType, 'cache-control': 'no-store' });
    res.flushHeaders();
    if (framing.start) res.write(framing.start);
    const closed = () => void stream.return?.();
    res.on('close', closed);
    let first = true;
    try {
      for await (const payload of stream) {
        if (!res.writable) break;
        // The pipeline's extensions (the cost step's) go with the first part, as they would with a whole answer.
        const written = res.write(
          framing.payload(first && answered?.extensions ? { ...payload, extensions: answered.extensions } : payload),
        );
        metrics.deferredParts.inc({ transport: framing.transport, part: first ? 'first' : 'deferred' });
        if (first) metrics.deferredFirstPart.observe({ transport: framing.transport }, (performance.now() - receivedAt) / 1000);
        first = false;
        if (!payload.hasNext) metrics.deferredLastPart.observe({ transport: framing.transport }, (performance.now() - receivedAt) / 1000);
        if (!written && !(await drained(res))) break;
      }
      if (res.writable) res.end(framing.end);
    } finally {
      res.off('close', closed);
    }
  }
}

type PipelineResponse = Awaited<ReturnType<ApolloServer['executeHTTPGraphQLRequest']>>;

/**
 * The pipeline's answer sent as it is, or, to an event-stream client, as a finished event
 * stream when it is an answer (200) or a refusal the stream carries (`refusedInStream`).
 */
function sendPipelineAnswer(req: Request, res: Response, response: PipelineResponse, overSse: boolean): void {
  const status = response.status ?? 200;
  const text = response.body.kind === 'complete' ? response.body.string : '';
  if (overSse && (status === 200 || refusedInStream(req, status, errorsOf(text)))) return sendAsEventStream(res, text);
  for (const [name, value] of response.headers) res.setHeader(name, value);
  res.status(status).send(text);
}

function errorsOf(text: string): GraphQLFormattedError[] | undefined {
  try {
    return (JSON.parse(text) as { errors?: GraphQLFormattedError[] }).errors;
  } catch {
    return undefined;
  }
}

/** The pipeline's JSON answer when it gave one with 200 (with a stream: the executor's placeholder, for its extensions). */
function answerOf(
  response: PipelineResponse,
): { data?: JsonObject | null; errors?: GraphQLFormattedError[]; extensions?: JsonObject } | undefined {
  if ((response.status ?? 200) !== 200 || response.body.kind !== 'complete') return undefined;
  try {
    return JSON.parse(response.body.string) as ReturnType<typeof answerOf>;
  } catch {
    return undefined;
  }
}

/** A whole answer (a response cache hit, say) as a stream of one part. */
async function* one(payload: IncrementalPayload): AsyncIterableIterator<IncrementalPayload> {
  yield payload;
}
