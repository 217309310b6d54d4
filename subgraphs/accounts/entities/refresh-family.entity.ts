import { Entity, Index, Property } from '@mikro-orm/decorators/legacy';
import { BaseEntity } from '../../../shared/store/base.entity.js';

/**
 * One login: the chain of refresh tokens it spends, one after the other. Revocation is
 * recorded here, once for the whole chain, and every refresh checks it in the statement that
 * spends a token; so a successor written after the family was revoked (by the winner of a
 * race that revealed reuse, say) is dead too.
 */
@Entity()
@Index({ properties: ['userId'] })
export class RefreshFamily extends BaseEntity {
  @Property({ type: 'uuid' })
  userId: string;

  @Property({ type: 'timestamptz', nullable: true })
  revokedAt: Date | null = null;
}
