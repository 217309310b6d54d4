import { Agent, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { envPrefix } from '../../shared/config/config.js';
import { seedId } from '../../shared/store/seed.js';
import { SEED_PASSWORD } from '../../subgraphs/accounts/seed.js';
import { subgraphs } from '../../subgraphs/index.js';
import { Stock } from '../../subgraphs/inventory/entities/stock.entity.js';
import { startGatewayProcess, type ListeningProcess } from '../support/processes.js';
import { startTestSubgraph, type TestSubgraph } from '../support/subgraph.js';

/*
 * A deploy as it happens: a real gateway process, 16 keep-alive clients busy with queries and
 * mutations, SIGTERM. Every request written on a connection the process accepted must get an
 * HTTP answer (its result, or 503 SHUTTING_DOWN with `Connection: close`); only a new
 * connection the listener no longer took may go unanswered (it never reached the process).
 */

const CLIENTS = 16;
/** Bounds of the load: requests per client, and the whole run. */
const MAX_PER_CLIENT = 400;
const RUN_MS = 45_000;
const PRODUCT = seedId('product', '100000000001');
const ADJUST = `mutation($id: ID!) { adjustStock(productId: $id, delta: 1) { quantity } }`;

type Answered = { kind: 'answered'; status: number; connection: string | undefined; body: string; reused: boolean; mutation: boolean };
type Outcome = Answered | { kind: 'failed'; code: string; reused: boolean; mutation: boolean };

/** One POST over the agent's pooled connections; never rejects. */
function send(agent: Agent, port: number, payload: object, headers: Record<string, string>, mutation: boolean): Promise<Outcome> {
  return new Promise((resolve) => {
    const body = JSON.stringify(payload);
    const req = request({
      host: '127.0.0.1',
      port,
      path: '/graphql',
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
    });
    let settled = false;
    const settle = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      resolve(outcome);
    };
    req.setTimeout(20_000, () => req.destroy(Object.assign(new Error('no answer within 20 s'), { code: 'TIMEOUT' })));
    req.on('error', (error: NodeJS.ErrnoException) =>
      settle({ kind: 'failed', code: error.code ?? error.message, reused: req.reusedSocket, mutation }),
    );
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (error: NodeJS.ErrnoException) =>
        settle({ kind: 'failed', code: `response ${error.code ?? error.message}`, reused: req.reusedSocket, mutation }),
      );
      res.on('end', () =>
        settle({
          kind: 'answered',
          status: res.statusCode!,
          connection: res.headers.connection,
          body: Buffer.concat(chunks).toString(),
          reused: req.reusedSocket,
          mutation,
        }),
      );
    });
    req.end(body);
  });
}

/** The built gateway over the test's subgraphs, listening. */
function startGateway(running: TestSubgraph[], delayMs: number): Promise<ListeningProcess> {
  return startGatewayProcess({
    RATE_LIMIT: '0',
    SHUTDOWN_GRACE_MS: '10000',
    SHUTDOWN_DELAY_MS: String(delayMs),
    ...Object.fromEntries(running.map((subgraph) => [`${envPrefix(subgraph.name)}_URL`, subgraph.url])),
  });
}

