import { Directive, Field, ID, ObjectType } from 'type-graphql';

/** The catalog's Product, extended with its reviews. */
@ObjectType()
@Directive('@key(fields: "id")')
@Directive('@cacheControl(maxAge: 60)')
export class Product {
  @Field(() => ID)
  id: string;
}
