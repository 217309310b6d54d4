import { IsUUID, Length, Matches, Max, MaxLength, Min, ValidateNested } from 'class-validator';
import { ArgsType, Field, ID, InputType, Int, registerEnumType } from 'type-graphql';
import { OptionalField } from '../../../shared/subgraph/optional-field.js';
import { PageArgs } from '../../../shared/subgraph/pagination.js';

const MAX_PRICE = 100_000_000;
const MAX_WEIGHT = 1_000_000;

@InputType({ description: 'A price in minor units of an ISO 4217 currency.' })
class MoneyInput {
  @Field(() => Int)
  @Min(0, { message: 'amount must not be negative' })
  @Max(MAX_PRICE, { message: `amount must be at most ${MAX_PRICE}` })
  amount: number;

  @Field()
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be a three-letter ISO 4217 code such as USD' })
  currency: string;
}

@InputType()
class CreateProductInput {
  @Field()
  @Matches(/^\d{12}$/, { message: 'upc must be exactly 12 digits' })
  upc: string;

  @Field()
  @Length(1, 200, { message: 'name must be 1 to 200 characters' })
  name: string;

  @Field({ defaultValue: '' })
  @MaxLength(5000, { message: 'description must be at most 5000 characters' })
  description: string;

  @Field(() => MoneyInput)
  @ValidateNested()
  price: MoneyInput;

  @Field(() => Int, { description: 'Grams.' })
  @Min(0, { message: 'weight must not be negative' })
  @Max(MAX_WEIGHT, { message: `weight must be at most ${MAX_WEIGHT} grams` })
  weight: number;

  @Field(() => ID)
  @IsUUID('all', { message: 'categoryId must be a category id' })
  categoryId: string;
}

@InputType({ description: 'Only the fields given change.' })
class UpdateProductInput {
  @OptionalField()
  @Length(1, 200, { message: 'name must be 1 to 200 characters' })
  name?: string;

  @OptionalField()
  @MaxLength(5000, { message: 'description must be at most 5000 characters' })
  description?: string;

  @OptionalField(() => MoneyInput)
  @ValidateNested()
  price?: MoneyInput;

  @OptionalField(() => Int)
  @Min(0, { message: 'weight must not be negative' })
  @Max(MAX_WEIGHT, { message: `weight must be at most ${MAX_WEIGHT} grams` })
  weight?: number;

  @OptionalField(() => ID)
  @IsUUID('all', { message: 'categoryId must be a category id' })
  categoryId?: string;
}

@InputType({ description: 'Inclusive bounds in minor units.' })
class PriceRangeInput {
  @OptionalField(() => Int)
  @Min(0)
  min?: number;

  @OptionalField(() => Int)
  @Min(0)
  max?: number;
}

@InputType()
export class ProductFilter {
  @OptionalField(() => ID)
  @IsUUID('all', { message: 'categoryId must be a category id' })
  categoryId?: string;

  @OptionalField({ description: 'Case-insensitive match in name or description.' })
  @MaxLength(100, { message: 'search must be at most 100 characters' })
  search?: string;

  @OptionalField(() => PriceRangeInput)
  @ValidateNested()
  priceRange?: PriceRangeInput;
}

export enum ProductOrderField {
  CREATED_AT = 'createdAt',
  NAME = 'name',
  PRICE = 'priceAmount',
  RATING = 'ratingAverage',
}
registerEnumType(ProductOrderField, {
  name: 'ProductOrderField',
  valuesConfig: {
    RATING: { description: 'Average rating of its reviews (0 without any), as the catalog last heard from reviews.' },
  },
});

export enum OrderDirection {
  ASC = 'asc',
  DESC = 'desc',
}
registerEnumType(OrderDirection, { name: 'OrderDirection' });

@InputType()
class ProductOrder {
  @Field(() => ProductOrderField, { defaultValue: ProductOrderField.CREATED_AT })
  field: ProductOrderField;

  @Field(() => OrderDirection, { defaultValue: OrderDirection.DESC })
  direction: OrderDirection;
}

@ArgsType()
export class ProductsArgs extends PageArgs {
  @OptionalField(() => ProductFilter)
  @ValidateNested()
  filter?: ProductFilter;

  @OptionalField(() => ProductOrder, { description: 'Newest first unless given.' })
  @ValidateNested()
  orderBy?: ProductOrder;
}

@ArgsType()
export class CreateProductArgs {
  @Field(() => CreateProductInput)
  @ValidateNested()
  input: CreateProductInput;
}

@ArgsType()
export class UpdateProductArgs {
  @Field(() => ID)
  id: string;

  @Field(() => UpdateProductInput)
  @ValidateNested()
  input: UpdateProductInput;
}
