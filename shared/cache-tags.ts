import type { ApolloServerPlugin } from '@apollo/server';
import { getNamedType, getNullableType, isListType, isObjectType, type GraphQLField, type GraphQLSchema } from 'graphql';
import { Extensions } from 'type-graphql';
import type { SubgraphContext } from './context.js';

/**
 * How a subgraph tells the gateway's response cache what a response contains and what a
 * mutation changed, in `extensions.tesseraCache` of its response. Tags:
 * - `Type:id`: one entity (a response that resolved its fields; a write that changed it);
 * - `Type`: every root field of the type (a new or removed `Type` may belong in it);
 * - `Type#field`: root lists whose membership or order depends on `field` of `Type`, as their
 *   `@ListDependsOn` declares; a write names the fields it changed;
 * - `Type#*`: root lists that declared nothing, which any change to a `Type` may move.
 * A Tessera subgraph always reports, even nothing: the gateway treats a subgraph that sends no
 * report as one that cannot say what it changed.
 */
export const CACHE_EXTENSION = 'tesseraCache';

export interface CacheTagReport {
  /** What this response read: entities, and the root lists it answered. */
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

/** Field extension read by `useCacheTags`: what a root list's membership and order depend on. */
const LIST_DEPENDS_ON = 'tesseraListDependsOn';

type ListDependencies = readonly string[] | ((args: any) => readonly string[]);

/**
 * On a root query that lists entities (`[Product]`, `ProductConnection`): the fields of the
 * entity its membership and order depend on (what it filters and sorts by), given as a list or
 * as a function of the field's arguments. A write that reports one of these fields purges it:
 * ```ts
 * @ListDependsOn(['quantity']) lowStock(...)                       // fewest first, under a threshold
 * @ListDependsOn((args: ProductsArgs) => args.filter?.search ? ['name', 'description'] : []) products(...)
 * @ListDependsOn([]) topProducts(...)                                // newest first: only new products move it
 * ```
 * A root list without it is purged by any change to its type: never stale, only less cached.
 */
export function ListDependsOn(fields: ListDependencies): MethodDecorator {
  return Extensions({ [LIST_DEPENDS_ON]: fields }) as MethodDecorator;
}

/** Recorded by a change that did not say which fields: expanded to every field of the type (`allFieldsOf`). */
const ALL_FIELDS = '#?';

/**
 * Called by mutations. Without an id: a `typename` was created or removed (root lists of it
 * and lookups that found none may change). With an id: that entity changed, and `fields` are
 * the fields whose values changed (GraphQL field names, e.g. `['name', 'price']`, including
 * list fields such as `reviews` whose members changed), so that root lists that depend on one
 * of them are purged too. Without `fields`, every field of the type counts as changed.
 */
export function reportChanged(context: Pick<SubgraphContext, 'cacheTags'>, typename: string, id?: string, fields?: readonly string[]): void {
  const { changed } = context.cacheTags;
  if (!id) {
    changed.add(typename);
    return;
  }
  changed.add(`${typename}:${id}`);
  changed.add(`${typename}#*`);
  if (!fields) changed.add(`${typename}${ALL_FIELDS}`);
  for (const field of fields ?? []) changed.add(`${typename}#${field}`);
}

/** The changes as reported: "every field of Product" becomes each field Product has in this schema. */
function allFieldsOf(schema: GraphQLSchema, changed: Set<string>): string[] {
  return [...changed].flatMap((tag) => {
    if (!tag.endsWith(ALL_FIELDS)) return [tag];
    const type = schema.getType(tag.slice(0, -ALL_FIELDS.length));
    return isObjectType(type) ? Object.keys(type.getFields()).map((field) => `${type.name}#${field}`) : [];
  });
}

/** Names of the schema's entity types (those with `@key`). */
function entityTypes(schema: GraphQLSchema): Set<string> {
  return new Set(
    Object.values(schema.getTypeMap())
      .filter((type) => isObjectType(type) && type.astNode?.directives?.some((d) => d.name.value === 'key'))
      .map((type) => type.name),
  );
}

interface RootField {
  /** The entity type it returns or lists. */
  entity: string;
  /** For a list: its declared dependencies, or undefined when it declared none. */
  list?: { dependsOn: ListDependencies | undefined };
}

/** What each root query of an entity type is tagged with; refuses declarations that cannot work. */
function rootFields(schema: GraphQLSchema, entities: Set<string>): Map<string, RootField> {
  const roots = new Map<string, RootField>();
  for (const field of Object.values(schema.getQueryType()?.getFields() ?? {}) as GraphQLField<unknown, unknown>[]) {
    const named = getNamedType(field.type).name;
    const connection = named.endsWith('Connection');
    const entity = connection ? named.slice(0, -'Connection'.length) : named;
    const dependsOn = field.extensions[LIST_DEPENDS_ON] as ListDependencies | undefined;
    const list = connection || isListType(getNullableType(field.type));
    if (!entities.has(entity) || !list) {
      if (dependsOn) throw new Error(`@ListDependsOn on Query.${field.name}: it must list an entity type (found ${named}).`);
      if (entities.has(entity)) roots.set(field.name, { entity });
      continue;
    }
    if (Array.isArray(dependsOn)) {
      const known = (schema.getType(entity) as { getFields(): Record<string, unknown> }).getFields();
      const unknown = dependsOn.filter((name) => !(name in known));
      if (unknown.length) throw new Error(`@ListDependsOn on Query.${field.name} names ${unknown.join(', ')}, which ${entity} does not have here.`);
    }
    roots.set(field.name, { entity, list: { dependsOn } });
  }
  return roots;
}

/** The tags a root field is stored under, for these arguments. */
function rootTags({ entity, list }: RootField, args: Record<string, unknown>): string[] {
  if (!list) return [entity];
  if (!list.dependsOn) return [entity, `${entity}#*`];
  const fields = typeof list.dependsOn === 'function' ? list.dependsOn(args) : list.dependsOn;
  return [entity, ...fields.map((field) => `${entity}#${field}`)];
}

/**
 * Records every entity whose fields a request resolves and the root lists it answers, and
 * reports them with the changes in the response extensions. Only entity types are recorded:
 * they are what mutations name.
 */
export function useCacheTags(schema: GraphQLSchema): ApolloServerPlugin<SubgraphContext> {
  const entities = entityTypes(schema);
  const roots = rootFields(schema, entities);
  const queryType = schema.getQueryType();
  return {
    async requestDidStart() {
      return {
        async executionDidStart({ contextValue }) {
          return {
            willResolveField({ source, args, info }) {
              const id = (source as { id?: unknown } | null)?.id;
              if (typeof id === 'string' && entities.has(info.parentType.name)) contextValue.cacheTags.entities.add(`${info.parentType.name}:${id}`);
              // A root field is tagged even when it came back empty or only counted: a new
              // entity, or one whose fields now match, may belong in it.
              const root = !info.path.prev && info.parentType === queryType ? roots.get(info.fieldName) : undefined;
              if (root) for (const tag of rootTags(root, args)) contextValue.cacheTags.entities.add(tag);
            },
          };
        },
        async willSendResponse({ response, contextValue }) {
          if (response.body.kind !== 'single') return;
          const { entities: read, changed } = contextValue.cacheTags;
          const report: CacheTagReport = { entities: [...read], changed: allFieldsOf(schema, changed) };
          response.body.singleResult.extensions = { ...response.body.singleResult.extensions, [CACHE_EXTENSION]: report };
        },
      };
    },
  };
}
