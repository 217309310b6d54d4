// The typed SDK: the client, and every operation of sdk/operations/ as a TypedDocumentNode
// (`ProductDocument`) with its result and variable types (`ProductQuery`, `ProductQueryVariables`).
export { createClient, ERROR_CODES, TesseraRequestError, type ClientOptions, type ErrorCode, type TesseraClient, type TesseraGraphQLError } from './client.js';
export * from './generated/graphql.js';
