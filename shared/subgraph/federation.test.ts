import { describe, expect, it } from '@jest/globals';
import { composeServices } from '@apollo/composition';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { DirectiveLocation, GraphQLDirective, GraphQLString, parse } from 'graphql';
import { Arg, Directive, Field, ID, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import {
  FEDERATION_DIRECTIVES,
  federationNeeds,
  schemaExtension,
  type FederationDirectiveName,
  type FederationVersion,
} from './federation.js';
import { composeSubgraphs } from '../../gateway/supergraph/supergraph.js';
import { defineSubgraph, type StoreSubgraphDefinition, type SubgraphDefinition } from './definition.js';
import { buildFederatedSchema, subgraphSdl } from './schema.js';

/** One use of each directive, as Apollo's documentation writes it. */
const uses: Record<FederationDirectiveName, string> = {
  key: 'type T @key(fields: "id") { id: ID! }',
  requires: 'type T @key(fields: "id") { id: ID! w: Int @external x: Int @requires(fields: "w") }',
  provides: 'type Query { t: T @provides(fields: "n") } type T @key(fields: "id") { id: ID! n: String @external }',
  external: 'type T @key(fields: "id") { id: ID! w: Int @external x: Int @requires(fields: "w") }',
  shareable: 'type T @shareable { a: Int }',
  inaccessible: 'type T { a: Int @inaccessible b: Int }',
  override: 'type T @key(fields: "id") { id: ID! a: Int @override(from: "elsewhere") }',
  tag: 'type T { a: Int @tag(name: "internal") }',
  extends: 'type T @extends @key(fields: "id") { id: ID! }',
  composeDirective:
    'extend schema @link(url: "https://example.dev/custom/v1.0", import: ["@custom"]) @composeDirective(name: "@custom") directive @custom on OBJECT type T @custom { a: Int }',
  interfaceObject: 'type T @key(fields: "id") @interfaceObject { id: ID! }',
  authenticated: 'type T { a: Int @authenticated }',
  requiresScopes: 'type T { a: Int @requiresScopes(scopes: [["read"]]) }',
  policy: 'type T { a: Int @policy(policies: [["p"]]) }',
  context:
    'type Query { t: T } type T @key(fields: "id") @context(name: "c") { id: ID! p: String! u: U! } type U @key(fields: "id") { id: ID! f(a: String @fromContext(field: "$c { p }")): String }',
  fromContext:
    'type Query { t: T } type T @key(fields: "id") @context(name: "c") { id: ID! p: String! u: U! } type U @key(fields: "id") { id: ID! f(a: String @fromContext(field: "$c { p }")): String }',
  cost: 'type T { a: Int @cost(weight: 2) }',
  listSize: 'type Query { ts: [Int] @listSize(assumedSize: 3) }',
};

/**
 * Validates `sdl` as a subgraph behind the link derived for it (or another version), as
 * composition does first for each subgraph: the errors reported.
 */
function composeAt(sdl: string, version?: FederationVersion): string[] {
  const withQuery = sdl.includes('type Query') ? sdl : `${sdl} type Query { ok: Int }`;
  const needs = federationNeeds(parse(withQuery));
  try {
    buildSubgraphSchema([{ typeDefs: parse(`${schemaExtension({ ...needs, version: version ?? needs.version })}\n${withQuery}`) }]);
    return [];
  } catch (error) {
    return [(error as Error).message];
  }
}
const below = (version: string): FederationVersion => `2.${Number(version.split('.')[1]) - 1}`;

describe('the federation link a subgraph gets', () => {
  it.each(Object.entries(uses))('@%s: imported unqualified at the lowest version that defines it, which composes', (name, sdl) => {
    const needs = federationNeeds(parse(sdl));
    expect(needs.imports).toContain(`@${name}`);
    expect(needs.version).toBe(FEDERATION_DIRECTIVES[name as FederationDirectiveName]);
    expect(composeAt(sdl)).toEqual([]);
    // The lowest: one version below, it does not compose.
    if (needs.version !== '2.0') expect(composeAt(sdl, below(needs.version))).not.toEqual([]);
  });

  it('counts the qualified spelling’s version without importing it', () => {
    expect(federationNeeds(parse('type T @key(fields: "id") @federation__interfaceObject { id: ID! }'))).toEqual({
      version: '2.3',
      imports: ['@key'],
    });
  });

  it('asks 2.7 for progressive override (`label`) and 2.3 for an entity interface', () => {
    const label = 'type T @key(fields: "id") { id: ID! a: Int @override(from: "elsewhere", label: "percent(50)") }';
    const entityInterface = 'interface I @key(fields: "id") { id: ID! } type T implements I @key(fields: "id") { id: ID! }';
    expect(federationNeeds(parse(label)).version).toBe('2.7');
    expect(federationNeeds(parse(entityInterface)).version).toBe('2.3');
    expect(composeAt(label)).toEqual([]);
    expect(composeAt(label, '2.6')).not.toEqual([]);
    // Subgraph validation lets an entity interface through at any version; composition checks it.
    const compose = (version: FederationVersion) =>
      composeServices([
        {
          name: 'one',
          url: 'http://one',
          typeDefs: parse(`${schemaExtension({ version, imports: ['@key'] })} ${entityInterface} type Query { i: I }`),
        },
      ]).errors ?? [];
    expect(compose('2.3')).toEqual([]);
    expect(compose('2.2').map((e) => e.message)).toEqual([expect.stringContaining('@key is not yet supported on interfaces')]);
  });
});

@ObjectType()
@Directive('@key(fields: "id")')
class Widget {
  @Field(() => ID) id: string;
  @Field() @Directive('@policy(policies: [["widgets"]])') @Directive('@requiresScopes(scopes: [["widgets:read"]])') name: string;
}

@Resolver()
class WidgetQueries {
  @Query(() => [Widget])
  widgets() {
    return [];
  }
}

@Resolver()
class WidgetMutations {
  @Mutation(() => Widget)
  renameWidget(@Arg('name') name: string) {
    return { id: 'w1', name };
  }
}

@ObjectType()
@Directive('@key(fields: "id")')
@Directive('@stamp(by: "widgets")')
class Gear {
  @Field(() => ID) id: string;
}

@Resolver()
class GearQueries {
  @Query(() => Gear)
  gear() {
    return { id: 'g1' };
  }
}

@ObjectType()
@Directive('@key(fields: "id")')
class Bolt {
  @Field(() => ID) id: string;
}

@Resolver()
class KeyOnlyQueries {
  @Query(() => [Bolt])
  bolts() {
    return [];
  }
}

@ObjectType()
@Directive('@key(fields: "id")')
class Badge {
  @Field(() => ID) id: string;

  @Field(() => String, { nullable: true })
  label(
    @Arg('country', () => String, { nullable: true }) @Directive('@fromContext(field: "$maker { country }")') country?: string,
  ): string | null {
    return country ?? null;
  }
}

@ObjectType()
@Directive('@key(fields: "id")')
@Directive('@context(name: "maker")')
class Workshop {
  @Field(() => ID) id: string;
  @Field() country: string;
  @Field(() => Badge) badge: Badge;
  @Field() @Directive('@override(from: "elsewhere", label: "percent(10)")') motto: string;
}

@Resolver()
class WorkshopQueries {
  @Query(() => Workshop)
  workshop() {
    return { id: 'w1', country: 'FR', badge: { id: 'b1' }, motto: 'x' };
  }
}

const definition = (overrides: Partial<StoreSubgraphDefinition>): SubgraphDefinition =>
  defineSubgraph({
    name: 'widgets',
    port: 0,
    entities: [],
    resolvers: [WidgetQueries],
    createLoaders: () => ({}),
    ...overrides,
  } as StoreSubgraphDefinition);

describe('a subgraph schema built by Tessera', () => {
  it('links the federation version and imports its directives need, not a fixed list', async () => {
    const sdl = await subgraphSdl(definition({ name: 'gears', resolvers: [KeyOnlyQueries] }));
    expect(sdl).toContain('@link(url: "https://specs.apollo.dev/federation/v2.0", import: ["@key"])');
  });

  it('uses @policy and @requiresScopes unqualified (v2.6), and the result composes', async () => {
    const sdl = await subgraphSdl(definition({}));
    expect(sdl).toContain('@link(url: "https://specs.apollo.dev/federation/v2.6", import: ["@key", "@requiresScopes", "@policy"])');
    expect(sdl).toContain('name: String! @policy(policies: [["widgets"]]) @requiresScopes(scopes: [["widgets:read"]])');
    expect(composeSubgraphs([{ name: 'widgets', url: 'http://widgets', sdl }]).errors).toEqual([]);
  });

  it('applies @context on a type and @fromContext on a TypeGraphQL argument, and @override with a label (v2.8)', async () => {
    const sdl = await subgraphSdl(definition({ name: 'workshops', resolvers: [WorkshopQueries] }));
    expect(sdl).toContain(
      '@link(url: "https://specs.apollo.dev/federation/v2.8", import: ["@key", "@override", "@context", "@fromContext"])',
    );
    expect(sdl).toContain('label(country: String @fromContext(field: "$maker { country }")): String');
    expect(sdl).toContain('@override(from: "elsewhere", label: "percent(10)")');
    expect(composeSubgraphs([{ name: 'workshops', url: 'http://workshops', sdl }]).errors).toEqual([]);
  });

  it('takes an explicit version and import list, and refuses one the schema does not fit, naming the fix', async () => {
    const sdl = await subgraphSdl(
      definition({ name: 'gears', resolvers: [KeyOnlyQueries], federation: { version: '2.5', import: ['@key', '@tag'] } }),
    );
    expect(sdl).toContain('@link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@tag"])');
    await expect(buildFederatedSchema(definition({ federation: { version: '2.3' } }))).rejects.toThrow(
      'widgets: federation.version 2.3 is below 2.6, which the directives used and imported need',
    );
    await expect(buildFederatedSchema(definition({ federation: { import: ['@key'] } }))).rejects.toThrow(
      'widgets: the schema uses @requiresScopes, @policy, which federation.import leaves out',
    );
    await expect(buildFederatedSchema(definition({ federation: { version: '2.15' } }))).rejects.toThrow(
      'is not one composition accepts (2.0 to 2.14)',
    );
    await expect(buildFederatedSchema(definition({ federation: { import: ['@nope' as '@key'] } }))).rejects.toThrow(
      '"@nope", which is not a federation directive',
    );
  });

  it('defines the subgraph’s own directives and puts its schema directives after the federation link', async () => {
    const stamp = new GraphQLDirective({ name: 'stamp', locations: [DirectiveLocation.OBJECT], args: { by: { type: GraphQLString } } });
    const sdl = await subgraphSdl(
      definition({
        name: 'gears',
        resolvers: [GearQueries],
        directives: [stamp],
        schemaDirectives: ['@link(url: "https://example.dev/stamp/v1.0", import: ["@stamp"])', '@composeDirective(name: "@stamp")'],
      }),
    );
    expect(sdl).toContain('directive @stamp(by: String) on OBJECT');
    expect(sdl).toContain('type Gear @key(fields: "id") @stamp(by: "widgets")');
    expect(sdl).toMatch(
      /@link\(url: "https:\/\/specs\.apollo\.dev\/federation\/v2\.1", import: \["@key", "@composeDirective"\]\) @link\(url: "https:\/\/example\.dev\/stamp\/v1\.0", import: \["@stamp"\]\) @composeDirective\(name: "@stamp"\)/,
    );
    const composed = composeSubgraphs([{ name: 'gears', url: 'http://gears', sdl }]);
    expect(composed.errors).toEqual([]);
    expect(composed.supergraphSdl).toContain('@stamp(by: "widgets")');
    await expect(buildFederatedSchema(definition({ schemaDirectives: ['@link(url: '] }))).rejects.toThrow(
      'widgets: schemaDirectives do not parse',
    );
  });

  it('adds the audit log root field only to a subgraph that opts into auditing, mutations or not', async () => {
    expect(await subgraphSdl(definition({}))).not.toMatch(/widgetsAuditLog|AuditRecord/);
    expect(await subgraphSdl(definition({ resolvers: [WidgetQueries, WidgetMutations] }))).not.toMatch(/widgetsAuditLog|AuditRecord/);
    expect(await subgraphSdl(definition({ resolvers: [WidgetQueries, WidgetMutations], audit: {} }))).toContain('widgetsAuditLog(');
    expect(await subgraphSdl(definition({ audit: {} }))).toContain('widgetsAuditLog(');
  });

  it('leaves out framework directives the subgraph does not apply', async () => {
    expect(await subgraphSdl(definition({}))).not.toMatch(/cacheControl|CacheControlScope/);
  });
});
