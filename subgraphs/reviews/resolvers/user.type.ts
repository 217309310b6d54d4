import { Directive, Field, ID, ObjectType } from 'type-graphql';

/** The accounts' User, as far as reviews knows it. */
@ObjectType()
@Directive('@key(fields: "id")')
@Directive('@cacheControl(maxAge: 60)')
export class User {
  @Field(() => ID)
  id: string;

  @Field()
  @Directive('@external')
  username?: string;
}
