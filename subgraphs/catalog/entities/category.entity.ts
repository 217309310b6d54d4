import { Entity, Property } from '@mikro-orm/decorators/legacy';
import { Directive, Field, ObjectType } from 'type-graphql';
import { BaseEntity } from '../../../shared/store/base.entity.js';

@Entity()
@ObjectType({ description: 'A shelf of the catalog.' })
@Directive('@cacheControl(maxAge: 60)')
export class Category extends BaseEntity {
  @Property({ length: 100 })
  @Field()
  name: string;

  @Property({ length: 100, unique: true })
  @Field({ description: 'URL-safe name, unique.' })
  slug: string;
}
