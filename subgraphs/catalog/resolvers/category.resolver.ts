import { Ctx, Query, Resolver } from 'type-graphql';
import { Category } from '../entities/category.entity.js';
import type { CatalogContext } from '../loaders.js';

@Resolver(() => Category)
export class CategoryResolver {
  @Query(() => [Category], { description: 'Every category, by name.' })
  async categories(@Ctx() ctx: CatalogContext): Promise<Category[]> {
    return ctx.em.find(Category, {}, { orderBy: { name: 'asc' } });
  }
}
