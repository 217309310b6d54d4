import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
import { createClient as createWebSocketClient, type Client as WebSocketClient } from 'graphql-ws';
import { ErrorCode as KnownErrorCode } from '../shared/errors/codes.js';

/**
 * The codes a Tessera error carries in `extensions.code`: the server's own vocabulary
 * (shared/errors/codes.ts, compiled into this package), Apollo's codes included. Branch on
 * these, never on messages. `ErrorCode` is typed open-ended so a code added on the server
 * does not break an older client.
 */
export const ErrorCode = KnownErrorCode;
export type ErrorCode = KnownErrorCode | (string & {});
/** Every code of the vocabulary. */
export const ERROR_CODES: readonly KnownErrorCode[] = Object.values(KnownErrorCode);

/** One error of a GraphQL response, as the gateway sends it. */
export interface TesseraGraphQLError {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: ErrorCode; [key: string]: unknown };
}

/** The `status` of a `TesseraRequestError` from a subscription: its WebSocket's upgrade (101 Switching Protocols). */
export const WEBSOCKET_STATUS = 101;

/**
 * A request the gateway answered with errors (or not with GraphQL at all). `codes` lists the
 * `extensions.code` of each error; `data` holds what was resolved despite them, if anything.
 * From a subscription, `status` is `WEBSOCKET_STATUS`.
 */
export class TesseraRequestError<TResult = unknown> extends Error {
  readonly codes: ErrorCode[];

  constructor(
    readonly operationName: string | undefined,
    readonly status: number,
    readonly errors: TesseraGraphQLError[],
    readonly data?: TResult | null,
  ) {
    super(
      `${operationName ?? 'GraphQL request'} failed (${status === WEBSOCKET_STATUS ? 'over WebSocket' : `HTTP ${status}`}): ${errors.map((e) => `${e.message}${e.extensions?.code ? ` [${e.extensions.code}]` : ''}`).join('; ')}`,
    );
    this.name = 'TesseraRequestError';
    this.codes = errors.map((error) => error.extensions?.code ?? ErrorCode.INTERNAL_SERVER_ERROR);
  }

  /** Whether any error carries this code. */
  has(code: ErrorCode): boolean {
    return this.codes.includes(code);
  }
}

export interface ClientOptions {
  /** The gateway's GraphQL endpoint, e.g. `http://127.0.0.1:4000/graphql`. */
  url: string;
  /** Access token from `login`, sent as `Authorization: Bearer …`. Default: anonymous. */
  token?: string;
  /** Default: the global `fetch`. */
  fetch?: Fetch;
  /**
   * Send each operation's sha256 hash (Apollo's `persistedQuery` extension) instead of its
   * text: what a gateway with `TRUSTED_DOCUMENTS=enforce` requires. A gateway that does not
   * know the hash (trusted documents off) answers `PERSISTED_QUERY_NOT_FOUND`, and the client
   * then sends the text once. Default false: always send the text.
   */
  persisted?: boolean;
  /** Extra headers on every request (e.g. `x-request-id`). */
  headers?: Record<string, string>;
  /** Where `subscribe` connects (graphql-ws). Default: `url` with `ws:` for `http:` (`wss:` for `https:`). */
  webSocketUrl?: string;
  /**
   * The WebSocket class `subscribe` uses. Default: the global `WebSocket` (browsers, Node 22+);
   * on Node 20, the `ws` package's.
   */
  webSocketImpl?: unknown;
}

/**
 * What the client needs of `fetch`: declared here so that the SDK's types need neither the
 * DOM library nor @types/node. The global `fetch` (Node 18+, browsers) is one.
 */
export type Fetch = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string },
) => Promise<{
  status: number;
  text(): Promise<string>;
  /** Read as it arrives by `requestIncremental` (a `fetch` without it gives all parts at the end). */
  body?: ByteStream | null;
  headers?: { get(name: string): string | null };
}>;

