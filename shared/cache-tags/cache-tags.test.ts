import { describe, expect, it } from '@jest/globals';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { Arg, Ctx, Directive, Field, ID, Int, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import { CACHE_EXTENSION, newCacheTags, reportChanged, useCacheTags, type CacheTagReport } from './cache-tags.js';
import { ListDependsOn } from './list-depends-on.js';
import { createLogger } from '../observability/logger.js';
import type { SubgraphContext } from '../subgraph/context.js';
import type { SubgraphDefinition } from '../subgraph/definition.js';
import { PendingEvents } from '../subgraph/pubsub.js';
import { buildFederatedSchema } from '../subgraph/schema.js';

@ObjectType()
@Directive('@key(fields: "id")')
class Gizmo {
  @Field(() => ID)
  id: string;

  @Field()
  name: string;

  @Field(() => Int)
  size: number;
}

@ObjectType({ description: 'No entity: what it holds is found through its fields.' })
class GizmoShelf {
  @Field(() => [Gizmo])
  gizmos: Gizmo[];
}

const gizmos: Gizmo[] = [{ id: '1', name: 'Cog', size: 3 }];

@Resolver(() => Gizmo)
class GizmoResolver {
  @Query(() => [Gizmo])
  @ListDependsOn(['size'])
  bySize(): Gizmo[] {
    return gizmos;
  }

  @Query(() => [Gizmo])
  @ListDependsOn((args: { named?: string }) => (args.named ? ['name'] : []))
  search(@Arg('named', () => String, { nullable: true }) _named?: string): Gizmo[] {
    return [];
  }

  @Query(() => [Gizmo], { description: 'Declares nothing: any change to a Gizmo may move it.' })
  undeclared(): Gizmo[] {
    return [];
  }

  @Query(() => Gizmo, { nullable: true })
  gizmo(): Gizmo | null {
    return null;
  }

  @Query(() => GizmoShelf)
  shelf(): GizmoShelf {
    return { gizmos: [] };
  }

  @Mutation(() => Boolean)
  resize(@Ctx() ctx: SubgraphContext): boolean {
    reportChanged(ctx, 'Gizmo', '1', ['size']);
    return true;
  }

  @Mutation(() => Boolean)
  remove(@Ctx() ctx: SubgraphContext): boolean {
    reportChanged(ctx, 'Gizmo');
    reportChanged(ctx, 'Gizmo', '1');
    return true;
  }
}

@Resolver(() => Gizmo)
class MisspeltResolver {
  @Query(() => [Gizmo])
  @ListDependsOn(['nmae'])
  misspelt(): Gizmo[] {
    return [];
  }
}

@Resolver(() => Gizmo)
class NotAListResolver {
  @Query(() => Int)
  @ListDependsOn(['size'])
  count(): number {
    return 0;
  }
}

const definition = (resolver: Function): SubgraphDefinition =>
  ({
    name: 'gizmos',
    port: 0,
    entities: [],
    resolvers: [resolver],
    orphanedTypes: [Gizmo],
    createLoaders: () => ({}),
  }) as SubgraphDefinition;

describe('cache tags of root lists', () => {
  it('tags each root list by its type and by the fields it declares (or by any field), and each write by the fields it changed', async () => {
    const schema = await buildFederatedSchema(definition(GizmoResolver));
    const apollo = new ApolloServer<SubgraphContext>({ schema, plugins: [useCacheTags(schema), ApolloServerPluginInlineTraceDisabled()] });
    await apollo.start();
    const report = async (query: string) => {
      // No store: the audit record of a mutation fails, quietly, and the mutation still answers.
      const contextValue = {
        cacheTags: newCacheTags(),
        events: new PendingEvents(),
        logger: createLogger('test', { logLevel: 'silent', env: 'test' }),
      } as SubgraphContext;
      const response = await apollo.executeOperation({ query }, { contextValue });
      if (response.body.kind !== 'single') throw new Error('expected a single result');
      expect(response.body.singleResult.errors).toBeUndefined();
      return response.body.singleResult.extensions?.[CACHE_EXTENSION] as CacheTagReport;
    };
    const read = async (query: string) => (await report(query)).entities.sort();
    try {
      expect(await read(`{ bySize { id } }`)).toEqual(['Gizmo', 'Gizmo#size', 'Gizmo:1']);
      expect(await read(`{ search(named: "x") { id } }`)).toEqual(['Gizmo', 'Gizmo#name']);
      expect(await read(`{ search { id } }`)).toEqual(['Gizmo']);
      expect(await read(`{ undeclared { id } }`)).toEqual(['Gizmo', 'Gizmo#*']);
      expect(await read(`{ gizmo { id } }`)).toEqual(['Gizmo']);
      expect(await read(`{ shelf { gizmos { id } } }`)).toEqual(['Gizmo', 'Gizmo#*']);
      // A response that read nothing taggable still says so: silence means "cannot tell" at the gateway.
      expect(await read(`{ __typename }`)).toEqual([]);

      expect((await report(`mutation { resize }`)).changed.sort()).toEqual(['Gizmo#*', 'Gizmo#size', 'Gizmo:1']);
      // Without the fields, every field of the type counts as changed.
      expect((await report(`mutation { remove }`)).changed.sort()).toEqual([
        'Gizmo',
        'Gizmo#*',
        'Gizmo#id',
        'Gizmo#name',
        'Gizmo#size',
        'Gizmo:1',
      ]);
    } finally {
      await apollo.stop();
    }
  });

  it('refuses at start a declaration naming a field the type lacks, or on a field that lists no entity', async () => {
    const misspelt = await buildFederatedSchema(definition(MisspeltResolver));
    expect(() => useCacheTags(misspelt)).toThrow('@ListDependsOn on Query.misspelt names nmae, which Gizmo does not have here.');
    const notAList = await buildFederatedSchema(definition(NotAListResolver));
    expect(() => useCacheTags(notAList)).toThrow('@ListDependsOn on Query.count: it must list an entity type (found Int).');
  });
});
