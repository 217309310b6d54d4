import { z } from 'zod';
import { AuditRecord } from '../subgraph/audit.js';
import type { JobsDeclaration } from './definition.js';

/** The job's name in a store's queue, apart from any the subgraph declares. */
export const PURGE_AUDIT_JOB = 'purgeAuditRecords';

/**
 * What a subgraph that keeps an audit log runs besides its own jobs: a daily purge of its records older than
 * `retentionDays` (AUDIT_RETENTION_DAYS), each store its own. Nothing for a subgraph without an audit log.
 */
export function withAuditRetention(declaration: JobsDeclaration, audited: boolean, retentionDays: number): JobsDeclaration {
  if (!audited) return declaration;
  return {
    ...declaration,
    jobs: {
      ...declaration.jobs,
      [PURGE_AUDIT_JOB]: {
        payload: z.object({}),
        async handler(_payload, { em, logger }) {
          const cutoff = new Date(Date.now() - retentionDays * 24 * 3600_000);
          const purged = await em!.nativeDelete(AuditRecord, { updatedAt: { $lt: cutoff } });
          logger.info({ purged, retentionDays }, 'audit records purged');
        },
      },
    },
    schedules: { ...declaration.schedules, [PURGE_AUDIT_JOB]: { job: PURGE_AUDIT_JOB, cron: '15 3 * * *', timeZone: 'UTC' } },
  };
}
