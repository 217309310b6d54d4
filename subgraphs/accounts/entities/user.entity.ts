import { Entity, Property } from '@mikro-orm/decorators/legacy';
import { Directive, Field, ObjectType } from 'type-graphql';
import { BaseEntity } from '../../../shared/base.entity.js';

@Entity({ tableName: 'users' })
@ObjectType({ description: 'Someone with an account.' })
@Directive('@key(fields: "id")')
export class User extends BaseEntity {
  /** Stored lower-cased, so uniqueness is case-insensitive. */
  @Property({ length: 254, unique: true })
  @Field()
  email: string;

  @Property({ length: 40, unique: true })
  @Field({ description: 'Public handle, unique.' })
  // Reviews serves it too (`@provides`), from the copy it keeps on each review.
  @Directive('@shareable')
  username: string;

  @Property({ length: 200 })
  @Field({ description: 'Display name.' })
  name: string;
}
