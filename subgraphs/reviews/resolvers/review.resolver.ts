import { IsUUID, Length, Max, Min, ValidateNested } from 'class-validator';
import {
  Arg,
  Args,
  ArgsType,
  Ctx,
  Directive,
  Field,
  FieldResolver,
  Float,
  ID,
  InputType,
  Int,
  Mutation,
  Query,
  Resolver,
  Root,
  Subscription,
} from 'type-graphql';
import { hasScope } from '../../../shared/identity/roles.js';
import { moveRatingSummary } from '../rating-summary.js';
import { reportChanged } from '../../../shared/cache-tags/cache-tags.js';
import { ForbiddenError, NotFoundError } from '../../../shared/errors/errors.js';
import { ConnectionType, PageArgs, type Connection } from '../../../shared/subgraph/pagination.js';
import { Review } from '../entities/review.entity.js';
import type { ReviewsContext } from '../loaders.js';
import { Product } from './product.type.js';
import { User } from './user.type.js';

const ReviewConnection = ConnectionType(Review);

@InputType()
class AddReviewInput {
  @Field(() => ID)
  @IsUUID('all', { message: 'productId must be a product id' })
  productId: string;

  @Field()
  @Length(1, 5000, { message: 'body must be 1 to 5000 characters' })
  body: string;

  @Field(() => Int, { description: '1 to 5.' })
  @Min(1, { message: 'rating must be between 1 and 5' })
  @Max(5, { message: 'rating must be between 1 and 5' })
  rating: number;
}

@ArgsType()
class AddReviewArgs {
  @Field(() => AddReviewInput)
  @ValidateNested()
  input: AddReviewInput;
}

/** What `addReview` publishes: the review is read from the store for each subscriber's event. */
interface ReviewAddedEvent {
  reviewId: string;
  productId: string;
}

export const REVIEW_ADDED = 'REVIEW_ADDED';

@Resolver(() => Review)
export class ReviewResolver {
  @Query(() => Review, { nullable: true })
  async review(@Ctx() ctx: ReviewsContext, @Arg('id', () => ID) id: string): Promise<Review | null> {
    return ctx.loaders.reviewById.load(id);
  }

  /** Reviews knows the author's username, so the gateway need not ask accounts for it. */
  @FieldResolver(() => User)
  @Directive('@provides(fields: "username")')
  author(@Root() review: Review): User {
    return { id: review.author, username: review.authorUsername };
  }

  @FieldResolver(() => Product)
  product(@Root() review: Review): Product {
    return { id: review.product };
  }

  @Mutation(() => Review, { description: 'Reviews a product as the signed-in user.' })
  @Directive('@requiresScopes(scopes: [["reviews:write"]])')
  async addReview(@Ctx() ctx: ReviewsContext, @Args(() => AddReviewArgs) { input }: AddReviewArgs): Promise<Review> {
    const user = ctx.user!; // the directive above refuses anonymous callers before this runs
    // The review, its product's summary and the recount job commit together.
    const review = await ctx.em.transactional(async (em) => {
      const added = em.create(Review, {
        product: input.productId,
        author: user.userId,
        authorUsername: user.username,
        body: input.body,
        rating: input.rating,
      });
      await em.flush();
      await moveRatingSummary(em, added.product, added.rating, 1);
      ctx.jobs.enqueue('recountRatingSummary', { productId: added.product }, { em });
      return added;
    });
    // A new review exists, and the product's and the author's review lists (and averages) changed.
    reportChanged(ctx, 'Review');
    reportChanged(ctx, 'Product', review.product, ['reviews', 'averageRating']);
    reportChanged(ctx, 'User', review.author, ['reviews']);
    ctx.events.publish(REVIEW_ADDED, { reviewId: review.id, productId: review.product } satisfies ReviewAddedEvent);
    return review;
  }

  @Subscription(() => Review, {
    topics: REVIEW_ADDED,
    filter: ({ payload, args }: { payload: ReviewAddedEvent; args: { productId?: string | null } }) =>
      !args.productId || args.productId === payload.productId,
    description: 'Each new review, once stored; of one product when productId is given.',
  })
  async reviewAdded(
    @Root() event: ReviewAddedEvent,
    @Ctx() ctx: ReviewsContext,
    @Arg('productId', () => ID, { nullable: true }) _productId?: string,
  ): Promise<Review> {
    const review = await ctx.loaders.reviewById.load(event.reviewId);
    // Deleted between its publication and this delivery.
    if (!review) throw new NotFoundError('Review', event.reviewId);
    return review;
  }

  @Mutation(() => ID, { description: 'Deletes a review: your own, or any with the reviews:moderate scope (staff). Returns its id.' })
  @Directive('@authenticated')
  async deleteReview(@Ctx() ctx: ReviewsContext, @Arg('id', () => ID) id: string): Promise<string> {
    const review = await ctx.loaders.reviewById.load(id);
    if (!review) throw new NotFoundError('Review', id);
    if (review.author !== ctx.user!.userId && !hasScope(ctx.user, 'reviews:moderate')) {
      throw new ForbiddenError('You may delete only your own reviews.');
    }
    await ctx.em.transactional(async (em) => {
      // Deleted by this statement alone: of two concurrent deletions, one moves the summary.
      if (!(await em.nativeDelete(Review, { id: review.id }))) return;
      await moveRatingSummary(em, review.product, review.rating, -1);
      ctx.jobs.enqueue('recountRatingSummary', { productId: review.product }, { em });
    });
    // Gone: every field of it counts as changed, and lists of reviews may shrink.
    reportChanged(ctx, 'Review');
    reportChanged(ctx, 'Review', review.id);
    reportChanged(ctx, 'Product', review.product, ['reviews', 'averageRating']);
    reportChanged(ctx, 'User', review.author, ['reviews']);
    return id;
  }
}

@Resolver(() => Product)
export class ProductReviewsResolver {
  @FieldResolver(() => ReviewConnection, { description: 'Newest first.' })
  @Directive('@listSize(slicingArguments: ["first"], sizedFields: ["edges"])')
  async reviews(@Root() product: Product, @Ctx() ctx: ReviewsContext, @Args(() => PageArgs) args: PageArgs): Promise<Connection<Review>> {
    return ctx.loaders.reviewsByProduct(args).load(product.id);
  }

  @FieldResolver(() => Float, { nullable: true, description: 'Mean rating, two decimals; null without reviews.' })
  async averageRating(@Root() product: Product, @Ctx() ctx: ReviewsContext): Promise<number | null> {
    return ctx.loaders.averageRatingByProduct.load(product.id);
  }
}

@Resolver(() => User)
export class UserReviewsResolver {
  @FieldResolver(() => ReviewConnection, { description: 'Newest first.' })
  @Directive('@listSize(slicingArguments: ["first"], sizedFields: ["edges"])')
  async reviews(@Root() user: User, @Ctx() ctx: ReviewsContext, @Args(() => PageArgs) args: PageArgs): Promise<Connection<Review>> {
    return ctx.loaders.reviewsByAuthor(args).load(user.id);
  }
}
