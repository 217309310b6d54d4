import { defineSubgraph } from '../../shared/subgraph/definition.js';
import { User } from './entities/user.entity.js';
import { RefreshFamily } from './entities/refresh-family.entity.js';
import { RefreshToken } from './entities/refresh-token.entity.js';
import { createAccountsLoaders, type AccountsServices } from './loaders.js';
import { AuthResolver } from './resolvers/auth.resolver.js';
import { UserResolver } from './resolvers/user.resolver.js';
import { createTokenIssuer } from './tokens.js';
import { seedAccounts } from './seed.js';
import { purgeRefreshTokens } from './purge.js';

/** People with accounts and how they sign in; owns the User entity and issues access tokens. */
export const accounts = defineSubgraph({
  name: 'accounts',
  port: 4001,
  entities: [User, RefreshFamily, RefreshToken],
  resolvers: [UserResolver, AuthResolver],
  createServices: (config): AccountsServices => ({ tokens: createTokenIssuer(config.jwt) }),
  references: {
    User: (reference, ctx) => ctx.loaders.userById.load(String(reference.id)),
  },
  createLoaders: createAccountsLoaders,
  seed: seedAccounts,
  issuesTokens: true,
  jobs: { purgeRefreshTokens },
  // Daily, at a quiet hour.
  schedules: { purgeRefreshTokens: { job: 'purgeRefreshTokens', cron: '0 4 * * *', timeZone: 'UTC' } },
  audit: {
    // Sign-ins (register, login, refresh) return a payload naming its user; a refused one, or a logout, names nobody.
    targetOf: ({ args, result }) => {
      const user = (result as { user?: { id?: unknown } } | undefined)?.user;
      if (typeof user?.id === 'string') return { entityType: 'User', entityId: user.id };
      return typeof args.id === 'string' ? { entityType: 'User', entityId: args.id } : { entityType: null, entityId: null };
    },
  },
});