/** What `requestIncremental` needs of a response body: a WHATWG ReadableStream of bytes is one. */
export interface ByteStream {
  getReader(): { read(): Promise<{ done: boolean; value?: Uint8Array }>; cancel(): Promise<void> };
}

/**
 * A generated operation: its text, typed with its result and variables (the client preset's
 * `TypedDocumentString`, `documentMode: string`), and with `persistedDocuments` its hash.
 */
export type TesseraDocument<TResult, TVariables> = DocumentTypeDecoration<TResult, TVariables> &
  // eslint-disable-next-line @typescript-eslint/no-wrapper-object-types -- TypedDocumentString is a String object, not a string
  String & { __meta__?: Record<string, unknown> };

/** Variables are optional exactly when the operation has no required ones. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- `{} extends T`: T has no required property
export type VariablesArgument<TVariables> = {} extends TVariables ? [variables?: TVariables] : [variables: TVariables];

export interface TesseraClient {
  /** Runs one generated operation; resolves to its typed data, or throws `TesseraRequestError`. */
  request<TResult, TVariables>(
    document: TesseraDocument<TResult, TVariables>,
    ...[variables]: VariablesArgument<TVariables>
  ): Promise<TResult>;
  /**
   * Subscribes with one generated subscription over GraphQL over WebSocket (graphql-ws), the
   * token in `connection_init`'s payload: each event's typed data, in order, until the
   * subscription ends (`return()`, or `break` out of `for await`, ends it). An event with
   * errors, a refusal, or the connection closing throws `TesseraRequestError`, and the
   * subscription is over. All of a client's subscriptions share one connection, opened on the
   * first and closed after the last; a lost connection is not retried (events would be missed unseen).
   */
  subscribe<TResult, TVariables>(
    document: TesseraDocument<TResult, TVariables>,
    ...[variables]: VariablesArgument<TVariables>
  ): AsyncIterableIterator<TResult>;
  /**
   * Runs one generated query with `@defer` and yields its result as it arrives: first the
   * data without the deferred fragments (the generated type has their fields absent), then
   * the result with each deferred part merged in, until the last. Over HTTP, as multipart
   * (`deferSpec=20220824`); a gateway that answers whole (a cache hit, say) yields once. A
   * part with errors, or a refusal, throws `TesseraRequestError` (with the data so far);
   * `return()` (or `break`) stops reading.
   */
  requestIncremental<TResult, TVariables>(
    document: TesseraDocument<TResult, TVariables>,
    ...[variables]: VariablesArgument<TVariables>
  ): AsyncIterableIterator<TResult>;
  /** The same client, signed in with another access token (or anonymous with `undefined`). */
  withToken(token: string | undefined): TesseraClient;
  /** Closes the subscriptions' connection, if open, ending every subscription. */
  close(): Promise<void>;
}

/** The hash codegen embeds in each document (`persistedDocuments`), as Apollo's APQ expects it: hex, no prefix. */
function persistedHash(document: { __meta__?: Record<string, unknown> }): string | undefined {
  const hash = document.__meta__?.hash;
  return typeof hash === 'string' ? hash.replace(/^sha256:/, '') : undefined;
}

/** The name of the document's operation: a generated document starts with it (its fragments follow). */
const operationNameOf = (text: string) => /^\s*(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)/.exec(text)?.[1];

/** The document's text, refusing an AST (the client preset's default documentMode), which would be sent as "[object Object]". */
function textOf(document: unknown): string {
  if (!(typeof document === 'string' || document instanceof String))
    throw new Error("This document is not a TypedDocumentString: generate it with the client preset's `documentMode: string`.");
  return document.toString();
}

/** Codes for the gateway's WebSocket close codes: graphql-ws's Forbidden (a refused or expired token, a limit), and Going Away (shutdown). */
const CLOSE_CODES: Record<number, ErrorCode> = { 4403: ErrorCode.FORBIDDEN, 1001: ErrorCode.SHUTTING_DOWN };

