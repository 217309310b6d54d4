import { composeServices } from '@apollo/composition';
import { ApolloGateway, LocalGraphQLDataSource, type GraphQLDataSource } from '@apollo/gateway';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { buildSubgraphSchema, type GraphQLResolverMap } from '@apollo/subgraph';
import { parse, type GraphQLSchema, type ValidationRule } from 'graphql';
import type { GatewayContext } from '../../gateway/context.js';
import { newCacheTags } from '../../shared/cache-tags/cache-tags.js';
import { createFormatError } from '../../shared/errors/errors.js';
import { createRequestScope, runInRequestScope } from '../../shared/http/request-scope.js';
import type { Identity } from '../../shared/identity/identity.js';
import type { Logger } from '../../shared/observability/logger.js';
import { testLogger } from './subgraph.js';

export interface FixtureSubgraph {
  name: string;
  /** Federation 2 SDL; `extend schema @link(...)` imports what it uses. */
  typeDefs: string;
  resolvers?: GraphQLResolverMap<GatewayContext>;
}

export interface InProcessGatewayOptions {
  subgraphs: FixtureSubgraph[];
  /** The plugins under test, in the order the gateway runs them (gateway/gateway.ts). */
  plugins?: ApolloServerPlugin<GatewayContext>[];
  validationRules?: ValidationRule[];
  /** How the gateway reaches a subgraph; by default its schema, in process. Given the in-process source. */
  dataSource?(name: string, local: GraphQLDataSource<GatewayContext>): GraphQLDataSource<GatewayContext>;
  logger?: Logger;
}

export interface ExecuteOptions {
  variables?: Record<string, unknown>;
  operationName?: string;
  /** The verified caller; anonymous by default. */
  user?: Identity | null;
  /** The client's address, in the request scope (198.51.100.1 by default). */
  clientIp?: string;
  /** Extensions sent with the request (`persistedQuery`, say). */
  extensions?: Record<string, unknown>;
}

export interface ExecutedResponse {
  /** The HTTP status the gateway would answer with (200 unless a plugin or Apollo said otherwise). */
  status: number;
  headers: Map<string, string>;
  data?: Record<string, any> | null;
  errors?: { message: string; path?: readonly (string | number)[]; extensions?: Record<string, any> }[];
  extensions?: Record<string, any>;
  /** The context the request ran with (cache tags, untagged subgraphs), to inspect afterwards. */
  context: GatewayContext;
}

export interface InProcessGateway {
  apollo: ApolloServer<GatewayContext>;
  execute(query: string, options?: ExecuteOptions): Promise<ExecutedResponse>;
  /** Fetches the gateway sent to any subgraph since the last `resetFetches()`: none for what is refused up front. */
  fetches(): number;
  resetFetches(): void;
  stop(): Promise<void>;
}

/** The GraphQL context the gateway's context function builds, for a request from `user`. */
export function gatewayContext(user: Identity | null = null): GatewayContext {
  return { user, cacheTags: newCacheTags(), untaggedSubgraphs: new Set() };
}

/** The supergraph and subgraph schemas of a fixture, composed once however many gateways a test starts over it. */
const compositions = new WeakMap<FixtureSubgraph[], { supergraphSdl: string; schemas: Map<string, GraphQLSchema> }>();

function composed(subgraphs: FixtureSubgraph[]) {
  let composition = compositions.get(subgraphs);
  if (composition) return composition;
  const result = composeServices(subgraphs.map(({ name, typeDefs }) => ({ name, typeDefs: parse(typeDefs), url: `in-process://${name}` })));
  if (result.errors) throw new Error(`The fixture subgraphs do not compose: ${result.errors.map((e) => e.message).join('; ')}`);
  const schemas = new Map(
    subgraphs.map(({ name, typeDefs, resolvers }) => [name, buildSubgraphSchema([{ typeDefs: parse(typeDefs), resolvers }])]),
  );
  composition = { supergraphSdl: result.supergraphSdl, schemas };
  compositions.set(subgraphs, composition);
  return composition;
}

/**
 * A gateway without processes or stores: subgraphs built from SDL and resolvers, composed, and
 * run in this process by @apollo/gateway (`LocalGraphQLDataSource`), under Apollo Server with the
 * plugins under test and the gateway's `formatError` (masking on, as outside development).
 * Requests go through `executeOperation` with the context the gateway's HTTP edge would build.
 */
