import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { waitForSubgraphs } from '../gateway.js';
import { capturingLogger } from '../../test/support/logger.js';

/*
 * The gateway's start-up wait against fake subgraphs (node:http on 127.0.0.1) answering as a
 * real one does while it starts (503 STARTING with its phase, shared/subgraph/startup.ts), then as one
 * that serves.
 */

const SECRET = 'wait-for-subgraphs-test-secret-0123456789abcdef';
const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((server) => {
      const closed = new Promise((resolve) => server.close(resolve));
      // Requests a hung fake never answered would hold the close.
      server.closeAllConnections();
      return closed;
    }),
  );
});

/** A subgraph that reports the phases given, each for its time, then serves; in phase `hung` it answers nothing. */
async function startingSubgraph(phases: { phase: string; ms: number }[]): Promise<string> {
  const startedAt = Date.now();
  const server = createServer((req, res) => {
    req.resume();
    let elapsed = Date.now() - startedAt;
    const current = phases.find(({ ms }) => (elapsed -= ms) < 0);
    if (current?.phase === 'hung') return;
    res.setHeader('content-type', 'application/json');
    if (!current) return res.end(JSON.stringify({ data: { __typename: 'Query' } }));
    res.statusCode = 503;
    res.end(JSON.stringify({ errors: [{ message: 'starting', extensions: { code: 'STARTING', phase: current.phase } }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
}

/** A port nothing listens on (bound once, then released). */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}/graphql`;
}

describe('waiting for the subgraphs at start', () => {
  it('keeps waiting past SUBGRAPH_WAIT_MS while a subgraph reports it is starting, logging the wait at most every 5 s', async () => {
    const url = await startingSubgraph([
      { phase: 'migrating', ms: 1_500 },
      { phase: 'seeding', ms: 1_500 },
    ]);
    const { logger, lines } = capturingLogger();
    const startedAt = Date.now();
    await waitForSubgraphs({ subgraphs: [{ name: 'catalog', url }], signingSecret: SECRET, subgraphWaitMs: 1_000 }, logger, {
      pollMs: 100,
    });
    // Three times the wait allowed, all of it reported as progress.
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(2_900);
    const waits = lines.filter((line) => line.msg === 'waiting for subgraphs');
    // Polled every 100 ms for about 3 s, logged once: the next would be due 5 s after the first.
    expect(waits).toHaveLength(1);
    expect(waits[0]).toMatchObject({ waitingFor: { catalog: 'starting (migrating)' } });
    expect(lines.at(-1)).toMatchObject({ msg: 'every subgraph answers' });
  });

  it('keeps waiting for a subgraph too busy to answer in time after it said it was starting (PGlite holding its event loop)', async () => {
    const url = await startingSubgraph([
      { phase: 'migrating', ms: 500 },
      { phase: 'hung', ms: 3_000 },
    ]);
    const { logger, lines } = capturingLogger();
    // The probe gives up after 2 s: longer than the 1 s allowed without progress.
    await waitForSubgraphs({ subgraphs: [{ name: 'reviews', url }], signingSecret: SECRET, subgraphWaitMs: 1_000 }, logger, {
      pollMs: 100,
      logEveryMs: 1_000,
    });
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: 'waiting for subgraphs', waitingFor: { reviews: 'busy (no answer within 2000 ms)' } }),
    );
  });

  it('gives up on a subgraph that answers nothing after SUBGRAPH_WAIT_MS, naming it, its state and the variable to raise', async () => {
    const ready = await startingSubgraph([]);
    const dead = await deadUrl();
    const { logger } = capturingLogger();
    const startedAt = Date.now();
    const waiting = waitForSubgraphs(
      {
        subgraphs: [
          { name: 'catalog', url: ready },
          { name: 'reviews', url: dead },
        ],
        signingSecret: SECRET,
        subgraphWaitMs: 800,
      },
      logger,
      { pollMs: 100 },
    );
    await expect(waiting).rejects.toMatchObject({
      name: 'StartupError',
      variables: ['SUBGRAPH_WAIT_MS'],
      message: expect.stringMatching(new RegExp(`reviews at ${dead}: unreachable \\(ECONNREFUSED\\).*Raise SUBGRAPH_WAIT_MS`)),
    });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(800);
    // The one that answered is not blamed.
    await expect(waiting).rejects.toMatchObject({ message: expect.not.stringContaining('catalog') });
  });

  it('gives up on a subgraph that stopped reporting progress, SUBGRAPH_WAIT_MS after its last report', async () => {
    // Starting for a while, then gone (a crash during migrations).
    const url = await startingSubgraph([{ phase: 'migrating', ms: 60_000 }]);
    const { logger } = capturingLogger();
    const startedAt = Date.now();
    setTimeout(() => servers.forEach((server) => server.close()), 1_200);
    await expect(
      waitForSubgraphs({ subgraphs: [{ name: 'inventory', url }], signingSecret: SECRET, subgraphWaitMs: 800 }, logger, { pollMs: 100 }),
    ).rejects.toMatchObject({ message: expect.stringMatching(/inventory at .*: unreachable/) });
    // Its last report came after 1 s, so not before 1 s + 800 ms (from the start it would be 800 ms).
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1_700);
  });
});
