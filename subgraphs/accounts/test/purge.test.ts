import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { PURGE_AUDIT_JOB } from '../../../shared/jobs/audit-retention.js';
import { AuditRecord } from '../../../shared/subgraph/audit.js';
import { waitFor } from '../../../test/support/jobs.js';
import { subgraphForSuite } from '../../../test/support/subgraph.js';
import { RefreshFamily } from '../entities/refresh-family.entity.js';
import { RefreshToken } from '../entities/refresh-token.entity.js';
import { accounts } from '../index.js';

const DAY = 24 * 3600_000;

describe('accounts purges on its schedules', () => {
  const subgraph = subgraphForSuite(accounts, { seed: false });

  /** Runs one of accounts' jobs now, through its queue and workers, and waits for it to complete. */
  async function run(job: string): Promise<void> {
    const { queues } = subgraph.jobs;
    const before = (await queues.counts('accounts')).completed;
    await queues.add('accounts', [{ id: randomUUID(), name: job, data: {}, attempts: 1, backoffMs: 0 }]);
    await waitFor(job, async () => (await queues.counts('accounts')).completed > before);
    expect(await queues.failed('accounts')).toEqual([]);
  }

  it('declares a daily schedule for refresh tokens', () => {
    expect(accounts.schedules?.purgeRefreshTokens).toMatchObject({ job: 'purgeRefreshTokens', cron: '0 4 * * *' });
  });

  it('deletes expired refresh tokens and every token of a revoked login, and keeps the live ones', async () => {
    const em = subgraph.orm.em.fork();
    const userId = randomUUID();
    const live = em.create(RefreshFamily, { userId });
    const revoked = em.create(RefreshFamily, { userId, revokedAt: new Date() });
    const token = (familyId: string, expiresIn: number) =>
      em.create(RefreshToken, { userId, familyId, tokenHash: randomUUID().replace(/-/g, ''), expiresAt: new Date(Date.now() + expiresIn) });
    const valid = token(live.id, DAY);
    token(live.id, -1_000);
    token(revoked.id, DAY);
    await em.flush();

    await run('purgeRefreshTokens');
    const check = subgraph.orm.em.fork();
    expect((await check.find(RefreshToken, { userId })).map((row) => row.id)).toEqual([valid.id]);
    expect((await check.find(RefreshFamily, { userId })).map((row) => row.id)).toEqual([live.id]);
    // Nothing left to purge: a second run changes nothing.
    await run('purgeRefreshTokens');
    expect(await subgraph.orm.em.fork().count(RefreshToken, { userId })).toBe(1);
  });

  it(`deletes audit records older than AUDIT_RETENTION_DAYS (${90} by default), daily`, async () => {
    const em = subgraph.orm.em.fork();
    const old = new Date(Date.now() - 91 * DAY);
    em.create(AuditRecord, { operation: 'login', outcome: 'SUCCESS', requestId: 'old', createdAt: old, updatedAt: old });
    const recent = em.create(AuditRecord, { operation: 'login', outcome: 'SUCCESS', requestId: 'recent' });
    await em.flush();
    // The record's own update stamp moved on flush: set it back as an old record's would be.
    await em.nativeUpdate(AuditRecord, { requestId: 'old' }, { updatedAt: old });

    await run(PURGE_AUDIT_JOB);
    expect((await subgraph.orm.em.fork().find(AuditRecord, {})).map((row) => row.id)).toEqual([recent.id]);
  });
});
