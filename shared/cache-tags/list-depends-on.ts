import { Extensions } from 'type-graphql';
import { LIST_DEPENDS_ON, type ListDependencies } from './cache-tags.js';

// Apart from cache-tags.ts, which the gateway loads too: the decorator needs TypeGraphQL.

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
