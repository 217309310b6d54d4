import { UniqueConstraintViolationException, NotFoundError as OrmNotFoundError } from '@mikro-orm/core';
import type { ValidationError } from 'class-validator';
import { GraphQLError } from 'graphql';
import {
  BadUserInputError,
  ConflictError,
  ErrorCode,
  isStoreUnavailable,
  StoreUnavailableError,
  TesseraError,
  type FieldProblem,
} from '../errors/errors.js';

/*
 * What a subgraph's resolvers throw, in the error vocabulary: apart from shared/errors/errors.ts
 * because it knows MikroORM's exceptions, which the gateway never loads.
 */

/** class-validator's nested errors as flat `{ field, message }` pairs. */
function flattenValidation(errors: ValidationError[], parent = ''): FieldProblem[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flattenValidation(error.children ?? [], field)];
  });
}

/**
 * Maps what resolvers throw to the vocabulary above: TypeGraphQL's argument validation,
 * the ORM's exceptions that are the caller's doing, and a store that cannot be reached.
 * Anything else is left as it is (and masked later, outside development).
 */
export function toTesseraError(error: unknown): unknown {
  if (error instanceof TesseraError) return error;
  const validationErrors = (error as { extensions?: { validationErrors?: ValidationError[] } })?.extensions?.validationErrors;
  if (error instanceof GraphQLError && Array.isArray(validationErrors)) {
    const fields = flattenValidation(validationErrors);
    const summary = fields.map((f) => `${f.field}: ${f.message}`).join('; ');
    return new BadUserInputError(`Invalid input. ${summary}`, fields);
  }
  if (error instanceof UniqueConstraintViolationException) {
    return new ConflictError('A record with the same unique value already exists.');
  }
  if (error instanceof OrmNotFoundError) {
    return new TesseraError(error.message, ErrorCode.NOT_FOUND);
  }
  if (isStoreUnavailable(error)) return new StoreUnavailableError();
  return error;
}
