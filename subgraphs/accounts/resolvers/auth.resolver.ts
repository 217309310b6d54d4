import { randomInt } from 'node:crypto';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { IsEmail, Length, Matches } from 'class-validator';
import { Args, ArgsType, Ctx, Field, Int, Mutation, ObjectType, Resolver } from 'type-graphql';
import { scopesOf } from '../../../shared/identity/roles.js';
import { reportChanged } from '../../../shared/cache-tags/cache-tags.js';
import { OptionalField } from '../../../shared/subgraph/optional-field.js';
import { ConflictError, ErrorCode, TesseraError, UnauthenticatedError } from '../../../shared/errors/errors.js';
import { RefreshFamily } from '../entities/refresh-family.entity.js';
import { RefreshToken } from '../entities/refresh-token.entity.js';
import { User } from '../entities/user.entity.js';
import type { AccountsContext } from '../loaders.js';
import { hashPassword, UNKNOWN_USER_HASH, verifyPassword } from '../passwords.js';
import { hashRefreshToken, newRefreshToken } from '../tokens.js';

@ObjectType({ description: 'What signing in gives: a short-lived access token and a refresh token to get the next one.' })
class AuthPayload {
  @Field({ description: 'Send as `Authorization: Bearer <accessToken>`.' })
  accessToken: string;

  @Field({ description: 'Single use: `refresh` spends it and returns the next.' })
  refreshToken: string;

  @Field()
  tokenType: string;

  @Field(() => Int, { description: 'Seconds until the access token expires.' })
  expiresIn: number;

  @Field(() => User)
  user: User;
}

@ArgsType()
class RegisterArgs {
  @Field()
  @IsEmail({}, { message: 'email must be an email address' })
  @Length(3, 254, { message: 'email must be at most 254 characters' })
  email: string;

  @Field()
  @Length(10, 200, { message: 'password must be 10 to 200 characters' })
  password: string;

  @Field()
  @Length(1, 200, { message: 'name must be 1 to 200 characters' })
  name: string;

  @OptionalField({ description: 'Public handle; made from the email when not given.' })
  @Matches(/^[a-z0-9_]{3,40}$/, { message: 'username must be 3 to 40 lower-case letters, digits or _' })
  username?: string;
}

@ArgsType()
class LoginArgs {
  @Field()
  @Length(1, 254)
  email: string;

  @Field()
  @Length(1, 200)
  password: string;
}

@ArgsType()
class RefreshArgs {
  @Field()
  @Length(1, 200)
  refreshToken: string;
}

@ArgsType()
class LogoutArgs {
  @OptionalField({ description: 'Signs out the login this token belongs to; without it, every login of the caller.' })
  @Length(1, 200)
  refreshToken?: string;
}

const normaliseEmail = (email: string) => email.trim().toLowerCase();

/** `ada.lovelace@example.com` → `ada_lovelace` (at most 36 characters, leaving room for a suffix). */
const usernameBase = (email: string) =>
  (
    email
      .split('@')[0]!
      .replace(/[^a-z0-9_]/g, '_')
      .slice(0, 36) || 'user'
  ).padEnd(3, '_');

const accountDisabled = () =>
  new TesseraError('This account is disabled; an admin can enable it again.', ErrorCode.UNAUTHENTICATED, {
    extensions: { reason: 'user_disabled' },
  });

/** Generated usernames tried per registration: the first free one seen, then random suffixes. */
const USERNAME_ATTEMPTS = 5;

/** The unique constraint an insert violated (PostgreSQL names it), if that is what failed. */
function violatedConstraint(error: unknown): string | undefined {
  if (!(error instanceof UniqueConstraintViolationException)) return undefined;
  const { constraint } = error as { constraint?: unknown };
  return typeof constraint === 'string' ? constraint : /unique constraint "([^"]+)"/.exec(error.message)?.[1];
}

@Resolver()
export class AuthResolver {
  @Mutation(() => AuthPayload, { description: 'Creates an account (role customer) and signs it in.' })
  async register(@Ctx() ctx: AccountsContext, @Args(() => RegisterArgs) args: RegisterArgs): Promise<AuthPayload> {
    const email = normaliseEmail(args.email);
    // Early answers for the common case; under concurrency the unique constraints decide (insertUser).
    if (await ctx.em.count(User, { email })) throw new ConflictError('An account with this email already exists.', 'email');
    if (args.username && (await ctx.em.count(User, { username: args.username })))
      throw new ConflictError('This username is taken.', 'username');
    const user = await this.insertUser(ctx, { email, name: args.name, passwordHash: await hashPassword(args.password) }, args.username);
    reportChanged(ctx, 'User');
    return this.signIn(ctx, user);
  }

  @Mutation(() => AuthPayload)
  async login(@Ctx() ctx: AccountsContext, @Args(() => LoginArgs) args: LoginArgs): Promise<AuthPayload> {
    const user = await ctx.em.findOne(User, { email: normaliseEmail(args.email) });
    // Verify even without a user, so the time taken does not tell whether the email has an account.
    const valid = await verifyPassword(args.password, user?.passwordHash ?? UNKNOWN_USER_HASH);
    if (!user || !valid) throw new UnauthenticatedError('The email or the password is wrong.');
    // Told only to whoever knows the password.
    if (user.disabled) throw accountDisabled();
    return this.signIn(ctx, user);
  }

