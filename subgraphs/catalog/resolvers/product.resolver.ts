import { ref, type FilterQuery } from '@mikro-orm/core';
import { Max, Min } from 'class-validator';
import { Arg, Args, ArgsType, Ctx, Directive, Field, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { reportChanged } from '../../../shared/cache-tags/cache-tags.js';
import { ListDependsOn } from '../../../shared/cache-tags/list-depends-on.js';
import { BadUserInputError, NotFoundError } from '../../../shared/errors/errors.js';
import { isUuid } from '../../../shared/subgraph/loaders.js';
import { ConnectionType, MAX_PAGE_SIZE, orderByThenId, paginate, type Connection } from '../../../shared/subgraph/pagination.js';
import { Category } from '../entities/category.entity.js';
import { Product } from '../entities/product.entity.js';
import type { CatalogContext } from '../loaders.js';
import {
  CreateProductArgs,
  OrderDirection,
  ProductOrderField,
  ProductsArgs,
  UpdateProductArgs,
  type ProductFilter,
} from './product.inputs.js';

const ProductConnection = ConnectionType(Product);

@ArgsType()
class TopProductsArgs {
  @Field(() => Int, { defaultValue: 5 })
  @Min(0, { message: 'first must not be negative' })
  @Max(MAX_PAGE_SIZE, { message: `first must be at most ${MAX_PAGE_SIZE}` })
  first: number;
}

/** `%` and `_` in a search are literal characters, not patterns. */
function likePattern(search: string): string {
  return `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function whereOf(filter: ProductFilter | undefined): FilterQuery<Product> {
  const where: Record<string, unknown> = {};
  if (filter?.categoryId) where.category = filter.categoryId;
  if (filter?.search) {
    const pattern = likePattern(filter.search);
    where.$or = [{ name: { $ilike: pattern } }, { description: { $ilike: pattern } }];
  }
  const { min, max } = filter?.priceRange ?? {};
  if (min != null && max != null && min > max) {
    throw new BadUserInputError(`priceRange.min (${min}) is greater than priceRange.max (${max}).`, [
      { field: 'filter.priceRange', message: 'min must not exceed max' },
    ]);
  }
  if (min != null || max != null) where.priceAmount = { ...(min != null && { $gte: min }), ...(max != null && { $lte: max }) };
  return where as FilterQuery<Product>;
}

/**
 * The Product fields a page of `products` is filtered or ordered by: a write to one of them
 * purges the cached pages that depend on it (the default order, newest first, moves only when
 * a product is created). Fields of the supergraph's Product, not only the catalog's.
 */
function productsDependOn({ filter, orderBy }: ProductsArgs): string[] {
  const fields = new Set<string>();
  if (filter?.search) fields.add('name').add('description');
  if (filter?.categoryId) fields.add('category');
  if (filter?.priceRange) fields.add('price');
  if (orderBy?.field === ProductOrderField.NAME) fields.add('name');
  if (orderBy?.field === ProductOrderField.PRICE) fields.add('price');
  // Reviews' field, of which the catalog keeps a copy: both the review's mutation and the copy's update report it.
  if (orderBy?.field === ProductOrderField.RATING) fields.add('averageRating');
  return [...fields];
}

@Resolver(() => Product)
export class ProductResolver {
  @Query(() => Product, { nullable: true, description: 'One product by id or by UPC (give exactly one).' })
  async product(
    @Ctx() ctx: CatalogContext,
    @Arg('id', () => ID, { nullable: true }) id?: string,
    @Arg('upc', () => String, { nullable: true }) upc?: string,
  ): Promise<Product | null> {
    if ((id == null) === (upc == null)) {
      throw new BadUserInputError('Give exactly one of id or upc.', [
        { field: id == null ? 'id' : 'upc', message: 'exactly one of id or upc' },
      ]);
    }
    return id != null ? ctx.loaders.productById.load(id) : ctx.loaders.productByUpc.load(upc!);
  }

  @Query(() => ProductConnection, { description: 'Products, filtered and ordered, a page at a time.' })
  @Directive('@cacheControl(maxAge: 60)')
  @Directive('@listSize(slicingArguments: ["first"], sizedFields: ["edges"])')
  @ListDependsOn(productsDependOn)
  async products(@Ctx() ctx: CatalogContext, @Args(() => ProductsArgs) args: ProductsArgs): Promise<Connection<Product>> {
    const field = args.orderBy?.field ?? ProductOrderField.CREATED_AT;
    const direction = args.orderBy?.direction ?? OrderDirection.DESC;
    return paginate(ctx.em, Product, whereOf(args.filter), args, orderByThenId(`${field}:${direction}`, field, direction));
  }

  @Query(() => [Product], { description: 'The newest products: what the shop front shows first.' })
  @Directive('@listSize(slicingArguments: ["first"])')
  @ListDependsOn([])
  async topProducts(@Ctx() ctx: CatalogContext, @Args(() => TopProductsArgs) { first }: TopProductsArgs): Promise<Product[]> {
    const products = await ctx.em.find(Product, {}, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: first });
    // Prime the loader, so references to these products in the same request cost no query.
    for (const product of products) ctx.loaders.productById.prime(product.id, product);
    return products;
  }

  @FieldResolver(() => Category)
  async category(@Root() product: Product, @Ctx() ctx: CatalogContext): Promise<Category> {
    const category = await ctx.loaders.categoryById.load(product.category.id);
    if (!category) throw new NotFoundError('Category', product.category.id);
    return category;
  }

  @Mutation(() => Product)
  @Directive('@requiresScopes(scopes: [["catalog:write"]])')
  async createProduct(@Ctx() ctx: CatalogContext, @Args(() => CreateProductArgs) { input }: CreateProductArgs): Promise<Product> {
    const category = await this.requireCategory(ctx, input.categoryId);
    const product = ctx.em.create(Product, {
      upc: input.upc,
      name: input.name,
      description: input.description,
      priceAmount: input.price.amount,
      priceCurrency: input.price.currency,
      weight: input.weight,
      category,
    });
    await ctx.em.flush();
    reportChanged(ctx, 'Product');
    return product;
  }

  @Mutation(() => Product)
  @Directive('@requiresScopes(scopes: [["catalog:write"]])')
  async updateProduct(@Ctx() ctx: CatalogContext, @Args(() => UpdateProductArgs) { id, input }: UpdateProductArgs): Promise<Product> {
    const product = isUuid(id) ? await ctx.em.findOne(Product, id) : null;
    if (!product) throw new NotFoundError('Product', id);
    // The GraphQL fields this write changes, for the cached lists ordered or filtered by them.
    const changed: string[] = [];
    if (input.name != null) {
      product.name = input.name;
      changed.push('name');
    }
    if (input.description != null) {
      product.description = input.description;
      changed.push('description');
    }
    if (input.weight != null) {
      product.weight = input.weight;
      changed.push('weight', 'shippingEstimate');
    }
    if (input.price != null) {
      product.priceAmount = input.price.amount;
      product.priceCurrency = input.price.currency;
      changed.push('price', 'shippingEstimate');
    }
    if (input.categoryId != null) {
      product.category = ref(await this.requireCategory(ctx, input.categoryId));
      changed.push('category');
    }
    await ctx.em.flush();
    reportChanged(ctx, 'Product', product.id, changed);
    return product;
  }

  private async requireCategory(ctx: CatalogContext, categoryId: string): Promise<Category> {
    const category = await ctx.loaders.categoryById.load(categoryId);
    if (!category)
      throw new BadUserInputError(`Category ${categoryId} does not exist.`, [{ field: 'input.categoryId', message: 'no such category' }]);
    return category;
  }
}
