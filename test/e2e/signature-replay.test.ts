import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { signedRequestHeaders } from '../../shared/identity/signed-requests.js';
import { inventory } from '../../subgraphs/inventory/index.js';
import { TEST_SIGNING_SECRET, testIdentity } from '../support/config.js';
import { postBody, startTestSubgraph, type TestSubgraph } from '../support/subgraph.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const BODY = JSON.stringify({ query: '{ __typename }' });

describe('a signed request replayed to a subgraph', () => {
  const prefix = `replay-test-${randomBytes(4).toString('hex')}:`;
  const redis = { url: REDIS_URL, clusterNodes: undefined, prefix };
  let replicaA: TestSubgraph;
  let replicaB: TestSubgraph;
  let alone: TestSubgraph;
  let client: Redis;

  beforeAll(async () => {
    client = new Redis(REDIS_URL);
    // Two replicas of one subgraph on one Redis, and one with nonces in its own memory only.
    [replicaA, replicaB, alone] = await Promise.all([
      startTestSubgraph(inventory, { seed: false, redis }),
      startTestSubgraph(inventory, { seed: false, redis }),
      startTestSubgraph(inventory, { seed: false }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([replicaA, replicaB, alone].map((subgraph) => subgraph?.stop()));
    const keys = await client.keys(`${prefix}*`);
    if (keys.length) await client.del(...keys);
    client.disconnect();
  });

  const headers = () => signedRequestHeaders(TEST_SIGNING_SECRET, BODY, testIdentity('grace', 'staff'));

  it('is refused by another replica sharing the nonces on Redis', async () => {
    const captured = headers();
    expect((await postBody(replicaA.url, BODY, captured)).data).toEqual({ __typename: 'Query' });
    const replayed = await postBody(replicaB.url, BODY, captured);
    expect(replayed.status).toBe(401);
    expect(replayed.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/already served: a replay is refused/),
      extensions: { code: 'UNAUTHENTICATED' },
    });
    expect((await postBody(replicaA.url, BODY, captured)).status).toBe(401);
    expect(await client.keys(`${prefix}nonce:*`)).toHaveLength(1);
  });

  it('is refused by the same process when the nonces are kept in memory', async () => {
    const captured = headers();
    expect((await postBody(alone.url, BODY, captured)).status).toBe(200);
    const replayed = await postBody(alone.url, BODY, captured);
    expect(replayed.status).toBe(401);
    expect(replayed.errors?.[0]?.message).toMatch(/already served/);
  });
});
