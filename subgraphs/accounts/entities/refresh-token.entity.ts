import { Entity, Index, Property } from '@mikro-orm/decorators/legacy';
import { BaseEntity } from '../../../shared/store/base.entity.js';

/**
 * A refresh token, stored as its SHA-256 only. Tokens of one login form a family: each use
 * spends the token and issues the next; spending one twice means it was stolen, and the
 * whole family is revoked (on its RefreshFamily row, which every refresh checks).
 */
@Entity()
@Index({ properties: ['familyId'] })
@Index({ properties: ['userId'] })
export class RefreshToken extends BaseEntity {
  @Property({ type: 'uuid' })
  userId: string;

  /** The RefreshFamily (the login) this token belongs to. */
  @Property({ type: 'uuid' })
  familyId: string;

  @Property({ length: 64, unique: true })
  tokenHash: string;

  @Property({ type: 'timestamptz' })
  expiresAt: Date;

  @Property({ type: 'timestamptz', nullable: true })
  usedAt: Date | null = null;
}
