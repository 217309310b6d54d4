import { readFileSync } from 'node:fs';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

/**
 * Stock @apollo/gateway for the engine benchmark, in a process of its own: Apollo Server's
 * standalone node:http server and an ApolloGateway over a static supergraph, no plugins, no
 * configuration beyond Apollo's defaults. `node stock-gateway.js <supergraph file> <port>`.
 */
const [supergraphPath, port] = process.argv.slice(2);
const server = new ApolloServer({ gateway: new ApolloGateway({ supergraphSdl: readFileSync(supergraphPath!, 'utf8') }) });
await startStandaloneServer(server, { listen: { host: '127.0.0.1', port: Number(port) } });
process.on('SIGTERM', () => void server.stop().then(() => process.exit(0)));