/** What graphql-ws reports when a subscription fails (its errors, the socket's close event, or an Error), as a `TesseraRequestError`. */
function subscriptionError(operationName: string | undefined, error: unknown): TesseraRequestError {
  if (Array.isArray(error)) return new TesseraRequestError(operationName, WEBSOCKET_STATUS, error as TesseraGraphQLError[]);
  const { code, reason, message } = (error ?? {}) as { code?: unknown; reason?: unknown; message?: unknown };
  if (typeof code === 'number') {
    const why = typeof reason === 'string' && reason ? `: ${reason}` : '';
    return new TesseraRequestError(operationName, WEBSOCKET_STATUS, [
      { message: `The gateway closed the WebSocket (${code}${why}).`, extensions: { code: CLOSE_CODES[code], closeCode: code } },
    ]);
  }
  return new TesseraRequestError(operationName, WEBSOCKET_STATUS, [{ message: typeof message === 'string' ? message : String(error) }]);
}

interface GraphQLBody<TResult> {
  data?: TResult | null;
  errors?: TesseraGraphQLError[];
}

/** A payload of an incremental response (`deferSpec=20220824`): the first with `data`, the later ones with `incremental` items. */
interface IncrementalPayload<TResult> extends GraphQLBody<TResult> {
  incremental?: { data?: Record<string, unknown> | null; path: (string | number)[]; errors?: TesseraGraphQLError[] }[];
  hasNext?: boolean;
}

/** Whether the gateway does not know the hash an operation was sent by. */
const notFound = (body: GraphQLBody<unknown>) =>
  Boolean(body.errors?.some((error) => error.extensions?.code === ErrorCode.PERSISTED_QUERY_NOT_FOUND));

const INCREMENTAL_ACCEPT = 'multipart/mixed; deferSpec=20220824, application/json';

/**
 * The JSON payloads of a multipart body as its parts arrive: each part is whole once the
 * delimiter after it is in (`\r\n--boundary`; JSON has no raw line breaks, so the delimiter
 * cannot be inside one); parts of `{}` (keep-alives) are skipped.
 */
async function* multipartPayloads(body: ByteStream, boundary: string): AsyncGenerator<unknown> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const delimiter = `\r\n--${boundary}`;
  // The first delimiter may open the body with no line break before it.
  let buffer = '\r\n';
  let ended = false;
  try {
    while (!ended) {
      const { done, value } = await reader.read();
      if (value) buffer += decoder.decode(value, { stream: true });
      ended = done;
      for (let start = buffer.indexOf(delimiter); start !== -1; start = buffer.indexOf(delimiter)) {
        const next = buffer.indexOf(delimiter, start + delimiter.length);
        if (next === -1) break;
        const part = buffer.slice(start + delimiter.length, next);
        buffer = buffer.slice(next);
        const json = part.slice(part.indexOf('\r\n\r\n') + 4).trim();
        if (part.includes('\r\n\r\n') && json && json !== '{}') yield JSON.parse(json);
      }
    }
  } finally {
    if (!ended) await reader.cancel();
  }
}

/** A whole body as a stream of one chunk. */
function bytesOf(text: string): ByteStream {
  let read = false;
  return {
    getReader: () => ({
      read: async () => (read ? { done: true } : ((read = true), { done: false, value: new TextEncoder().encode(text) })),
      cancel: async () => {},
    }),
  };
}

/** `source` merged into `target` in place: objects key by key, lists item by item. */
function mergeInto(target: unknown, source: unknown): unknown {
  if (target === null || source === null || typeof target !== 'object' || typeof source !== 'object') return source;
  if (Array.isArray(target) && Array.isArray(source)) {
    source.forEach((item, i) => (target[i] = i in target ? mergeInto(target[i], item) : item));
    return target;
  }
  const into = target as Record<string, unknown>;
  for (const [key, value] of Object.entries(source)) into[key] = key in into ? mergeInto(into[key], value) : value;
  return into;
}

