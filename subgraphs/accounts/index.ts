import { defineSubgraph } from '../../shared/subgraph.js';
import { User } from './entities/user.entity.js';
import { createAccountsLoaders } from './loaders.js';
import { UserResolver } from './resolvers/user.resolver.js';
import { seedAccounts } from './seed.js';

/** People with accounts; owns the User entity. */
export const accounts = defineSubgraph({
  name: 'accounts',
  port: 4001,
  entities: [User],
  resolvers: [UserResolver],
  references: {
    User: (reference, ctx) => ctx.loaders.userById.load(String(reference.id)),
  },
  createLoaders: createAccountsLoaders,
  seed: seedAccounts,
});
