import { createServer, type Server } from 'node:http';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { execute, parse, validate, type DocumentNode, type GraphQLSchema } from 'graphql';

/**
 * The engine benchmark's subgraphs, in the shape of the public "graphql gateways benchmark":
 * accounts, reviews, products and inventory over constant data made once here, answered from
 * memory so that the gateway in front of them is what is measured.
 */

interface User {
  id: string;
  name: string;
  username: string;
}
interface Product {
  upc: string;
  name: string;
  price: number;
  weight: number;
}
interface Review {
  id: string;
  body: string;
  authorId: string;
  upc: string;
}

const USERS: User[] = Array.from({ length: 10 }, (_, i) => ({ id: String(i + 1), name: `User Number ${i + 1}`, username: `user${i + 1}` }));
const PRODUCTS: Product[] = Array.from({ length: 5 }, (_, i) => ({
  upc: String(i + 1),
  name: `Product Number ${i + 1}`,
  price: 899 + 250 * i,
  weight: 100 + 75 * i,
}));
// Three reviews per user (on three products), six per product: the deep query's answer runs to tens of KB.
const REVIEWS: Review[] = Array.from({ length: 30 }, (_, i) => ({
  id: String(i + 1),
  body: `Review ${i + 1}: a constant body, long enough to weigh like a real one.`,
  authorId: USERS[i % USERS.length]!.id,
  upc: PRODUCTS[(i + Math.floor(i / USERS.length)) % PRODUCTS.length]!.upc,
}));

const byKey = <T, K extends keyof T>(items: T[], key: K) => new Map(items.map((item) => [item[key], item]));
const groupBy = <T, K extends keyof T>(items: T[], key: K) => {
  const groups = new Map<T[K], T[]>();
  for (const item of items) groups.set(item[key], [...(groups.get(item[key]) ?? []), item]);
  return groups;
};
const usersById = byKey(USERS, 'id');
const productsByUpc = byKey(PRODUCTS, 'upc');
const reviewsByAuthor = groupBy(REVIEWS, 'authorId');
const reviewsByProduct = groupBy(REVIEWS, 'upc');

const FEDERATION = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@external", "@requires"])`;

export interface ConstantSubgraph {
  name: string;
  typeDefs: string;
  schema: GraphQLSchema;
}

const definitions: { name: string; typeDefs: string; resolvers: Record<string, Record<string, unknown>> }[] = [
  {
    name: 'accounts',
    typeDefs: `${FEDERATION}
      type Query { me: User users: [User] }
      type User @key(fields: "id") { id: ID! name: String username: String }`,
    resolvers: {
      Query: { me: () => USERS[0], users: () => USERS },
      User: { __resolveReference: ({ id }: { id: string }) => usersById.get(id) },
    },
  },
  {
    name: 'reviews',
    typeDefs: `${FEDERATION}
      type Review { id: ID! body: String author: User product: Product }
      type User @key(fields: "id") { id: ID! reviews: [Review] }
      type Product @key(fields: "upc") { upc: String! reviews: [Review] }`,
    resolvers: {
      Review: {
        author: (review: Review) => ({ __typename: 'User', id: review.authorId }),
        product: (review: Review) => ({ __typename: 'Product', upc: review.upc }),
      },
      User: { reviews: ({ id }: { id: string }) => reviewsByAuthor.get(id) ?? [] },
      Product: { reviews: ({ upc }: { upc: string }) => reviewsByProduct.get(upc) ?? [] },
    },
  },
  {
    name: 'products',
    typeDefs: `${FEDERATION}
      type Query { topProducts(first: Int = 5): [Product] }
      type Product @key(fields: "upc") { upc: String! name: String price: Int weight: Int }`,
    resolvers: {
      Query: { topProducts: (_: unknown, { first }: { first: number }) => PRODUCTS.slice(0, first) },
      Product: { __resolveReference: ({ upc }: { upc: string }) => productsByUpc.get(upc) },
    },
  },
  {
    name: 'inventory',
    typeDefs: `${FEDERATION}
      type Product @key(fields: "upc") {
        upc: String!
        price: Int @external
        weight: Int @external
        inStock: Boolean
        shippingEstimate: Int @requires(fields: "price weight")
      }`,
    resolvers: {
      Product: {
        __resolveReference: (reference: { upc: string; price?: number; weight?: number }) => ({
          ...reference,
          inStock: Number(reference.upc) % 2 === 1,
        }),
        // Free over 1000, else half the weight: what the benchmark's inventory does.
        shippingEstimate: ({ price, weight }: { price: number; weight: number }) => (price > 1000 ? 0 : Math.round(weight / 2)),
      },
    },
  },
];

export const constantSubgraphs: ConstantSubgraph[] = definitions.map(({ name, typeDefs, resolvers }) => ({
  name,
  typeDefs,
  schema: buildSubgraphSchema([{ typeDefs: parse(typeDefs), resolvers: resolvers as never }]),
}));

/**
 * The operation name that makes the subgraphs answer as cacheable: gateways name their
 * subgraph operations after the client's (`DeepCached__accounts__0`), so the same answer can
 * be asked once as a miss (`no-store`) and once as a hit (`CACHEABLE`).
 */
export const CACHEABLE_OPERATION = 'DeepCached';
/** An hour: a stored hit must outlive a whole run, or a round would time a miss and a store again. */
export const CACHEABLE = 'max-age=3600, public';

/** Answers (and parsed documents) kept per distinct body: the data never changes. */
const MEMO_MAX = 1_000;

/**
 * One subgraph over node:http: POSTed JSON in, JSON out, executed by graphql-js once per
 * distinct body and then answered from memory. Signing headers are ignored.
 */
export function serveConstantSubgraph({ schema }: ConstantSubgraph): Server {
  const answers = new Map<string, { bytes: Buffer; cacheControl: string }>();
  const documents = new Map<string, DocumentNode>();
  const answer = async (raw: string) => {
    const { query, variables, operationName } = JSON.parse(raw) as {
      query: string;
      variables?: Record<string, unknown>;
      operationName?: string;
    };
    let document = documents.get(query);
    let errors: readonly unknown[] = [];
    if (!document) {
      document = parse(query);
      errors = validate(schema, document);
      if (!errors.length && documents.size < MEMO_MAX) documents.set(query, document);
    }
    const result = errors.length ? { errors } : await execute({ schema, document, variableValues: variables, operationName });
    return {
      bytes: Buffer.from(JSON.stringify(result)),
      cacheControl: query.includes(CACHEABLE_OPERATION) ? CACHEABLE : 'no-store',
    };
  };
  return createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let answered = answers.get(raw);
      if (!answered) {
        try {
          answered = await answer(raw);
        } catch (error) {
          answered = {
            bytes: Buffer.from(JSON.stringify({ errors: [{ message: `bad request: ${(error as Error).message}` }] })),
            cacheControl: 'no-store',
          };
        }
        if (answers.size < MEMO_MAX) answers.set(raw, answered);
      }
      response.writeHead(200, {
        'content-type': 'application/json',
        'content-length': answered.bytes.length,
        'cache-control': answered.cacheControl,
      });
      response.end(answered.bytes);
    });
  });
}
