import { z } from 'zod';
import type { JobDefinition } from '../../shared/jobs/definition.js';
import { RefreshFamily } from './entities/refresh-family.entity.js';
import { RefreshToken } from './entities/refresh-token.entity.js';

/**
 * Deletes refresh tokens that can never be spent again: expired ones, and every token of a revoked login,
 * then the revoked logins themselves. Idempotent: a second run finds nothing. (A stolen token presented after
 * its row is gone is refused as unknown rather than as reuse; by then its login is expired or revoked anyway.)
 */
export const purgeRefreshTokens: JobDefinition<Record<string, never>> = {
  payload: z.object({}).strict(),
  async handler(_payload, { em, logger }) {
    const tokens = em!.getMetadata().get(RefreshToken).tableName;
    const families = em!.getMetadata().get(RefreshFamily).tableName;
    const deleted = (rows: unknown[]) => rows.length;
    const [expired, revoked, logins] = await em!.transactional(async (tx) => [
      deleted(await tx.execute(`delete from ${tokens} where expires_at < now() returning id`)),
      deleted(
        await tx.execute(
          `delete from ${tokens} t using ${families} f where f.id = t.family_id and f.revoked_at is not null returning t.id`,
        ),
      ),
      deleted(await tx.execute(`delete from ${families} where revoked_at is not null returning id`)),
    ]);
    logger.info({ expired, revoked, logins }, 'refresh tokens purged');
  },
};
