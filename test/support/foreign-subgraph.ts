import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';

export interface ForeignSubgraph {
  name: string;
  url: string;
  stop(): Promise<void>;
}

/**
 * A subgraph not built on Tessera (plain @apollo/subgraph on Apollo Server standalone): it
 * knows nothing of cache tags, ignores the gateway's signature, and keeps its gadgets in memory.
 * Its type names are its own, so it composes beside the shop's subgraphs.
 */
export async function startForeignSubgraph(name = 'gadgets'): Promise<ForeignSubgraph> {
  const typeDefs = parse(`
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
    enum CacheControlScope { PUBLIC PRIVATE }
    directive @cacheControl(maxAge: Int, scope: CacheControlScope, inheritMaxAge: Boolean) on FIELD_DEFINITION | OBJECT | INTERFACE | UNION
    type Gadget @key(fields: "id") @cacheControl(maxAge: 60) { id: ID! name: String! }
    type Query { gadgets: [Gadget!]! @cacheControl(maxAge: 60) }
    type Mutation { addGadget(name: String!): Gadget! }
  `);
  const gadgets = [{ id: 'g1', name: 'Sprocket' }];
  const resolvers = {
    Query: { gadgets: () => gadgets },
    Mutation: {
      addGadget: (_: unknown, { name }: { name: string }) => {
        const gadget = { id: `g${gadgets.length + 1}`, name };
        gadgets.push(gadget);
        return gadget;
      },
    },
  };
  const server = new ApolloServer({
    schema: buildSubgraphSchema([{ typeDefs, resolvers }]),
    plugins: [ApolloServerPluginInlineTraceDisabled()],
  });
  const { url } = await startStandaloneServer(server, { listen: { host: '127.0.0.1', port: 0 } });
  return { name, url, stop: () => server.stop() };
}
