import { Entity, Property } from '@mikro-orm/decorators/legacy';
import { BaseEntity } from '../../../shared/store/base.entity.js';

/**
 * A product's reviews in two numbers, so `averageRating` reads one row. Each review added or deleted moves them
 * in its own transaction, and a job recounts them from the reviews afterwards (rating-summary.ts).
 */
@Entity({ tableName: 'rating_summary' })
export class RatingSummary extends BaseEntity {
  @Property({ type: 'uuid', unique: true })
  productId: string;

  @Property({ type: 'integer' })
  reviewCount: number;

  @Property({ type: 'integer' })
  ratingSum: number;
}