  @Mutation(() => AuthPayload, { description: 'Spends a refresh token for a new access token and the next refresh token.' })
  async refresh(@Ctx() ctx: AccountsContext, @Args(() => RefreshArgs) { refreshToken }: RefreshArgs): Promise<AuthPayload> {
    const token = await ctx.em.findOne(RefreshToken, { tokenHash: hashRefreshToken(refreshToken) });
    const family = token && (await ctx.em.findOne(RefreshFamily, { id: token.familyId }));
    if (!token || !family || family.revokedAt) throw new UnauthenticatedError('This refresh token is not valid; sign in again.');
    // Spend it in one statement that also checks the family is not revoked: of two concurrent
    // uses only one wins and the other counts as reuse, which revokes the family; the winner's
    // successor, whenever it is written, then fails this same check.
    const tokens = ctx.em.getMetadata().get(RefreshToken).tableName;
    const families = ctx.em.getMetadata().get(RefreshFamily).tableName;
    const spent = await ctx.em.execute(
      `update ${tokens} set used_at = now() where id = ? and used_at is null and exists (select 1 from ${families} f where f.id = ${tokens}.family_id and f.revoked_at is null) returning id`,
      [token.id],
    );
    if (!spent.length) {
      await this.revokeFamilies(ctx, { familyId: token.familyId });
      ctx.logger.warn({ userId: token.userId, familyId: token.familyId }, 'refresh token reused: login revoked');
      throw new UnauthenticatedError('This refresh token was already used, so this login has been signed out; sign in again.');
    }
    if (token.expiresAt.getTime() <= Date.now()) throw new UnauthenticatedError('This refresh token has expired; sign in again.');
    const user = await ctx.loaders.userById.load(token.userId);
    if (!user) throw new UnauthenticatedError('This account no longer exists.');
    // Disabling revokes the user's families; this covers a refresh racing that.
    if (user.disabled) throw accountDisabled();
    return this.signIn(ctx, user, token.familyId);
  }

  @Mutation(() => Boolean, { description: 'Revokes refresh tokens. Access tokens stay valid until they expire (minutes).' })
  async logout(@Ctx() ctx: AccountsContext, @Args(() => LogoutArgs) { refreshToken }: LogoutArgs): Promise<boolean> {
    if (refreshToken) {
      const token = await ctx.em.findOne(RefreshToken, { tokenHash: hashRefreshToken(refreshToken) });
      if (!token) throw new UnauthenticatedError('This refresh token is not valid.');
      await this.revokeFamilies(ctx, { familyId: token.familyId });
      return true;
    }
    if (!ctx.user) throw new UnauthenticatedError('Sign in, or pass the refresh token of the login to sign out.');
    await this.revokeFamilies(ctx, { userId: ctx.user.userId });
    return true;
  }

  /** Issues the tokens: the next of a login's chain (`familyId`), or the first of a new login. */
  private async signIn(ctx: AccountsContext, user: User, familyId?: string): Promise<AuthPayload> {
    const refreshToken = newRefreshToken();
    const { tokens } = ctx.services;
    ctx.em.create(RefreshToken, {
      userId: user.id,
      familyId: familyId ?? ctx.em.create(RefreshFamily, { userId: user.id }).id,
      tokenHash: hashRefreshToken(refreshToken),
      expiresAt: new Date(Date.now() + tokens.refreshTokenTtlSeconds * 1000),
    });
    await ctx.em.flush();
    // The caller has just proven who they are: the rest of this request (the payload's
    // `user { email }`, say) runs as them.
    ctx.user = { userId: user.id, username: user.username, roles: user.roles, scopes: scopesOf(user.roles) };
    return {
      accessToken: await tokens.accessToken(user),
      refreshToken,
      tokenType: 'Bearer',
      expiresIn: tokens.accessTokenTtlSeconds,
      user,
    };
  }

  private async revokeFamilies(ctx: AccountsContext, where: { familyId: string } | { userId: string }): Promise<void> {
    await ctx.em.nativeUpdate(
      RefreshFamily,
      { ...('familyId' in where ? { id: where.familyId } : where), revokedAt: null },
      { revokedAt: new Date() },
    );
  }

  /**
   * Inserts the new user. The checks in `register` race other registrations, so the unique
   * constraints decide: a taken email or chosen username is a CONFLICT, and a generated
   * username taken meanwhile is tried again with a random suffix, a few times.
   */
  private async insertUser(
    ctx: AccountsContext,
    fields: Pick<User, 'email' | 'name' | 'passwordHash'>,
    chosen: string | undefined,
  ): Promise<User> {
    const base = usernameBase(fields.email);
    for (let attempt = 1; ; attempt++) {
      const username = chosen ?? (attempt === 1 ? await this.freeUsername(ctx, base) : `${base}${randomInt(2, 10_000)}`);
      // A fork per attempt: a failed insert would stay in the unit of work and be flushed again.
      const em = ctx.em.fork();
      const user = em.create(User, { ...fields, username });
      try {
        await em.flush();
        return user;
      } catch (error) {
        const constraint = violatedConstraint(error);
        if (constraint === 'users_email_unique') throw new ConflictError('An account with this email already exists.', 'email');
        if (constraint !== 'users_username_unique') throw error;
        if (chosen) throw new ConflictError('This username is taken.', 'username');
        if (attempt === USERNAME_ATTEMPTS)
          throw new ConflictError('No free username could be made from this email; choose one.', 'username');
      }
    }
  }

  /** `ada_lovelace`, or `ada_lovelace2` … when taken. */
  private async freeUsername(ctx: AccountsContext, base: string): Promise<string> {
    for (let n = 1; ; n++) {
      const candidate = n === 1 ? base : `${base}${n}`;
      if (!(await ctx.em.count(User, { username: candidate }))) return candidate;
    }
  }
}
