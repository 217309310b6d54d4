import { createServer } from 'node:http';

/**
 * The ceiling a cache hit is measured against: node:http sending the same bytes and headers a
 * Tessera cache hit sends, read nothing, decided nothing. `node bare-server.js <port>`; the
 * answer comes by IPC (`{ body, headers }`) and the server says `listening` back.
 */
const port = Number(process.argv[2]);
process.once('message', ({ body, headers }: { body: string; headers: Record<string, string> }) => {
  const bytes = Buffer.from(body, 'utf8');
  const head = { ...headers, 'content-length': String(bytes.length) };
  const server = createServer((request, response) => {
    // The request body is drained (as a gateway must), then the stored bytes go out.
    request.resume();
    request.on('end', () => {
      response.writeHead(200, head);
      response.end(bytes);
    });
  }).listen(port, '127.0.0.1', () => process.send!('listening'));
  process.on('SIGTERM', () => {
    server.closeAllConnections();
    process.exit(0);
  });
});
