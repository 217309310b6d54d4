import type { EntityManager } from '@mikro-orm/sql';
import type { CacheTags } from '../cache-tags/cache-tags.js';
import type { Identity } from '../identity/identity.js';
import type { Logger } from '../observability/logger.js';


/**
 * Everything one request may touch, built fresh for each request: its own EntityManager
 * fork (so identity maps never leak between requests) and its own DataLoaders (so batching
 * and caching last exactly one request).
 */
export interface SubgraphContext<Loaders extends object = object, Services extends object = object> {
  requestId: string;
  logger: Logger;
  em: EntityManager;
  loaders: Loaders;
  /** Long-lived collaborators of the subgraph (built once from its config), e.g. a token issuer. */
  services: Services;
  /** The signed-in caller, or null for an anonymous request. */
  user: Identity | null;
  /** What this request read and changed, for the gateway's response cache (see shared/cache-tags/cache-tags.ts). */
  cacheTags: CacheTags;
}

/**
 * The context of a storeless subgraph (one defined without `entities`): the same, but no
 * EntityManager, since there is no store to fork. `em?: never` makes any use of it a type error.
 */
export type StorelessContext<Loaders extends object = object, Services extends object = object> = Omit<SubgraphContext<Loaders, Services>, 'em'> & { em?: never };
