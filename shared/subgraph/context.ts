import type { EntityManager } from '@mikro-orm/sql';
import { newCacheTags, type CacheTags } from '../cache-tags/cache-tags.js';
import type { Identity } from '../identity/identity.js';
import type { Logger } from '../observability/logger.js';
import type { Orm } from '../store/orm.js';
import { hasStore, type SubgraphDefinition } from './definition.js';
import { PendingEvents } from './pubsub.js';
import { OutboxWriter } from '../jobs/outbox.js';

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
  /** Events for subscribers: a mutation queues them here, the framework publishes them once it committed (shared/subgraph/pubsub.ts). */
  events: PendingEvents;
  /** Jobs and domain events: written to the outbox with the request's writes, relayed once committed (shared/jobs/outbox.ts). */
  jobs: OutboxWriter;
}

/**
 * The context of a storeless subgraph (one defined without `entities`): the same, but no
 * EntityManager, since there is no store to fork. `em?: never` makes any use of it a type error.
 */
export type StorelessContext<Loaders extends object = object, Services extends object = object> = Omit<
  SubgraphContext<Loaders, Services>,
  'em'
> & { em?: never };

export interface ContextFactoryOptions<Loaders extends object, Services extends object> {
  definition: SubgraphDefinition<Loaders, Services>;
  /** The subgraph's store; undefined for a storeless subgraph, whose context has no `em`. */
  orm: Orm | undefined;
  services: Services;
  logger: Logger;
  /** A request's outbox writer on its EntityManager; by default one no relay hears of (the relay's timer finds its rows). */
  outbox?: (em: EntityManager | undefined) => OutboxWriter;
}

/** What one request's context is made from: who asks, under which request id (and the logger bound to it, when the request scope has one). */
export interface ContextInput {
  requestId: string;
  logger?: Logger;
  user?: Identity | null;
}

export function createContextFactory<Loaders extends object, Services extends object>(options: ContextFactoryOptions<Loaders, Services>) {
  const { definition, orm, services, logger, outbox = (em) => new OutboxWriter(definition.name, definition, em) } = options;
  return ({
    requestId: id,
    logger: requestLogger,
    user = null,
  }: ContextInput): SubgraphContext<Loaders, Services> | StorelessContext<Loaders, Services> => {
    const common = {
      requestId: id,
      logger: requestLogger ?? logger.child({ requestId: id }),
      services,
      user,
      cacheTags: newCacheTags(),
    };
    if (!hasStore(definition)) {
      const jobs = outbox(undefined);
      return { ...common, jobs, events: new PendingEvents(jobs), loaders: definition.createLoaders?.(services) ?? ({} as Loaders) };
    }
    if (!orm) throw new Error(`The ${definition.name} subgraph declares entities: it needs its store to serve.`);
    const em = orm.em.fork() as EntityManager;
    const jobs = outbox(em);
    return { ...common, em, jobs, events: new PendingEvents(jobs), loaders: definition.createLoaders(em, services) };
  };
}
