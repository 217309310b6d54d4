import type { ApolloServerPlugin } from '@apollo/server';
import { getNamedType, isObjectType, type GraphQLSchema } from 'graphql';
import type { SubgraphContext } from './context.js';

/**
 * How a subgraph tells the gateway's response cache what a response contains and what a
 * mutation changed, in `extensions.tesseraCache` of its response. Tags are `Type:id` for
 * one entity and `Type` for "some list of Type may have changed" (a new entity).
 */
export const CACHE_EXTENSION = 'tesseraCache';

export interface CacheTagReport {
  /** Entities whose fields this response resolved. */
  entities: string[];
  /** What a mutation changed: cached responses tagged with these must go. */
  changed: string[];
}

/** Per-request collections, kept in the context. */
export interface CacheTags {
  entities: Set<string>;
  changed: Set<string>;
}

export function newCacheTags(): CacheTags {
  return { entities: new Set(), changed: new Set() };
}

/** Called by mutations: the entity `typename` `id` changed (or, without an id, a new `typename` exists). */
export function reportChanged(context: Pick<SubgraphContext, 'cacheTags'>, typename: string, id?: string): void {
  context.cacheTags.changed.add(id ? `${typename}:${id}` : typename);
}

/** Names of the schema's entity types (those with `@key`). */
function entityTypes(schema: GraphQLSchema): Set<string> {
  return new Set(
    Object.values(schema.getTypeMap())
      .filter((type) => isObjectType(type) && type.astNode?.directives?.some((d) => d.name.value === 'key'))
      .map((type) => type.name),
  );
}

/**
 * Records every entity whose fields a request resolves, and reports it with the changes in
 * the response extensions. Only entity types are recorded: they are what mutations name.
 */
export function useCacheTags(schema: GraphQLSchema): ApolloServerPlugin<SubgraphContext> {
  const entities = entityTypes(schema);
  return {
    async requestDidStart() {
      return {
        async executionDidStart({ contextValue }) {
          return {
            willResolveField({ source, info }) {
              const id = (source as { id?: unknown } | null)?.id;
              if (typeof id === 'string' && entities.has(info.parentType.name)) contextValue.cacheTags.entities.add(`${info.parentType.name}:${id}`);
              // A root list of an entity type (`products`, `topProducts`) is tagged with the type
              // even when it came back empty or only counted: a new entity may belong in it.
              if (!info.path.prev) {
                const listed = getNamedType(info.returnType).name.replace(/Connection$/, '');
                if (entities.has(listed)) contextValue.cacheTags.entities.add(listed);
              }
            },
          };
        },
        async willSendResponse({ response, contextValue }) {
          const { entities: read, changed } = contextValue.cacheTags;
          if (response.body.kind !== 'single' || (!read.size && !changed.size)) return;
          const report: CacheTagReport = { entities: [...read], changed: [...changed] };
          response.body.singleResult.extensions = { ...response.body.singleResult.extensions, [CACHE_EXTENSION]: report };
        },
      };
    },
  };
}