describe('SIGTERM on a gateway under keep-alive load', () => {
  let running: TestSubgraph[];
  const stockOf = async () =>
    (await running
      .find((s) => s.name === 'inventory')!
      .orm.em.fork()
      .findOne(Stock, { productId: PRODUCT }))!.quantity;

  beforeAll(async () => {
    running = await Promise.all(subgraphs.map((definition) => startTestSubgraph(definition)));
  });
  afterAll(async () => {
    await Promise.all((running ?? []).map((subgraph) => subgraph.stop()));
  });

  it.each([
    ['without a shutdown delay', 0],
    ['with SHUTDOWN_DELAY_MS', 1_500],
  ])(
    'answers every request that reached the process, %s',
    async (_, delayMs) => {
      const gateway = await startGateway(running, delayMs);
      const port = Number(new URL(gateway.origin).port);
      try {
        // Signed in over a connection of its own that closes: an idle one would hold the drain to its grace.
        const login = await send(
          new Agent({ keepAlive: false }),
          port,
          {
            query: `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`,
            variables: { e: 'grace@example.com', p: SEED_PASSWORD },
          },
          {},
          true,
        );
        const token =
          login.kind === 'answered'
            ? (JSON.parse(login.body) as { data?: { login?: { accessToken: string } } }).data?.login?.accessToken
            : undefined;
        if (!token) throw new Error(`login as grace failed: ${JSON.stringify(login)}`);
        const staff = { authorization: `Bearer ${token}` };
        const stockBefore = await stockOf();

        // One pooled connection per client, kept alive between requests (as a load balancer or SDK does).
        const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
        const outcomes: Outcome[] = [];
        let signalled = false;
        const afterSignal: Outcome[] = [];
        const deadline = Date.now() + RUN_MS;
        const clients = Array.from({ length: CLIENTS }, async (_, client) => {
          for (let n = 0; n < MAX_PER_CLIENT && Date.now() < deadline; n++) {
            // A mix: a staff mutation, signed-in and anonymous queries, misses and hits of the response cache.
            const mutation = (client + n) % 4 === 0;
            const payload = mutation
              ? { query: ADJUST, variables: { id: PRODUCT } }
              : n % 2
                ? { query: `{ topProducts(first: ${1 + (n % 5)}) { name inStock } }` }
                : { query: `{ me { username } product(upc: "10000000000${1 + (n % 5)}") { name } }` };
            const outcome = await send(agent, port, payload, mutation || n % 2 === 0 ? staff : {}, mutation);
            outcomes.push(outcome);
            if (signalled) afterSignal.push(outcome);
            // A new connection refused: the listener has closed, so this client is done.
            if (outcome.kind === 'failed' && outcome.code === 'ECONNREFUSED') return;
          }
        });
        while (outcomes.length < CLIENTS * 10 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
        signalled = true;
        gateway.child.kill('SIGTERM');
        await Promise.all(clients);
        // Done, the clients drop their idle connections (else the drain would wait for its grace).
        agent.destroy();
        const exitCode = await gateway.exited;

        // Never reached the process: a new connection refused, or reset before any answer (the
        // kernel had queued it, the process had not accepted it yet, and closing a listener
        // resets its queue). A reset on a kept-alive connection is the process's doing.
        const refused = outcomes.filter((o) => o.kind === 'failed' && !o.reused && (o.code === 'ECONNREFUSED' || o.code === 'ECONNRESET'));
        const unanswered = outcomes.filter((o) => o.kind === 'failed' && !refused.includes(o));
        const served = outcomes.filter((o): o is Answered => o.kind === 'answered' && o.status === 200);
        const shuttingDown = outcomes.filter(
          (o) =>
            o.kind === 'answered' &&
            o.status === 503 &&
            o.connection === 'close' &&
            JSON.parse(o.body).errors[0].extensions.code === 'SHUTTING_DOWN',
        );
        const summary = {
          sent: outcomes.length,
          served: served.length,
          shuttingDown: shuttingDown.length,
          refused: refused.length,
          unanswered: unanswered.map(
            (o) => `${o.kind === 'failed' ? o.code : ''}${o.reused ? ' on a kept-alive connection' : ''}${o.mutation ? ' (mutation)' : ''}`,
          ),
        };
        expect(summary.unanswered).toEqual([]);
        expect(summary.served + summary.shuttingDown + summary.refused).toBe(summary.sent);
        expect(exitCode).toBe(0);
        // The drain was exercised: answers came after the signal.
        expect(afterSignal.filter((o) => o.kind === 'answered').length).toBeGreaterThan(0);
        // Without a delay the listener closes at once: the clients' next requests on their
        // kept-alive connections are the ones refused with 503.
        if (delayMs === 0) expect(summary.shuttingDown).toBeGreaterThan(0);
        // Every mutation that ran was answered: the stock moved by exactly the successful ones.
        const adjusted = served.filter((o) => o.mutation && JSON.parse(o.body).data?.adjustStock).length;
        expect(adjusted).toBeGreaterThan(0);
        expect((await stockOf()) - stockBefore).toBe(adjusted);
      } finally {
        gateway.child.kill('SIGKILL');
      }
    },
    90_000,
  );
});
