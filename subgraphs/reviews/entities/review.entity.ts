import { Check, Entity, Index, Property } from '@mikro-orm/decorators/legacy';
import { Directive, Field, Int, ObjectType } from 'type-graphql';
import { BaseEntity } from '../../../shared/store/base.entity.js';

@Entity()
@ObjectType({ description: "A customer's rating and words about a product." })
@Directive('@key(fields: "id")')
@Directive('@cacheControl(maxAge: 60)')
@Check({ name: 'review_rating_range', expression: 'rating >= 1 and rating <= 5' })
@Index({ properties: ['product', 'createdAt'] })
@Index({ properties: ['author', 'createdAt'] })
export class Review extends BaseEntity {
  /** The catalog's Product id (another subgraph's entity: a plain key, not a foreign key). */
  @Property({ type: 'uuid', fieldName: 'product_id' })
  product: string;

  /** The accounts' User id. */
  @Property({ type: 'uuid', fieldName: 'author_id' })
  author: string;

  /**
   * The author's username when the review was written, so `Review.author.username` needs
   * no hop to accounts (`@provides`). Usernames do not change in Tessera.
   */
  @Property({ length: 40 })
  authorUsername: string;

  @Property({ type: 'text' })
  @Field()
  body: string;

  @Property({ type: 'smallint' })
  @Field(() => Int, { description: '1 to 5 stars.' })
  rating: number;
}
