import { Arg, Args, Ctx, Directive, FieldResolver, ID, Query, Resolver, Root } from 'type-graphql';
import { hasScope } from '../../../shared/auth.js';
import { ListDependsOn } from '../../../shared/cache-tags.js';
import { ForbiddenError } from '../../../shared/errors.js';
import { ConnectionType, PageArgs, paginate, type Connection } from '../../../shared/pagination.js';
import { User } from '../entities/user.entity.js';
import type { AccountsContext } from '../loaders.js';

export const UserConnection = ConnectionType(User);

/** Private fields: the user themself and admins only (`@authenticated` has already made sure someone is signed in). */
function requireSelfOrAdmin(user: User, ctx: AccountsContext, field: string): void {
  if (ctx.user?.userId !== user.id && !hasScope(ctx.user, 'accounts:admin')) {
    throw new ForbiddenError(`User.${field} is visible to the user and to admins only.`);
  }
}

@Resolver(() => User)
export class UserResolver {
  @Query(() => User, { nullable: true, description: 'The signed-in user; null for an anonymous request.' })
  @Directive('@cacheControl(maxAge: 60, scope: PRIVATE)')
  async me(@Ctx() ctx: AccountsContext): Promise<User | null> {
    return ctx.user ? ctx.loaders.userById.load(ctx.user.userId) : null;
  }

  @Query(() => User, { nullable: true })
  async user(@Ctx() ctx: AccountsContext, @Arg('id', () => ID) id: string): Promise<User | null> {
    return ctx.loaders.userById.load(id);
  }

  @Query(() => UserConnection, { description: 'Members, earliest first.' })
  @Directive('@cacheControl(maxAge: 60)')
  @Directive('@listSize(slicingArguments: ["first"], sizedFields: ["edges"])')
  @ListDependsOn([])
  async users(@Ctx() ctx: AccountsContext, @Args(() => PageArgs) args: PageArgs): Promise<Connection<User>> {
    return paginate(ctx.em, User, {}, args, { name: 'joined', fields: [['createdAt', 'asc'], ['id', 'asc']] });
  }

  @FieldResolver(() => String, { nullable: true, description: 'Visible to the user and to admins.' })
  @Directive('@authenticated')
  @Directive('@cacheControl(scope: PRIVATE)')
  email(@Root() user: User, @Ctx() ctx: AccountsContext): string {
    requireSelfOrAdmin(user, ctx, 'email');
    return user.email;
  }

  @FieldResolver(() => [String], { nullable: true, description: 'customer, staff or admin. Visible to the user and to admins.' })
  @Directive('@authenticated')
  @Directive('@cacheControl(scope: PRIVATE)')
  roles(@Root() user: User, @Ctx() ctx: AccountsContext): string[] {
    requireSelfOrAdmin(user, ctx, 'roles');
    return user.roles;
  }
}