export async function startInProcessGateway(options: InProcessGatewayOptions): Promise<InProcessGateway> {
  const { subgraphs, plugins = [], validationRules = [], dataSource, logger = testLogger } = options;
  const { supergraphSdl, schemas } = composed(subgraphs);
  let fetches = 0;
  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ name }) => {
      const local = new LocalGraphQLDataSource<GatewayContext>(schemas.get(name)!);
      const source = dataSource ? dataSource(name, local) : local;
      const counted: GraphQLDataSource<GatewayContext> = { process: (options) => (fetches++, source.process(options)) };
      return counted;
    },
  });
  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    formatError: createFormatError({ mask: true, logger }),
    validationRules,
    plugins,
    logger,
  });
  await apollo.start();
  return {
    apollo,
    async execute(query, { variables, operationName, user, clientIp = '198.51.100.1', extensions } = {}) {
      const context = gatewayContext(user);
      // In the request scope the HTTP edge enters (request id, logger, deadline, address), as the gateway runs it.
      const scope = createRequestScope({ requestId: 'in-process', logger, timeoutMs: 30_000, clientIp });
      const response = await runInRequestScope(scope, () =>
        apollo.executeOperation({ query, variables, operationName, extensions }, { contextValue: context }),
      );
      if (response.body.kind !== 'single') throw new Error('expected a single result');
      const { status = 200, headers } = response.http;
      return { status, headers: new Map(headers), ...response.body.singleResult, context } as ExecutedResponse;
    },
    fetches: () => fetches,
    resetFetches: () => void (fetches = 0),
    stop: () => apollo.stop(),
  };
}

const federation = (imports: string[]) =>
  `extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ${JSON.stringify(imports)})`;
const products = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `p${i + 1}`, name: `Product ${i + 1}` }));

/**
 * A small shop of two subgraphs shaped like Tessera's, for what the gateway decides on its own:
 * `catalog` (products with `@listSize` as the real catalog declares them, categories, a login
 * mutation) and `reviews` (a product's reviews, an entity fetch, nullable so a failed fetch leaves the
 * products). Costs as in the real supergraph:
 * `topProducts(first: 5) { category { name } }` is 5 × (product + category) = 10.
 */
export const fixtureShop: FixtureSubgraph[] = [
  {
    name: 'catalog',
    typeDefs: `${federation(['@key', '@listSize'])}
      type Query {
        topProducts(first: Int! = 5): [Product!]! @listSize(slicingArguments: ["first"])
        products(first: Int! = 10): ProductConnection! @listSize(slicingArguments: ["first"], sizedFields: ["edges"])
        categories: [Category!]!
      }
      type Mutation { login(email: String!, password: String!): String }
      type ProductConnection { edges: [ProductEdge!]! totalCount: Int! }
      type ProductEdge { node: Product! }
      type Product @key(fields: "id") { id: ID! name: String! category: Category! price: Money! }
      type Money { amount: Int! currency: String! }
      type Category { slug: String! name: String! }`,
    resolvers: {
      Query: {
        topProducts: (_: unknown, { first }: { first: number }) => products(first),
        products: (_: unknown, { first }: { first: number }) => ({ edges: products(first).map((node) => ({ node })), totalCount: 100 }),
        categories: () => [{ slug: 'books', name: 'Books' }],
      },
      Mutation: { login: () => null },
      Product: {
        category: () => ({ slug: 'books', name: 'Books' }),
        price: () => ({ amount: 1_000, currency: 'EUR' }),
      },
    },
  },
  {
    name: 'reviews',
    typeDefs: `${federation(['@key', '@listSize'])}
      type Product @key(fields: "id") {
        id: ID!
        reviews(first: Int! = 10): [Review!] @listSize(slicingArguments: ["first"])
      }
      type Review { rating: Int! body: String! }`,
    resolvers: {
      Product: {
        __resolveReference: ({ id }: { id: string }) => ({ id }),
        reviews: (_: unknown, { first }: { first: number }) =>
          Array.from({ length: Math.min(first, 2) }, (_, i) => ({ rating: 5 - i, body: 'Good' })),
      },
    },
  },
];
