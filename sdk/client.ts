import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
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

/**
 * A request the gateway answered with errors (or not with GraphQL at all). `codes` lists the
 * `extensions.code` of each error; `data` holds what was resolved despite them, if anything.
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
      `${operationName ?? 'GraphQL request'} failed (HTTP ${status}): ${errors.map((e) => `${e.message}${e.extensions?.code ? ` [${e.extensions.code}]` : ''}`).join('; ')}`,
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
}

/**
 * What the client needs of `fetch`: declared here so that the SDK's types need neither the
 * DOM library nor @types/node. The global `fetch` (Node 18+, browsers) is one.
 */
export type Fetch = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string },
) => Promise<{ status: number; text(): Promise<string> }>;

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
  /** The same client, signed in with another access token (or anonymous with `undefined`). */
  withToken(token: string | undefined): TesseraClient;
}

/** The hash codegen embeds in each document (`persistedDocuments`), as Apollo's APQ expects it: hex, no prefix. */
function persistedHash(document: { __meta__?: Record<string, unknown> }): string | undefined {
  const hash = document.__meta__?.hash;
  return typeof hash === 'string' ? hash.replace(/^sha256:/, '') : undefined;
}

/** The name of the document's operation: a generated document starts with it (its fragments follow). */
const operationNameOf = (text: string) => /^\s*(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)/.exec(text)?.[1];

interface GraphQLBody<TResult> {
  data?: TResult | null;
  errors?: TesseraGraphQLError[];
}

/**
 * A small typed client for the gateway: `request(ProductDocument, { id })` resolves to
 * `ProductQuery`, and the variables are checked against `ProductQueryVariables`.
 */
export function createClient(options: ClientOptions): TesseraClient {
  const { url, token, persisted = false, headers = {} } = options;
  const send: Fetch = options.fetch ?? fetch;

  async function post<TResult>(body: Record<string, unknown>, operationName: string | undefined) {
    const response = await send(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        ...headers,
        ...(token && { authorization: `Bearer ${token}` }),
      },
      body: JSON.stringify(body),
    });
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

  return {
    async request<TResult, TVariables>(
      document: TesseraDocument<TResult, TVariables>,
      ...[variables]: VariablesArgument<TVariables>
    ): Promise<TResult> {
      // An AST (the client preset's default documentMode) would be sent as "[object Object]".
      if (!(typeof document === 'string' || document instanceof String))
        throw new Error("This document is not a TypedDocumentString: generate it with the client preset's `documentMode: string`.");
      const query = document.toString();
      const operationName = operationNameOf(query);
      const hash = persisted ? persistedHash(document) : undefined;
      if (persisted && !hash)
        throw new Error(
          `${operationName ?? 'This document'} carries no persisted hash: generate it with the client preset's persistedDocuments option.`,
        );
      let answer = await post<TResult>(
        hash
          ? { operationName, variables, extensions: { persistedQuery: { version: 1, sha256Hash: hash } } }
          : { operationName, query, variables },
        operationName,
      );
      // The gateway keeps no manifest (trusted documents off): send the document itself once.
      if (hash && answer.body.errors?.some((error) => error.extensions?.code === ErrorCode.PERSISTED_QUERY_NOT_FOUND)) {
        answer = await post<TResult>({ operationName, query, variables }, operationName);
      }
      const { status, body } = answer;
      if (body.errors?.length || body.data == null) throw new TesseraRequestError(operationName, status, body.errors ?? [], body.data);
      return body.data;
    },
    withToken(next) {
      return createClient({ ...options, token: next });
    },
  };
}
