import { constantSubgraphs, serveConstantSubgraph } from './constant-subgraphs.js';

/**
 * The engine benchmark's constant subgraphs, in a process of their own (so their work is not
 * counted against a gateway's event loop or memory): `node subgraphs-process.js <port>…`, one
 * port per subgraph, in `constantSubgraphs`' order, on 127.0.0.1.
 */
const ports = process.argv.slice(2).map(Number);
if (ports.length !== constantSubgraphs.length) {
  console.error(`expected ${constantSubgraphs.length} ports, got ${ports.length}`);
  process.exit(2);
}
const servers = constantSubgraphs.map((subgraph, i) => serveConstantSubgraph(subgraph).listen(ports[i], '127.0.0.1'));
process.on('SIGTERM', () => {
  for (const server of servers) server.closeAllConnections();
  process.exit(0);
});
