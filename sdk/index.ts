// The typed SDK (`@tessera/sdk`, see sdk/package.json): the client (queries and mutations over
// HTTP, subscriptions over graphql-ws), and every operation of
// sdk/operations/ as a TypedDocumentString (`ProductDocument`) with its result and variable
// types (`ProductQuery`, `ProductQueryVariables`).
export {
  createClient,
  ERROR_CODES,
  ErrorCode,
  TesseraRequestError,
  WEBSOCKET_STATUS,
  type ByteStream,
  type ClientOptions,
  type Fetch,
  type TesseraClient,
  type TesseraDocument,
  type TesseraGraphQLError,
} from './client.js';
export * from './generated/graphql.js';
