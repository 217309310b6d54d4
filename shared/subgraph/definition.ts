import type { GraphQLDirective } from 'graphql';
import type { NonEmptyArray } from 'type-graphql';
import type { SubgraphConfig } from '../config/subgraph-config.js';
import type { EntityManager } from '../store/orm.js';
import { AuditRecord, type AuditOptions } from './audit.js';
import type { StorelessContext, SubgraphContext } from './context.js';
import type { FederationOptions } from './federation.js';
import { declaresJobs, type JobsDeclaration } from '../jobs/definition.js';
import { OutboxMessage } from '../jobs/outbox.entity.js';

type Class = Function;

/**
 * The one shape every subgraph is described by. The registry, `npm start`, composition and
 * the tests all loop over a list of these; nothing else needs to know a subgraph's insides.
 * A subgraph with `entities` has a store (MikroORM, migrations, seed); one without is
 * storeless: it computes or wraps another service, and opens no database at all.
 */
export type SubgraphDefinition<Loaders extends object = any, Services extends object = any> =
  StoreSubgraphDefinition<Loaders, Services> | StorelessSubgraphDefinition<Loaders, Services>;

interface SubgraphBase<Services extends object> extends JobsDeclaration<Services> {
  /** Lower-case name: the folder, the database suffix and the env-variable prefix. */
  name: string;
  /** Default port when started (`<NAME>_PORT` overrides). */
  port: number;
  resolvers: NonEmptyArray<Class>;
  /** Types not reachable from a resolver but part of the schema (entity stubs, say). */
  orphanedTypes?: Class[];
  /** The federation `@link`; by default the lowest version and the imports the SDL's directives need (shared/subgraph/federation.ts). */
  federation?: FederationOptions;
  /** The subgraph's own directives, defined in its SDL (applied with TypeGraphQL's `@Directive`). */
  directives?: GraphQLDirective[];
  /** More on `extend schema` after the federation link: `@link`s to other specs, `@composeDirective(name: "@…")`. */
  schemaDirectives?: string[];
  /** Signs access tokens itself (HS256): then production requires `JWT_SECRET` of it, whatever `SUBGRAPH_TRUST` says. */
  issuesTokens?: boolean;
  /** Long-lived collaborators, built once at start from the validated config. */
  createServices?(config: SubgraphConfig): Services;
}

export interface StoreSubgraphDefinition<Loaders extends object = any, Services extends object = any> extends SubgraphBase<Services> {
  entities: Class[];
  /** `__resolveReference` of each entity this subgraph resolves, by typename. */
  references?: Record<string, (reference: Record<string, unknown>, context: SubgraphContext<Loaders, Services>) => unknown>;
  /** Fresh DataLoaders for one request. */
  createLoaders(em: EntityManager, services: Services): Loaders;
  /** Inserts demo data; called only when every table of the subgraph is empty. */
  seed?(em: EntityManager, services: Services): Promise<void>;
  /**
   * Opts into the audit log (shared/subgraph/audit.ts): every mutation writes an `AuditRecord` to the store
   * (an `audit_record` table its migrations create), and admins read them under `<name>AuditLog`. Unset: none of it.
   */
  audit?: AuditOptions;
}

export interface StorelessSubgraphDefinition<Loaders extends object = any, Services extends object = any> extends SubgraphBase<Services> {
  /** None: no store is opened, no migrations folder is needed, `/ready` checks no store. */
  entities?: undefined;
  references?: Record<string, (reference: Record<string, unknown>, context: StorelessContext<Loaders, Services>) => unknown>;
  /** Fresh DataLoaders for one request, over the services (there is no EntityManager). */
  createLoaders?(services: Services): Loaders;
  seed?: undefined;
  /** None: audit records live in a store. */
  audit?: undefined;
}

/** Whether the subgraph has a store (it declares entities). */
export function hasStore<Loaders extends object, Services extends object>(
  definition: SubgraphDefinition<Loaders, Services>,
): definition is StoreSubgraphDefinition<Loaders, Services> {
  return definition.entities !== undefined;
}

/** What the subgraph's store holds: its own entities, the audit records when it opted into them, the outbox when it declares jobs or events. */
export function storeEntities(definition: StoreSubgraphDefinition): Class[] {
  return [...(definition.audit ? [AuditRecord] : []), ...(declaresJobs(definition) ? [OutboxMessage] : []), ...definition.entities];
}

/** Typed identity helper: keeps a definition's loader type flowing into its references. */
export function defineSubgraph<Loaders extends object, Services extends object = object>(
  definition: StoreSubgraphDefinition<Loaders, Services>,
): StoreSubgraphDefinition<Loaders, Services>;
export function defineSubgraph<Loaders extends object = object, Services extends object = object>(
  definition: StorelessSubgraphDefinition<Loaders, Services>,
): StorelessSubgraphDefinition<Loaders, Services>;
export function defineSubgraph(definition: SubgraphDefinition): SubgraphDefinition {
  return definition;
}
