import DataLoader from 'dataloader';
import type { SubgraphContext } from '../../shared/subgraph/context.js';
import { isUuid, loadByKeys } from '../../shared/subgraph/loaders.js';
import type { EntityManager } from '../../shared/store/orm.js';
import { observeBatches } from '../../shared/subgraph/metrics.js';
import { User } from './entities/user.entity.js';
import type { TokenIssuer } from './tokens.js';

export function createAccountsLoaders(em: EntityManager) {
  return {
    userById: new DataLoader<string, User | null>(observeBatches('userById', (ids) => loadByKeys(em, User, 'id', ids, isUuid))),
  };
}

export interface AccountsServices {
  tokens: TokenIssuer;
}

type AccountsLoaders = ReturnType<typeof createAccountsLoaders>;
export type AccountsContext = SubgraphContext<AccountsLoaders, AccountsServices>;
