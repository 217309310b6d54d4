// Decorator metadata (TypeGraphQL, MikroORM) needs the Reflect polyfill loaded first.
import 'reflect-metadata';
import { Directive, Field, Int, ObjectType } from 'type-graphql';

/** Money as integer minor units (cents) of an ISO 4217 currency: no floating-point prices. */
@ObjectType({ description: 'An amount in minor units (e.g. cents) of an ISO 4217 currency.' })
@Directive('@shareable')
@Directive('@cacheControl(inheritMaxAge: true)')
export class Money {
  @Field(() => Int, { description: 'Minor units: 1999 with USD is $19.99.' })
  amount: number;

  @Field({ description: 'ISO 4217 code, e.g. USD.' })
  currency: string;
}
