import { Arg, Args, Ctx, Directive, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { hasScope } from '../../../shared/identity/roles.js';
import { reportChanged } from '../../../shared/cache-tags/cache-tags.js';
import { ListDependsOn } from '../../../shared/cache-tags/list-depends-on.js';
import { BadUserInputError, ForbiddenError, NotFoundError } from '../../../shared/errors/errors.js';
import { isUuid } from '../../../shared/subgraph/loaders.js';
import { RefreshFamily } from '../entities/refresh-family.entity.js';
import { ConnectionType, PageArgs, orderByThenId, paginate, type Connection } from '../../../shared/subgraph/pagination.js';
import { User } from '../entities/user.entity.js';
import type { AccountsContext } from '../loaders.js';

const UserConnection = ConnectionType(User);

/** Private fields: the user themself and admins only (`@authenticated` has already made sure someone is signed in). */
function requireSelfOrAdmin(user: User, ctx: AccountsContext, field: string): void {
  if (ctx.user?.userId !== user.id && !hasScope(ctx.user, 'accounts:admin')) {
    throw new ForbiddenError(`User.${field} is visible to the user and to admins only.`);
  }
}

@Resolver(() => User)
export class UserResolver {
  @Query(() => User, {
    nullable: true,
    description: 'The signed-in user; null for an anonymous request, and for a user deleted or disabled since signing in.',
  })
  @Directive('@cacheControl(maxAge: 60, scope: PRIVATE)')
  async me(@Ctx() ctx: AccountsContext): Promise<User | null> {
    const user = ctx.user ? await ctx.loaders.userById.load(ctx.user.userId) : null;
    return user && !user.disabled ? user : null;
  }

  @Mutation(() => User, {
    description: 'Disables an account: it cannot sign in or refresh, its logins are revoked, and its writes are refused at once.',
  })
  @Directive('@requiresScopes(scopes: [["accounts:admin"]])')
  async disableUser(@Ctx() ctx: AccountsContext, @Arg('id', () => ID) id: string): Promise<User> {
    // An admin locking themself out could leave nobody to undo it.
    if (id === ctx.user?.userId)
      throw new BadUserInputError('You cannot disable your own account.', [{ field: 'id', message: 'is the caller' }]);
    const user = await this.setDisabled(ctx, id, true);
    await ctx.em.nativeUpdate(RefreshFamily, { userId: id, revokedAt: null }, { revokedAt: new Date() });
    return user;
  }

  @Mutation(() => User, { description: 'Enables a disabled account again; it signs in anew (its old logins stay revoked).' })
  @Directive('@requiresScopes(scopes: [["accounts:admin"]])')
  async enableUser(@Ctx() ctx: AccountsContext, @Arg('id', () => ID) id: string): Promise<User> {
    return this.setDisabled(ctx, id, false);
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
    return paginate(ctx.em, User, {}, args, orderByThenId('joined', 'createdAt', 'asc'));
  }

  @FieldResolver(() => String, { nullable: true, description: 'Visible to the user and to admins.' })
  @Directive('@authenticated')
  @Directive('@cacheControl(scope: PRIVATE)')
  email(@Root() user: User, @Ctx() ctx: AccountsContext): string {
    requireSelfOrAdmin(user, ctx, 'email');
    return user.email;
  }

  @FieldResolver(() => Boolean, {
    nullable: true,
    description: 'Whether an admin has disabled the account. Visible to the user and to admins.',
  })
  @Directive('@authenticated')
  @Directive('@cacheControl(scope: PRIVATE)')
  disabled(@Root() user: User, @Ctx() ctx: AccountsContext): boolean {
    requireSelfOrAdmin(user, ctx, 'disabled');
    return user.disabled;
  }

  @FieldResolver(() => [String], { nullable: true, description: 'customer, staff or admin. Visible to the user and to admins.' })
  @Directive('@authenticated')
  @Directive('@cacheControl(scope: PRIVATE)')
  roles(@Root() user: User, @Ctx() ctx: AccountsContext): string[] {
    requireSelfOrAdmin(user, ctx, 'roles');
    return user.roles;
  }

  private async setDisabled(ctx: AccountsContext, id: string, disabled: boolean): Promise<User> {
    const user = isUuid(id) ? await ctx.em.findOne(User, { id }) : null;
    if (!user) throw new NotFoundError('User', id);
    user.disabled = disabled;
    await ctx.em.flush();
    // Cached answers showing this user (their `me` among them) go.
    reportChanged(ctx, 'User', id);
    return user;
  }
}
