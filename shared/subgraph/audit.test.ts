import { describe, expect, it } from '@jest/globals';
import { seedId } from '../store/seed.js';
import { AuditRecord } from './audit.js';
import { testIdentity } from '../../test/support/config.js';
import { subgraphForSuite } from '../../test/support/subgraph.js';
import { reviews } from '../../subgraphs/reviews/index.js';

const ADD_REVIEW = `mutation($p: ID!, $rating: Int!) { addReview(input: { productId: $p, body: "Flood.", rating: $rating }) { id } }`;
const product = seedId('product', '100000000004');

describe('the audit log under a flood of anonymous refusals', () => {
  const subgraph = subgraphForSuite(reviews);

  const records = (where: Partial<Pick<AuditRecord, 'operation' | 'outcome'>>) =>
    subgraph.orm.em.fork().find(AuditRecord, where, { orderBy: { createdAt: 'asc' } });

  it('200 anonymous addReview calls leave one record per window with their count, none lost', async () => {
    const codes: unknown[] = [];
    // 8 rounds of 25 at once: concurrent refusals share one update, sequential ones one each.
    for (let round = 0; round < 8; round++) {
      const answers = await Promise.all(Array.from({ length: 25 }, () => subgraph.query(ADD_REVIEW, { p: product, rating: 5 })));
      codes.push(...answers.map((a) => a.errors?.[0]?.extensions?.code));
    }
    expect(codes).toEqual(Array(200).fill('UNAUTHENTICATED'));

    const flood = await records({ operation: 'addReview', outcome: 'UNAUTHENTICATED' });
    // One window is a minute; the flood may straddle a window's end, never more.
    expect(flood.length).toBeGreaterThanOrEqual(1);
    expect(flood.length).toBeLessThanOrEqual(2);
    expect(flood.reduce((sum, r) => sum + r.count, 0)).toBe(200);
    for (const record of flood) expect(record).toMatchObject({ actorId: null, entityId: null });
  });

  it('refusals of a signed-in caller are still recorded one by one, with the caller', async () => {
    const alan = testIdentity('alan');
    for (let i = 0; i < 3; i++) {
      const { errors } = await subgraph.query(ADD_REVIEW, { p: product, rating: 9 }, alan);
      expect(errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
    const refused = await records({ operation: 'addReview', outcome: 'BAD_USER_INPUT' });
    expect(refused).toHaveLength(3);
    for (const record of refused) expect(record).toMatchObject({ actorId: alan.userId, count: 1 });
  });

  it('the count reaches admins through the audit log', async () => {
    const { data, errors } = await subgraph.query(
      `{ reviewsAuditLog(first: 5) { edges { node { operation outcome count actorId } } } }`,
      {},
      testIdentity('ada', 'admin'),
    );
    expect(errors).toBeUndefined();
    const nodes = data?.reviewsAuditLog.edges.map((e: { node: unknown }) => e.node);
    const flood = nodes.filter((n: { outcome: string }) => n.outcome === 'UNAUTHENTICATED');
    expect(flood.reduce((sum: number, n: { count: number }) => sum + n.count, 0)).toBe(200);
  });
});
