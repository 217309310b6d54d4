/**
 * The one error vocabulary of Tessera: every error a client can see carries one of these
 * codes in `extensions.code`; clients branch on the code, never on the message. No imports:
 * the SDK compiles this very file into its package (sdk/tsconfig.json) and re-exports it.
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
  // Subscriptions (gateway/subscriptions/): a client reading its events slower than they come, and the limits on how many it holds.
  SLOW_CONSUMER: 'SLOW_CONSUMER',
  SUBSCRIPTION_LIMIT_EXCEEDED: 'SUBSCRIPTION_LIMIT_EXCEEDED',
  // A subgraph still opening its store, migrating or seeding (shared/subgraph/startup.ts): retry shortly.
  STARTING: 'STARTING',
  // Apollo Server's own, for requests it refuses before execution (and what Tessera sends alike).
  GRAPHQL_PARSE_FAILED: 'GRAPHQL_PARSE_FAILED',
  GRAPHQL_VALIDATION_FAILED: 'GRAPHQL_VALIDATION_FAILED',
  BAD_REQUEST: 'BAD_REQUEST',
  PERSISTED_QUERY_NOT_FOUND: 'PERSISTED_QUERY_NOT_FOUND',
  PERSISTED_QUERY_NOT_SUPPORTED: 'PERSISTED_QUERY_NOT_SUPPORTED',
  OPERATION_RESOLUTION_FAILURE: 'OPERATION_RESOLUTION_FAILURE',
  // @apollo/gateway's, on a subgraph's error that came without a code (its message is masked).
  DOWNSTREAM_SERVICE_ERROR: 'DOWNSTREAM_SERVICE_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * The HTTP status of a request refused as a whole with each code. An error at one field
 * leaves the response 200 whatever its code (GraphQL over HTTP): the other fields are served.
 */
export const ERROR_STATUS: { readonly [code in ErrorCode]: number } = {
  BAD_USER_INPUT: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  INSUFFICIENT_STOCK: 409,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  INTERNAL_SERVER_ERROR: 500,
  SUBGRAPH_UNAVAILABLE: 503,
  STORE_UNAVAILABLE: 503,
  RATE_LIMITED: 429,
  COST_LIMIT_EXCEEDED: 400,
  MAX_DEPTH_EXCEEDED: 400,
  MAX_ALIASES_EXCEEDED: 400,
  MAX_ROOT_FIELDS_EXCEEDED: 400,
  MAX_DIRECTIVES_EXCEEDED: 400,
  MAX_INTROSPECTION_FIELDS_EXCEEDED: 400,
  MAX_INTROSPECTION_DEPTH_EXCEEDED: 400,
  MAX_INTROSPECTION_LISTS_EXCEEDED: 400,
  INTROSPECTION_COST_EXCEEDED: 400,
  MAX_TOKENS_EXCEEDED: 400,
  DOCUMENT_TOO_LARGE: 400,
  DOCUMENT_TOO_COMPLEX: 400,
  BATCHING_DISABLED: 400,
  BATCH_LIMIT_EXCEEDED: 400,
  GATEWAY_TIMEOUT: 504,
  MAX_JSON_DEPTH_EXCEEDED: 400,
  HEADERS_TOO_LARGE: 431,
  PERSISTED_QUERY_HASH_MISMATCH: 400,
  PERSISTED_QUERY_VERSION_NOT_SUPPORTED: 400,
  PERSISTED_QUERY_REQUIRED: 400,
  PERSISTED_QUERY_NOT_IN_LIST: 400,
  SHUTTING_DOWN: 503,
  SLOW_CONSUMER: 429,
  SUBSCRIPTION_LIMIT_EXCEEDED: 429,
  STARTING: 503,
  GRAPHQL_PARSE_FAILED: 400,
  GRAPHQL_VALIDATION_FAILED: 400,
  BAD_REQUEST: 400,
  // The APQ protocol's request to send the query text: an answer, not a failure.
  PERSISTED_QUERY_NOT_FOUND: 200,
  PERSISTED_QUERY_NOT_SUPPORTED: 200,
  OPERATION_RESOLUTION_FAILURE: 400,
  DOWNSTREAM_SERVICE_ERROR: 502,
};
