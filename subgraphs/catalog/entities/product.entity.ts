import { Entity, Index, ManyToOne, Property } from '@mikro-orm/decorators/legacy';
import type { Opt, Ref } from '@mikro-orm/core';
import { Directive, Field, Int, ObjectType } from 'type-graphql';
import { BaseEntity } from '../../../shared/store/base.entity.js';
import { Money } from '../../../shared/subgraph/money.js';
import { Category } from './category.entity.js';

@Entity()
@ObjectType({ description: 'Something the shop sells.' })
@Directive('@key(fields: "id")')
@Directive('@key(fields: "upc")')
@Directive('@cacheControl(maxAge: 60)')
@Index({ properties: ['ratingAverage', 'id'] })
export class Product extends BaseEntity {
  @Property({ length: 12, unique: true })
  @Field({ description: 'Universal Product Code: 12 digits, unique.' })
  upc: string;

  @Property({ length: 200 })
  @Field()
  name: string;

  @Property({ type: 'text' })
  @Field(() => String)
  description: Opt<string> = '';

  /** Integer minor units; see `price`. */
  @Property({ type: 'integer' })
  priceAmount: number;

  @Property({ length: 3 })
  priceCurrency: string;

  @Property({ type: 'integer' })
  @Field(() => Int, { description: 'Shipping weight in grams.' })
  weight: number;

  @ManyToOne(() => Category, { ref: true, index: true })
  category: Ref<Category>;

  /**
   * The catalog's copy of the product's reviews, kept from reviews' `RatingChanged` events (../rating.ts), never
   * asked of reviews: what `products(orderBy: { field: RATING })` sorts by. No GraphQL field: `averageRating` is
   * reviews'. 0 until the product has a review.
   */
  @Property({ type: 'double', default: 0 })
  ratingAverage: Opt<number> = 0;

  @Property({ type: 'integer', default: 0 })
  ratingCount: Opt<number> = 0;

  /** The version of the event the copy is from (µs): an older one arriving late changes nothing. */
  @Property({ type: 'bigint', nullable: true })
  ratingVersion: Opt<string> | null = null;

  @Field(() => Money)
  get price(): Opt<Money> {
    return { amount: this.priceAmount, currency: this.priceCurrency };
  }
}
