import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { repoRoot } from '../../shared/config/paths.js';
import { SEED_PASSWORD } from '../../subgraphs/accounts/seed.js';
import { subgraphs } from '../../subgraphs/index.js';
import { ensureBuilt } from '../support/built.js';
import { waitFor } from '../support/jobs.js';
import { freePort } from '../support/redis.js';
import { postGraphQL } from '../support/subgraph.js';

/*
 * `npm start` without Redis, as a person runs it (the built dist/bin/start.js: each subgraph and the gateway a
 * process of its own under the supervisor): reviews' RatingChanged reaches the catalog's process, and the catalog
 * job's purge the gateway's memory cache, over the supervisor's IPC hub.
 */

const BY_RATING = `{ products(first: 50, orderBy: { field: RATING, direction: DESC }) { edges { node { id } } } }`;
const ADD = `mutation($input: AddReviewInput!) { addReview(input: $input) { id } }`;

let dataDir: string;
let stack: ChildProcess | undefined;
let gateway: string;
let output = '';

beforeAll(async () => {
  await ensureBuilt();
  dataDir = await mkdtemp(join(tmpdir(), 'tessera-embedded-'));
  const ports: Record<string, string> = { GATEWAY_PORT: String(await freePort()) };
  for (const subgraph of subgraphs) ports[`${subgraph.name.toUpperCase()}_PORT`] = String(await freePort());
  gateway = `http://127.0.0.1:${ports.GATEWAY_PORT}/graphql`;
  stack = spawn(process.execPath, [join(repoRoot, 'dist/bin/start.js')], {
    cwd: repoRoot,
    // No REDIS_URL: memory queues and caches, in each process.
    env: { PATH: process.env.PATH!, NODE_ENV: 'development', DATA_DIR: dataDir, METRICS: 'false', LOG_LEVEL: 'warn', ...ports },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  stack.stdout!.on('data', (chunk: Buffer) => (output += chunk));
  stack.stderr!.on('data', (chunk: Buffer) => (output += chunk));
  await waitFor('the stack to be up', () => output.includes('Tessera is up'), 180_000);
}, 240_000);

afterAll(async () => {
  if (stack && stack.exitCode === null) {
    const exited = new Promise((resolve) => stack!.once('exit', resolve));
    stack.kill('SIGTERM');
    const timer = setTimeout(() => stack!.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }
  await rm(dataDir, { recursive: true, force: true });
}, 60_000);

async function order(): Promise<{ ids: string[]; cache: string | null }> {
  const { data, errors, headers } = await postGraphQL(gateway, BY_RATING);
  expect(errors).toBeUndefined();
  return { ids: data?.products.edges.map((edge: { node: { id: string } }) => edge.node.id), cache: headers.get('x-cache') };
}

describe('npm start without Redis: events and job purges cross its processes on the supervisor hub', () => {
  it('a review added through the gateway moves its product to the top of the cached rating order once the queues drain', async () => {
    const before = await order();
    // Cached: from now on only a purge shows another order.
    expect(await order()).toEqual({ ids: before.ids, cache: 'HIT' });
    const last = before.ids.at(-1)!;

    const login = await postGraphQL(gateway, `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`, {
      e: 'ada@example.com',
      p: SEED_PASSWORD,
    });
    const authorization = `Bearer ${login.data?.login.accessToken}`;
    const added = await postGraphQL(
      gateway,
      ADD,
      { input: { productId: last, body: 'The best of them all.', rating: 5 } },
      { authorization },
    );
    expect(added.errors).toBeUndefined();

    // Reviews' recount publishes RatingChanged, the catalog's process consumes it and its purge reaches the gateway.
    // Without the purge the page cached before (or re-cached right after the mutation's own purge) would stay for its 60 s.
    let after = await order();
    await waitFor(
      'the new order through the gateway, cached',
      async () => (after = await order()).ids[0] === last && after.cache === 'HIT',
      30_000,
    );
    expect(after.ids).toEqual([last, ...before.ids.slice(0, -1)]);
  }, 60_000);
});
