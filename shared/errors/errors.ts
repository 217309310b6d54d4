import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { ServerResponse } from 'node:http';
import { throttledWarn, type Logger } from '../observability/logger.js';
import { ErrorCode, ERROR_STATUS } from './codes.js';

export { ErrorCode };

export interface FieldProblem {
  /** Dotted path of the offending argument, e.g. `input.price.amount`. */
  field: string;
  message: string;
}

interface TesseraErrorOptions {
  /** Details beside the code: the invalid fields, limits and estimates, a retry hint. */
  extensions?: Record<string, unknown>;
  /**
   * The error refuses the request as a whole, before anything executes: Apollo Server then
   * answers with its status and headers (read from `extensions.http`, which it strips).
   * Without it the error is one field's, and the response stays 200 whatever the code.
   */
  refusesRequest?: boolean;
  /** The HTTP status of a request it refuses. Default: its code's (`ERROR_STATUS`). */
  status?: number;
  /** Response headers of a request it refuses, e.g. `retry-after`. */
  headers?: Record<string, string>;
}

/** An error a client may see: its code, and the HTTP status and headers of a request it refuses. */
export class TesseraError extends GraphQLError {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    message: string,
    readonly code: ErrorCode,
    { extensions = {}, refusesRequest = false, status = ERROR_STATUS[code], headers = {} }: TesseraErrorOptions = {},
  ) {
    const http = refusesRequest ? { http: { status, headers: new Map(Object.entries(headers)) } } : {};
    super(message, { extensions: { ...extensions, code, ...http } });
    this.name = new.target.name;
    this.status = status;
    this.headers = headers;
  }

  /** What the client is sent: Apollo Server's `extensions.http` is for it alone. */
  override toJSON(): GraphQLFormattedError {
    const { http: _http, ...extensions } = this.extensions;
    return { ...super.toJSON(), extensions };
  }
}

export class BadUserInputError extends TesseraError {
  constructor(message: string, fields: FieldProblem[] = [], options: Pick<TesseraErrorOptions, 'refusesRequest'> = {}) {
    super(message, ErrorCode.BAD_USER_INPUT, { ...options, extensions: fields.length ? { fields } : {} });
  }
}

export class NotFoundError extends TesseraError {
  constructor(typename: string, key: string) {
    super(`${typename} ${key} does not exist.`, ErrorCode.NOT_FOUND, { extensions: { typename, key } });
  }
}

export class ConflictError extends TesseraError {
  constructor(message: string, field?: string) {
    super(message, ErrorCode.CONFLICT, { extensions: field ? { field } : {} });
  }
}

export class InsufficientStockError extends TesseraError {
  constructor(productId: string, available: number, delta: number) {
    super(
      `Stock of product ${productId} is ${available}; adjusting it by ${delta} would drive it below zero.`,
      ErrorCode.INSUFFICIENT_STOCK,
      { extensions: { productId, available, delta } },
    );
  }
}

export class UnauthenticatedError extends TesseraError {
  constructor(message = 'You must be signed in to do this.') {
    super(message, ErrorCode.UNAUTHENTICATED);
  }
}

export class ForbiddenError extends TesseraError {
  constructor(message = 'You are not allowed to do this.') {
    super(message, ErrorCode.FORBIDDEN);
  }
}

/** A subgraph could not be reached, or did not answer with a GraphQL response. */
export class SubgraphUnavailableError extends TesseraError {
  constructor(readonly subgraph: string) {
    super(`The ${subgraph} subgraph is unavailable; try again shortly.`, ErrorCode.SUBGRAPH_UNAVAILABLE, { extensions: { subgraph } });
  }
}

/** A subgraph did not answer within its time limit or the request's. */
export class GatewayTimeoutError extends TesseraError {
  constructor(readonly subgraph: string) {
    super(`The ${subgraph} subgraph did not answer in time.`, ErrorCode.GATEWAY_TIMEOUT, { extensions: { subgraph } });
  }
}

/** The subgraph's database cannot be reached (down, restarting, or the connection dropped). */
export class StoreUnavailableError extends TesseraError {
  constructor() {
    super('The data store is unavailable; try again shortly.', ErrorCode.STORE_UNAVAILABLE);
  }
}

/** What a refusal may say besides its message: details, and its response's status and headers. */
type RefusalOptions = Omit<TesseraErrorOptions, 'refusesRequest'>;

/** A request that cannot be read as one (Apollo Server's code): not JSON, not valid HTTP, late. */
export class BadRequestError extends TesseraError {
  constructor(message: string, options: RefusalOptions = {}) {
    super(message, ErrorCode.BAD_REQUEST, { ...options, refusesRequest: true });
  }
}

/** A document whose operation to run cannot be told: none of that name, or several and none named. */
export class OperationResolutionError extends TesseraError {
  constructor(message: string) {
    super(message, ErrorCode.OPERATION_RESOLUTION_FAILURE, { refusesRequest: true });
  }
}

/** A request that arrived while the process drains: another replica will take it. */
export class ShuttingDownError extends TesseraError {
  constructor() {
    super('The server is shutting down; retry the request (another instance will take it).', ErrorCode.SHUTTING_DOWN, {
      refusesRequest: true,
      headers: { 'retry-after': '1' },
    });
  }
}

