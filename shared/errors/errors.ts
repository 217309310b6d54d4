import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { throttledWarn, type Logger } from '../observability/logger.js';

/**
 * The one error vocabulary of Tessera. Every error a client can see carries one of these
 * codes in `extensions.code`; clients branch on the code, never on the message.
 */
export const ErrorCode = {
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  INSUFFICIENT_STOCK: 'INSUFFICIENT_STOCK',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
  // Outages: the request may well succeed when tried again shortly.
  SUBGRAPH_UNAVAILABLE: 'SUBGRAPH_UNAVAILABLE',
  STORE_UNAVAILABLE: 'STORE_UNAVAILABLE',
  // The gateway's protections (each refused before any subgraph is asked).
  RATE_LIMITED: 'RATE_LIMITED',
  COST_LIMIT_EXCEEDED: 'COST_LIMIT_EXCEEDED',
  MAX_DEPTH_EXCEEDED: 'MAX_DEPTH_EXCEEDED',
  MAX_ALIASES_EXCEEDED: 'MAX_ALIASES_EXCEEDED',
  MAX_ROOT_FIELDS_EXCEEDED: 'MAX_ROOT_FIELDS_EXCEEDED',
  MAX_DIRECTIVES_EXCEEDED: 'MAX_DIRECTIVES_EXCEEDED',
  // Introspection's own bounds (gateway/protection/operation-limits.ts INTROSPECTION_LIMITS).
  MAX_INTROSPECTION_FIELDS_EXCEEDED: 'MAX_INTROSPECTION_FIELDS_EXCEEDED',
  MAX_INTROSPECTION_DEPTH_EXCEEDED: 'MAX_INTROSPECTION_DEPTH_EXCEEDED',
  MAX_INTROSPECTION_LISTS_EXCEEDED: 'MAX_INTROSPECTION_LISTS_EXCEEDED',
  INTROSPECTION_COST_EXCEEDED: 'INTROSPECTION_COST_EXCEEDED',
  MAX_TOKENS_EXCEEDED: 'MAX_TOKENS_EXCEEDED',
  DOCUMENT_TOO_LARGE: 'DOCUMENT_TOO_LARGE',
  // A document that would take more than the analysis budget to judge (fragment fan-out).
  DOCUMENT_TOO_COMPLEX: 'DOCUMENT_TOO_COMPLEX',
  BATCHING_DISABLED: 'BATCHING_DISABLED',
  BATCH_LIMIT_EXCEEDED: 'BATCH_LIMIT_EXCEEDED',
  GATEWAY_TIMEOUT: 'GATEWAY_TIMEOUT',
  // HTTP-level refusals, before any GraphQL is read (gateway and subgraphs alike).
  MAX_JSON_DEPTH_EXCEEDED: 'MAX_JSON_DEPTH_EXCEEDED',
  HEADERS_TOO_LARGE: 'HEADERS_TOO_LARGE',
  // Automatic persisted queries whose extension cannot be honoured (gateway/persisted-documents/apq-guard.ts).
  PERSISTED_QUERY_HASH_MISMATCH: 'PERSISTED_QUERY_HASH_MISMATCH',
  PERSISTED_QUERY_VERSION_NOT_SUPPORTED: 'PERSISTED_QUERY_VERSION_NOT_SUPPORTED',
  // Trusted documents (gateway/persisted-documents/trusted-documents.ts): only the manifest's operations are served.
  PERSISTED_QUERY_REQUIRED: 'PERSISTED_QUERY_REQUIRED',
  PERSISTED_QUERY_NOT_IN_LIST: 'PERSISTED_QUERY_NOT_IN_LIST',
  // The process is shutting down: retry on another replica.
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  // A subgraph still opening its store, migrating or seeding (shared/subgraph/startup.ts): retry shortly.
  STARTING: 'STARTING',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const knownCodes = new Set<string>([
  ...Object.values(ErrorCode),
  // Apollo Server's own codes for requests it refuses before execution.
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);

export interface FieldProblem {
  /** Dotted path of the offending argument, e.g. `input.price.amount`. */
  field: string;
  message: string;
}

export class TesseraError extends GraphQLError {
  constructor(message: string, readonly code: ErrorCode, extensions: Record<string, unknown> = {}) {
    super(message, { extensions: { ...extensions, code } });
    this.name = new.target.name;
  }
}

export class BadUserInputError extends TesseraError {
  constructor(message: string, fields: FieldProblem[] = []) {
    super(message, ErrorCode.BAD_USER_INPUT, fields.length ? { fields } : {});
  }
}

export class NotFoundError extends TesseraError {
  constructor(typename: string, key: string) {
    super(`${typename} ${key} does not exist.`, ErrorCode.NOT_FOUND, { typename, key });
  }
}

export class ConflictError extends TesseraError {
  constructor(message: string, field?: string) {
    super(message, ErrorCode.CONFLICT, field ? { field } : {});
  }
}

export class InsufficientStockError extends TesseraError {
  constructor(productId: string, available: number, delta: number) {
    super(
      `Stock of product ${productId} is ${available}; adjusting it by ${delta} would drive it below zero.`,
      ErrorCode.INSUFFICIENT_STOCK,
      { productId, available, delta },
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
    super(`The ${subgraph} subgraph is unavailable; try again shortly.`, ErrorCode.SUBGRAPH_UNAVAILABLE, { subgraph });
  }
}

/** A subgraph did not answer within its time limit or the request's. */
export class GatewayTimeoutError extends TesseraError {
  constructor(readonly subgraph: string) {
    super(`The ${subgraph} subgraph did not answer in time.`, ErrorCode.GATEWAY_TIMEOUT, { subgraph });
  }
}

/** The subgraph's database cannot be reached (down, restarting, or the connection dropped). */
export class StoreUnavailableError extends TesseraError {
  constructor() {
    super('The data store is unavailable; try again shortly.', ErrorCode.STORE_UNAVAILABLE);
  }
}

// PostgreSQL SQLSTATEs of a server that went away or is not back yet: class 08 (connection
// exception), 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now (starting up).
const storeGoneStates = /^(08[0-9A-Z]{3}|57P0[123])$/;
const networkFailures = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
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
      return { message: mapped.message, locations: formatted.locations, path: formatted.path, extensions: { ...mapped.extensions } };
    }
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && knownCodes.has(code) && code !== ErrorCode.INTERNAL_SERVER_ERROR) {
      // An expected refusal is the caller's to fix: its message says how; a stack trace would not.
      const { stacktrace: _stacktrace, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions };
    }
    logger.error({ err: original, path: formatted.path }, 'unexpected error');
    if (!mask) return formatted;
    return {
      message: 'Internal server error',
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
    };
  };
}
