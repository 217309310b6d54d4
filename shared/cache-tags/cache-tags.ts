import type { ApolloServerPlugin } from '@apollo/server';
import {
  getNamedType,
  getNullableType,
  isAbstractType,
  isInterfaceType,
  isListType,
  isObjectType,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';
import type { SubgraphContext } from '../subgraph/context.js';

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
export const LIST_DEPENDS_ON = 'tesseraListDependsOn';

/** What `@ListDependsOn` records (list-depends-on.ts). */
export type ListDependencies = readonly string[] | ((args: any) => readonly string[]);

/** Recorded by a change that did not say which fields: expanded to every field of the type (`allFieldsOf`). */
const ALL_FIELDS = '#?';

/**
 * Called by mutations. Without an id: a `typename` was created or removed (root lists of it
 * and lookups that found none may change). With an id: that entity changed, and `fields` are
 * the fields whose values changed (GraphQL field names, e.g. `['name', 'price']`, including
 * list fields such as `reviews` whose members changed), so that root lists that depend on one
 * of them are purged too. Without `fields`, every field of the type counts as changed.
 */
export function reportChanged(
  context: Pick<SubgraphContext, 'cacheTags'>,
  typename: string,
  id?: string,
  fields?: readonly string[],
): void {
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

/** The changes as reported: "every field of Product" becomes each field Product has in this schema (a subgraph's, or the gateway's for a job's). */
export function allFieldsOf(schema: GraphQLSchema, changed: Iterable<string>): string[] {
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
  /** Its tags whatever the arguments. */
  tags: string[];
  /** A list of `entity` whose dependencies come from its arguments. */
  dependsOn?: { entity: string; fields: (args: any) => readonly string[] };
}

/**
 * The entity types a root field of a type that is no entity can hold (a search result, a
 * wrapper): they are found through its fields, stopping at entities, whose own fields are
 * covered by the writes reporting them.
 */
function entitiesUnder(schema: GraphQLSchema, root: GraphQLNamedType, entities: Set<string>): string[] {
  const found = new Set<string>();
  const seen = new Set<string>();
  const queue = [root];
  for (let type = queue.pop(); type; type = queue.pop()) {
    if (seen.has(type.name)) continue;
    seen.add(type.name);
    if (entities.has(type.name)) found.add(type.name);
    else if (isAbstractType(type)) queue.push(...schema.getPossibleTypes(type));
    else if (isObjectType(type) || isInterfaceType(type))
      queue.push(...Object.values(type.getFields()).map((field) => getNamedType(field.type)));
  }
  return [...found];
}

/** What each root query is tagged with; refuses declarations that cannot work. */
function rootFields(schema: GraphQLSchema, entities: Set<string>): Map<string, RootField> {
  const roots = new Map<string, RootField>();
  for (const field of Object.values(schema.getQueryType()?.getFields() ?? {}) as GraphQLField<unknown, unknown>[]) {
    // Federation's own (`_entities`, `_service`): the gateway's references, tagged by entity.
    if (field.name.startsWith('_')) continue;
    const named = getNamedType(field.type);
    const connection = named.name.endsWith('Connection');
    const entity = connection ? named.name.slice(0, -'Connection'.length) : named.name;
    const dependsOn = field.extensions[LIST_DEPENDS_ON] as ListDependencies | undefined;
    const list = entities.has(entity) && (connection || isListType(getNullableType(field.type)));
    if (dependsOn && !list) throw new Error(`@ListDependsOn on Query.${field.name}: it must list an entity type (found ${named.name}).`);
    if (list && typeof dependsOn === 'function') {
      roots.set(field.name, { tags: [entity], dependsOn: { entity, fields: dependsOn } });
    } else if (list && Array.isArray(dependsOn)) {
      const known = (schema.getType(entity) as GraphQLObjectType).getFields();
      const unknown = dependsOn.filter((name) => !(name in known));
      if (unknown.length)
        throw new Error(`@ListDependsOn on Query.${field.name} names ${unknown.join(', ')}, which ${entity} does not have here.`);
      roots.set(field.name, { tags: [entity, ...dependsOn.map((name) => `${entity}#${name}`)] });
    } else if (list) {
      roots.set(field.name, { tags: [entity, `${entity}#*`] });
    } else if (entities.has(entity)) {
      // One entity by a key: a new one may be the one looked for.
      roots.set(field.name, { tags: [entity] });
    } else {
      const under = entitiesUnder(schema, named, entities);
      if (under.length) roots.set(field.name, { tags: under.flatMap((type) => [type, `${type}#*`]) });
    }
  }
  return roots;
}

/** The tags a root field is stored under, for these arguments. */
function rootTags({ tags, dependsOn }: RootField, args: Record<string, unknown>): string[] {
  if (!dependsOn) return tags;
  return [...tags, ...dependsOn.fields(args).map((field) => `${dependsOn.entity}#${field}`)];
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
              if (typeof id === 'string' && entities.has(info.parentType.name))
                contextValue.cacheTags.entities.add(`${info.parentType.name}:${id}`);
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
