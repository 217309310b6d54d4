import { Directive, Field, ID, Int, ObjectType } from 'type-graphql';
import { Money } from '../../../shared/subgraph/money.js';

/** The catalog's Product, extended with stock. `price` and `weight` come from the catalog. */
@ObjectType()
@Directive('@key(fields: "id")')
// Stock moves: short-lived in any cached response that shows it.
@Directive('@cacheControl(maxAge: 5)')
export class Product {
  @Field(() => ID)
  id: string;

  @Field(() => Money)
  @Directive('@external')
  price?: Money;

  @Field(() => Int)
  @Directive('@external')
  weight?: number;
}
