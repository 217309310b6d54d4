import { IsOptional } from 'class-validator';
import { Field, type FieldOptions } from 'type-graphql';

type ReturnTypeFunc = NonNullable<Parameters<typeof Field>[0]>;
type OptionalFieldOptions = Omit<FieldOptions, 'nullable'>;

/**
 * An input field a client may leave out or send as null: nullable in the schema and skipped by
 * validation when absent, the two halves that must not drift apart (a nullable field without
 * `@IsOptional` has its null refused by its own checks). Takes `@Field`'s arguments.
 */
export function OptionalField(options?: OptionalFieldOptions): PropertyDecorator;
export function OptionalField(returnType: ReturnTypeFunc, options?: OptionalFieldOptions): PropertyDecorator;
export function OptionalField(
  returnTypeOrOptions?: ReturnTypeFunc | OptionalFieldOptions,
  options: OptionalFieldOptions = {},
): PropertyDecorator {
  const field =
    typeof returnTypeOrOptions === 'function'
      ? Field(returnTypeOrOptions, { ...options, nullable: true })
      : Field({ ...returnTypeOrOptions, nullable: true });
  const optional = IsOptional();
  return (prototype, property) => {
    field(prototype, property);
    optional(prototype, property);
  };
}