/** A request to a subgraph still opening its store, migrating or seeding (`phase`). */
export class StartingError extends TesseraError {
  constructor(phase: string) {
    super(`The subgraph is starting (${phase}); retry shortly.`, ErrorCode.STARTING, {
      extensions: { phase },
      refusesRequest: true,
      headers: { 'retry-after': '1' },
    });
  }
}

/** The body of a response that refuses a request outside GraphQL: `{ "errors": [error] }`, as Apollo Server's. */
export function errorBody(error: TesseraError): string {
  return JSON.stringify({ errors: [error] });
}

/**
 * Answers a request that GraphQL does not get to (HTTP-level refusals, lifecycle, routes)
 * with the error alone, at its status and with its headers, plus `headers`.
 */
export function sendError(res: ServerResponse, error: TesseraError, headers: Record<string, string> = {}): void {
  const body = errorBody(error);
  res.writeHead(error.status, {
    ...error.headers,
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

// PostgreSQL SQLSTATEs of a server that went away or is not back yet: class 08 (connection
// exception), 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now (starting up).
const storeGoneStates = /^(08[0-9A-Z]{3}|57P0[123])$/;
const networkFailures = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
// What pg says when a connection dies under a query or cannot be had in time (no code of its own).
const droppedConnection = /^(Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect)/;

/**
 * Whether an error means the store cannot be reached, rather than refusing this statement.
 * Driver errors arrive wrapped (MikroORM's DriverException copies `code`) or bare (pg); a
 * subgraph's only connection is its store, so a network failure there is the store's. Causes
 * are not followed: a failed `fetch` (a TypeError whose cause is ECONNREFUSED) is not a store.
 */
export function isStoreUnavailable(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (storeGoneStates.test(code) || networkFailures.has(code))) return true;
  if (typeof message === 'string' && droppedConnection.test(message)) return true;
  return error instanceof AggregateError && error.errors.some(isStoreUnavailable);
}

const knownCodes = new Set<string>(Object.values(ErrorCode));
// Known, but no refusal the caller can fix: something failed inside, here or in a subgraph.
const failureCodes = new Set<string>([ErrorCode.INTERNAL_SERVER_ERROR, ErrorCode.DOWNSTREAM_SERVICE_ERROR]);

export interface FormatErrorOptions {
  /** Replace unexpected errors by a generic message (everywhere but development). */
  mask: boolean;
  logger: Logger;
  /**
   * Maps what the process's own code throws into the vocabulary first: a subgraph's
   * resolvers (`toTesseraError`: validation, the ORM, the store). By default errors are taken as thrown.
   */
  mapError?: (error: unknown) => unknown;
}

/**
 * Apollo Server's `formatError` for subgraphs and the gateway: known codes pass through
 * without stack traces; anything unexpected is logged in full and,
 * when masking, reaches the client as `INTERNAL_SERVER_ERROR` with no details.
 */
export function createFormatError({ mask, logger, mapError = (error) => error }: FormatErrorOptions) {
  // An outage fails every field of every request alike: one warning per interval is enough.
  const warnStoreUnavailable = throttledWarn(logger, 10_000);
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
    const mapped = mapError(original);
    // The client is told the store is unavailable; the operator needs what the driver said.
    if (mapped instanceof StoreUnavailableError) warnStoreUnavailable({ err: original, path: formatted.path }, 'store unavailable');
    if (mapped instanceof TesseraError) {
      return { message: mapped.message, locations: formatted.locations, path: formatted.path, extensions: mapped.toJSON().extensions };
    }
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && knownCodes.has(code) && !failureCodes.has(code)) {
      // An expected refusal is the caller's to fix: its message says how; a stack trace would not.
      const { stacktrace: _stacktrace, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions };
    }
    logger.error({ err: original, path: formatted.path }, 'unexpected error');
    if (!mask) return formatted;
    // @apollo/gateway's code says the failure was a subgraph's, and whose: only its message is masked.
    const { serviceName } = formatted.extensions ?? {};
    const extensions =
      code === ErrorCode.DOWNSTREAM_SERVICE_ERROR
        ? { code, ...(typeof serviceName === 'string' && { serviceName }) }
        : { code: ErrorCode.INTERNAL_SERVER_ERROR };
    return { message: 'Internal server error', locations: formatted.locations, path: formatted.path, extensions };
  };
}

/** The code an error carries to its client: its `extensions.code`, else the masked `INTERNAL_SERVER_ERROR`. */
export function codeOf(error: unknown): string {
  const code =
    error instanceof GraphQLError || (typeof error === 'object' && error !== null)
      ? (error as { extensions?: { code?: unknown } }).extensions?.code
      : undefined;
  return code === undefined || code === null ? ErrorCode.INTERNAL_SERVER_ERROR : String(code);
}

/** The codes of the errors a response carries (after masking): what metrics, logs and spans record. */
export function codesOf(errors: readonly { extensions?: Record<string, unknown> }[] | undefined): string[] {
  return (errors ?? []).map(codeOf);
}