/**
 * A small typed client for the gateway: `request(ProductDocument, { id })` resolves to
 * `ProductQuery`, and the variables are checked against `ProductQueryVariables`.
 */
export function createClient(options: ClientOptions): TesseraClient {
  const { url, token, persisted = false, headers = {} } = options;
  const send: Fetch = options.fetch ?? fetch;
  let socket: WebSocketClient | undefined;
  /** The subscriptions' graphql-ws client: lazy, so its socket opens with the first subscription and closes after the last. */
  const connection = () =>
    (socket ??= createWebSocketClient({
      url: options.webSocketUrl ?? url.replace(/^http/, 'ws'),
      webSocketImpl: options.webSocketImpl,
      connectionParams: token ? { authorization: `Bearer ${token}` } : {},
      lazy: true,
      retryAttempts: 0,
    }));

  async function post<TResult>(body: Record<string, unknown>, operationName: string | undefined) {
    return parse<TResult>(await postFor(body, 'application/json'), operationName);
  }

  function postFor(body: Record<string, unknown>, accept: string) {
    return send(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept,
        ...headers,
        ...(token && { authorization: `Bearer ${token}` }),
      },
      body: JSON.stringify(body),
    });
  }

  async function parse<TResult>(response: Awaited<ReturnType<Fetch>>, operationName: string | undefined) {
    const text = await response.text();
    let parsed: GraphQLBody<TResult> | undefined;
    try {
      parsed = JSON.parse(text) as GraphQLBody<TResult>;
    } catch {
      // not a GraphQL response (a proxy's error page, say): reported below
    }
    if (!parsed || (parsed.data === undefined && !parsed.errors?.length)) {
      throw new TesseraRequestError(operationName, response.status, [
        { message: `The gateway did not answer with GraphQL: ${text.slice(0, 200)}` },
      ]);
    }
    return { status: response.status, body: parsed };
  }

  /** A document's text, operation name and, with `persisted`, the hash it is sent by. */
  function describe<TResult, TVariables>(document: TesseraDocument<TResult, TVariables>) {
    const query = textOf(document);
    const operationName = operationNameOf(query);
    const hash = persisted ? persistedHash(document) : undefined;
    if (persisted && !hash)
      throw new Error(
        `${operationName ?? 'This document'} carries no persisted hash: generate it with the client preset's persistedDocuments option.`,
      );
    return { query, operationName, hash };
  }

  /**
   * The bodies an operation is posted with: first by hash alone (with `persisted`) or by text;
   * when the gateway does not know the hash (trusted documents off), by text. (Not text and
   * hash, as APQ would register: the hash is the manifest's text's, not this text's.)
   */
  function bodiesOf<TResult, TVariables>(document: TesseraDocument<TResult, TVariables>, variables: TVariables | undefined) {
    const { query, operationName, hash } = describe(document);
    const withText = { operationName, query, variables };
    if (!hash) return { first: withText, withText };
    return { first: { operationName, variables, extensions: { persistedQuery: { version: 1, sha256Hash: hash } } }, withText };
  }

  return {
    async request<TResult, TVariables>(
      document: TesseraDocument<TResult, TVariables>,
      ...[variables]: VariablesArgument<TVariables>
    ): Promise<TResult> {
      const { operationName, hash } = describe(document);
      const { first, withText } = bodiesOf(document, variables);
      let answer = await post<TResult>(first, operationName);
      if (hash && notFound(answer.body)) answer = await post<TResult>(withText, operationName);
      const { status, body } = answer;
      if (body.errors?.length || body.data == null) throw new TesseraRequestError(operationName, status, body.errors ?? [], body.data);
      return body.data;
    },
    subscribe<TResult, TVariables>(
      document: TesseraDocument<TResult, TVariables>,
      ...[variables]: VariablesArgument<TVariables>
    ): AsyncIterableIterator<TResult> {
      const { query, operationName, hash } = describe(document);
      const payload = { operationName, variables: variables as Record<string, unknown> | undefined };
      // graphql-ws's subscribe message must carry a query string: by hash, it is empty.
      let events = connection().iterate<TResult>(
        hash ? { ...payload, query: '', extensions: { persistedQuery: { version: 1, sha256Hash: hash } } } : { ...payload, query },
      );
      let byHash = hash !== undefined;
      const end = async () => {
        await events.return?.();
        return { done: true, value: undefined } as const;
      };
      const iterator: AsyncIterableIterator<TResult> = {
        async next() {
          let step: Awaited<ReturnType<typeof events.next>>;
          try {
            step = await events.next();
          } catch (error) {
            const refused = subscriptionError(operationName, error);
            // The gateway keeps no manifest (trusted documents off): subscribe with the document itself once.
            if (!byHash || !refused.codes.includes(ErrorCode.PERSISTED_QUERY_NOT_FOUND)) throw refused;
            byHash = false;
            events = connection().iterate<TResult>({ ...payload, query });
            return iterator.next();
          }
          byHash = false;
          if (step.done) return { done: true, value: undefined };
          const { data, errors } = step.value;
          if (errors?.length || data == null) {
            await end();
            throw new TesseraRequestError(operationName, WEBSOCKET_STATUS, [...(errors ?? [])] as TesseraGraphQLError[], data);
          }
          return { done: false, value: data };
        },
        return: end,
        [Symbol.asyncIterator]() {
          return iterator;
        },
      };
      return iterator;
    },
    async *requestIncremental<TResult, TVariables>(
      document: TesseraDocument<TResult, TVariables>,
      ...[variables]: VariablesArgument<TVariables>
    ): AsyncGenerator<TResult, undefined> {
      const { operationName, hash } = describe(document);
      const { first, withText } = bodiesOf(document, variables);
      let response = await postFor(first, INCREMENTAL_ACCEPT);
      let boundary = /multipart\/mixed/i.test(response.headers?.get('content-type') ?? '')
        ? /boundary="?([^";]+)"?/i.exec(response.headers!.get('content-type')!)?.[1]
        : undefined;
      if (!boundary) {
        // A whole answer: a refusal, or a result the gateway did not split.
        let { status, body } = await parse<TResult>(response, operationName);
        if (hash && notFound(body)) {
          response = await postFor(withText, INCREMENTAL_ACCEPT);
          boundary = /boundary="?([^";]+)"?/i.exec(response.headers?.get('content-type') ?? '')?.[1];
          if (!boundary) ({ status, body } = await parse<TResult>(response, operationName));
        }
        if (!boundary) {
          if (body.errors?.length || body.data == null) throw new TesseraRequestError(operationName, status, body.errors ?? [], body.data);
          yield body.data;
          return undefined;
        }
      }
      const payloads = response.body
        ? multipartPayloads(response.body, boundary)
        : multipartPayloads(bytesOf(await response.text()), boundary);
      let data: TResult | null | undefined;
      for await (const value of payloads) {
        const payload = value as IncrementalPayload<TResult>;
        const errors = [...(payload.errors ?? []), ...(payload.incremental ?? []).flatMap((item) => item.errors ?? [])];
        if (payload.data !== undefined) data = payload.data;
        for (const item of payload.incremental ?? []) {
          let at: unknown = data;
          for (const key of item.path) at = (at as Record<string | number, unknown> | null | undefined)?.[key];
          if (item.data && at) mergeInto(at, item.data);
        }
        if (errors.length || data == null) throw new TesseraRequestError(operationName, response.status, errors, data);
        // A copy each time: a state once yielded does not change under its reader.
        yield structuredClone(data);
        if (payload.hasNext === false) return undefined;
      }
      return undefined;
    },
    withToken(next) {
      return createClient({ ...options, token: next });
    },
    async close() {
      await socket?.dispose();
      socket = undefined;
    },
  };
}
