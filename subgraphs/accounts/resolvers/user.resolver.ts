import { Arg, Args, Ctx, ID, Query, Resolver } from 'type-graphql';
import { ConnectionType, PageArgs, paginate, type Connection } from '../../../shared/pagination.js';
import { User } from '../entities/user.entity.js';
import type { AccountsContext } from '../loaders.js';

export const UserConnection = ConnectionType(User);

@Resolver(() => User)
export class UserResolver {
  @Query(() => User, { nullable: true, description: 'The signed-in user; null for an anonymous request.' })
  async me(@Ctx() ctx: AccountsContext): Promise<User | null> {
    return ctx.user ? ctx.loaders.userById.load(ctx.user.userId) : null;
  }

  @Query(() => User, { nullable: true })
  async user(@Ctx() ctx: AccountsContext, @Arg('id', () => ID) id: string): Promise<User | null> {
    return ctx.loaders.userById.load(id);
  }

  @Query(() => UserConnection, { description: 'Members, earliest first.' })
  async users(@Ctx() ctx: AccountsContext, @Args(() => PageArgs) args: PageArgs): Promise<Connection<User>> {
    return paginate(ctx.em, User, {}, args, { name: 'joined', fields: [['createdAt', 'asc'], ['id', 'asc']] });
  }
}
