import { Max, Min } from 'class-validator';
import {
  Args,
  ArgsType,
  Ctx,
  Directive,
  Field,
  FieldResolver,
  ID,
  Int,
  Mutation,
  ObjectType,
  Query,
  Resolver,
  Root,
  Subscription,
} from 'type-graphql';
import { reportChanged } from '../../../shared/cache-tags/cache-tags.js';
import { ListDependsOn } from '../../../shared/cache-tags/list-depends-on.js';
import { BadUserInputError, InsufficientStockError } from '../../../shared/errors/errors.js';
import { isUuid } from '../../../shared/subgraph/loaders.js';
import { MAX_PAGE_SIZE } from '../../../shared/subgraph/pagination.js';
import { Stock } from '../entities/stock.entity.js';
import type { InventoryContext } from '../loaders.js';
import type { StockLow } from '../stock-low.js';
import { Product } from './product.type.js';
import { shippingEstimate } from './shipping.js';

const MAX_ADJUSTMENT = 1_000_000;

@ArgsType()
class LowStockArgs {
  @Field(() => Int, { defaultValue: 5, description: 'Products with at most this many units.' })
  @Min(0)
  threshold: number;

  @Field(() => Int, { defaultValue: 20 })
  @Min(0)
  @Max(MAX_PAGE_SIZE, { message: `first must be at most ${MAX_PAGE_SIZE}` })
  first: number;
}

@ArgsType()
class AdjustStockArgs {
  @Field(() => ID)
  productId: string;

  @Field(() => Int, { description: 'Units to add (positive) or take (negative).' })
  @Min(-MAX_ADJUSTMENT, { message: `delta must be at least -${MAX_ADJUSTMENT}` })
  @Max(MAX_ADJUSTMENT, { message: `delta must be at most ${MAX_ADJUSTMENT}` })
  delta: number;
}

@ArgsType()
class StockChangedArgs {
  @Field(() => [ID], { nullable: true, description: 'Only these products; unset: every product.' })
  productIds?: string[] | null;
}

/** What `adjustStock` publishes: JSON on its way to subscribers, possibly on another replica. */
interface StockChangedEvent {
  productId: string;
  quantity: number;
}

export const STOCK_CHANGED = 'STOCK_CHANGED';

@ObjectType({ description: "A product's stock after an adjustment." })
export class StockChange {
  @Field(() => Int, { description: 'Units on hand after the adjustment.' })
  quantity: number;

  @Field()
  inStock: boolean;

  @Field(() => Product, { description: 'The product, with whatever other subgraphs know of it.' })
  product: Product;
}

@Resolver(() => Product)
export class StockResolver {
  @FieldResolver(() => Int, { description: 'Units on hand.' })
  async quantity(@Root() product: Product, @Ctx() ctx: InventoryContext): Promise<number> {
    return ctx.loaders.quantityByProductId.load(product.id);
  }

  @FieldResolver(() => Boolean)
  async inStock(@Root() product: Product, @Ctx() ctx: InventoryContext): Promise<boolean> {
    return (await ctx.loaders.quantityByProductId.load(product.id)) > 0;
  }

  @FieldResolver(() => Int, { nullable: true, description: 'Shipping cost in the minor units of the price currency.' })
  @Directive('@requires(fields: "price { amount currency } weight")')
  shippingEstimate(@Root() product: Product): number | null {
    if (!product.price || product.weight == null) return null;
    return shippingEstimate(product.price, product.weight);
  }

  @Query(() => [Product], { description: 'Products running low, fewest first.' })
  @Directive('@listSize(slicingArguments: ["first"])')
  @ListDependsOn(['quantity'])
  async lowStock(@Ctx() ctx: InventoryContext, @Args(() => LowStockArgs) { threshold, first }: LowStockArgs): Promise<Product[]> {
    const rows = await ctx.em.find(
      Stock,
      { quantity: { $lte: threshold } },
      { orderBy: { quantity: 'asc', productId: 'asc' }, limit: first },
    );
    for (const row of rows) ctx.loaders.quantityByProductId.prime(row.productId, row.quantity);
    return rows.map((row) => ({ id: row.productId }));
  }

  /**
   * One statement decides: the row lock Postgres takes for the UPDATE serialises concurrent
   * adjustments, and the WHERE re-checked under that lock refuses any that would go below zero.
   */
  @Mutation(() => Product, { description: 'Adds or takes stock; never below zero, even under concurrent calls.' })
  @Directive('@requiresScopes(scopes: [["inventory:write"]])')
  async adjustStock(@Ctx() ctx: InventoryContext, @Args(() => AdjustStockArgs) { productId, delta }: AdjustStockArgs): Promise<Product> {
    if (!isUuid(productId)) {
      throw new BadUserInputError(`productId ${productId} is not a product id.`, [{ field: 'productId', message: 'not a product id' }]);
    }
    const table = ctx.em.getMetadata().get(Stock).tableName;
    const { threshold, webhook } = ctx.services.stockLow;
    // One transaction: the adjustment and the StockLow it may raise commit together, or neither does.
    const rows = await ctx.em.transactional(async (em) => {
      const adjusted =
        delta >= 0
          ? await em.execute<{ quantity: number }[]>(
              `insert into ${table} (id, product_id, quantity, created_at, updated_at) values (gen_random_uuid(), ?, ?, now(), now())
               on conflict (product_id) do update set quantity = ${table}.quantity + excluded.quantity, updated_at = now()
               returning quantity`,
              [productId, delta],
            )
          : await em.execute<{ quantity: number }[]>(
              `update ${table} set quantity = quantity + ?, updated_at = now() where product_id = ? and quantity + ? >= 0 returning quantity`,
              [delta, productId, delta],
            );
      const after = adjusted.length ? Number(adjusted[0]!.quantity) : undefined;
      // Under the threshold from at or above it: once per crossing, not on every adjustment below it.
      if (after !== undefined && after < threshold && after - delta >= threshold) {
        const event = { productId, quantity: after } satisfies StockLow;
        ctx.events.emit('StockLow', event, { em });
        if (webhook) ctx.jobs.enqueue('deliverStockLow', event, { em });
      }
      return adjusted;
    });
    if (!rows.length) {
      const current = await ctx.em.findOne(Stock, { productId }, { fields: ['quantity'], refresh: true });
      throw new InsufficientStockError(productId, current?.quantity ?? 0, delta);
    }
    const quantity = Number(rows[0]!.quantity);
    ctx.loaders.quantityByProductId.clear(productId).prime(productId, quantity);
    reportChanged(ctx, 'Product', productId, ['quantity', 'inStock']);
    ctx.events.publish(STOCK_CHANGED, { productId, quantity } satisfies StockChangedEvent);
    return { id: productId };
  }

  /** The quantity each adjustment left, as it committed: an event carries its own, not what the store holds when it is delivered. */
  @Subscription(() => StockChange, {
    topics: STOCK_CHANGED,
    filter: ({ payload, args }: { payload: StockChangedEvent; args: StockChangedArgs }) =>
      !args.productIds || args.productIds.includes(payload.productId),
    description: 'Every stock adjustment, as it commits.',
  })
  stockChanged(@Root() event: StockChangedEvent, @Args(() => StockChangedArgs) _args: StockChangedArgs): StockChange {
    return { quantity: event.quantity, inStock: event.quantity > 0, product: { id: event.productId } };
  }
}
