import { buildSubgraphSchema, printSubgraphSchema } from '@apollo/subgraph';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import {
  DirectiveLocation,
  GraphQLBoolean,
  GraphQLDirective,
  GraphQLEnumType,
  GraphQLInt,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  type GraphQLSchema,
} from 'graphql';
import { buildSchema, createResolversMap } from 'type-graphql';
import { auditMutations, createAuditLogResolver } from './audit.js';
import { enforceAuthorization } from './auth-directives.js';
import type { SubgraphDefinition } from './definition.js';
import { withFederationLink } from './federation.js';
import { settleOutboxAfterMutations } from '../jobs/mutations.js';
import { createSubgraphPubSub, publishAfterMutations, type SubgraphPubSub } from './pubsub.js';

/**
 * Apollo Server's `@cacheControl`, which subgraphs declare on types and fields; Apollo Server
 * turns it into each response's Cache-Control header, which the gateway combines. Given to
 * TypeGraphQL as a real directive so that `scope: PRIVATE` prints as the enum value Apollo
 * reads (as an untyped argument it would print as a string and be ignored).
 */
const cacheControlDirective = new GraphQLDirective({
  name: 'cacheControl',
  locations: [DirectiveLocation.FIELD_DEFINITION, DirectiveLocation.OBJECT, DirectiveLocation.INTERFACE, DirectiveLocation.UNION],
  args: {
    maxAge: { type: GraphQLInt },
    scope: { type: new GraphQLEnumType({ name: 'CacheControlScope', values: { PUBLIC: {}, PRIVATE: {} } }) },
    inheritMaxAge: { type: GraphQLBoolean },
  },
});

/**
 * TypeGraphQL builds the schema from the definition's own resolver classes (never a glob:
 * its metadata is global), then @apollo/subgraph adds the federation fields. The federation
 * link is derived from the printed SDL (shared/subgraph/federation.ts) unless the definition sets it.
 * `@Subscription` resolvers subscribe to `pubSub` (in memory unless given), which also carries what mutations publish.
 */
export async function buildFederatedSchema(
  definition: SubgraphDefinition,
  pubSub: SubgraphPubSub = createSubgraphPubSub({ name: definition.name }),
): Promise<GraphQLSchema> {
  // The audit log reads what audited mutations record; only a subgraph that opted in (one with a store) has either.
  const { audit } = definition;
  const typeGraphQLSchema = await buildSchema({
    resolvers: audit ? [...definition.resolvers, createAuditLogResolver(definition.name)] : definition.resolvers,
    orphanedTypes: definition.orphanedTypes,
    validate: { forbidUnknownValues: false },
    directives: [cacheControlDirective, ...(definition.directives ?? [])],
    skipCheck: true,
    pubSub,
  });
  const typeDefs = withFederationLink(definition.name, printSchemaWithDirectives(typeGraphQLSchema), {
    ...definition,
    // Tessera's own directive, defined for every subgraph, shows only where one applies it.
    optional: { [cacheControlDirective.name]: ['CacheControlScope'] },
  });
  const resolvers = createResolversMap(typeGraphQLSchema) as Record<string, Record<string, unknown>>;
  for (const [typename, resolveReference] of Object.entries(definition.references ?? {})) {
    resolvers[typename] = { ...resolvers[typename], __resolveReference: resolveReference };
  }
  const schema = buildSubgraphSchema([{ typeDefs, resolvers: resolvers as never }]);
  carryFieldExtensions(typeGraphQLSchema, schema);
  carryDefaultValues(typeGraphQLSchema, schema);
  // Audit outermost, so refusals by the authorization check are recorded too.
  const authorized = enforceAuthorization(publishAfterMutations(settleOutboxAfterMutations(schema), pubSub));
  return audit ? auditMutations(authorized, audit) : authorized;
}

/**
 * TypeGraphQL's `@Extensions` (such as `@ListDependsOn`) live on the schema it built, not in
 * the SDL the federated schema is built from: copied over, the served schema's plugins see them.
 */
function carryFieldExtensions(from: GraphQLSchema, to: GraphQLSchema): void {
  for (const type of Object.values(from.getTypeMap())) {
    const target = to.getType(type.name);
    if (!isObjectType(type) || !isObjectType(target)) continue;
    const targetFields = target.getFields();
    for (const field of Object.values(type.getFields())) {
      const into = targetFields[field.name];
      if (into && Object.keys(field.extensions).length) Object.assign(into, { extensions: { ...field.extensions, ...into.extensions } });
    }
  }
}

/**
 * Default values as TypeGraphQL holds them, in internal values. Built again from the SDL, an
 * enum default is its name (`CREATED_AT`), and the enum's resolvers map only the values a client
 * sends, so a resolver would get the name where it expects the internal value (`createdAt`).
 */
function carryDefaultValues(from: GraphQLSchema, to: GraphQLSchema): void {
  for (const type of Object.values(from.getTypeMap())) {
    const target = to.getType(type.name);
    if (isInputObjectType(type) && isInputObjectType(target)) {
      const targetFields = target.getFields();
      for (const field of Object.values(type.getFields())) {
        const into = targetFields[field.name];
        if (into && field.defaultValue !== undefined) into.defaultValue = field.defaultValue;
      }
    }
    if ((isObjectType(type) || isInterfaceType(type)) && (isObjectType(target) || isInterfaceType(target))) {
      const targetFields = target.getFields();
      for (const field of Object.values(type.getFields())) {
        const intoArgs = targetFields[field.name]?.args ?? [];
        for (const arg of field.args) {
          const into = intoArgs.find((a) => a.name === arg.name);
          if (into && arg.defaultValue !== undefined) into.defaultValue = arg.defaultValue;
        }
      }
    }
  }
}

/** The subgraph's SDL as composition sees it (what `_service { sdl }` returns). */
export async function subgraphSdl(definition: SubgraphDefinition): Promise<string> {
  return printSubgraphSchema(await buildFederatedSchema(definition));
}
