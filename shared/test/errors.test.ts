import { describe, expect, it } from '@jest/globals';
import { GraphQLError } from 'graphql';
import { createFormatError, NotFoundError } from '../errors.js';
import { createLogger } from '../logger.js';

const logger = createLogger('test', { logLevel: 'silent', env: 'test' });

describe('formatError', () => {
  const formatted = (error: GraphQLError) => ({ message: error.message, path: ['field'], extensions: error.extensions });

  it('masks unexpected errors outside development, keeping the path', () => {
    const error = new GraphQLError('connection to 10.0.0.5 refused', { originalError: new Error('connection to 10.0.0.5 refused') });
    expect(createFormatError({ mask: true, logger })(formatted(error), error)).toEqual({
      message: 'Internal server error',
      path: ['field'],
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
  });

  it('shows unexpected errors in development', () => {
    const error = new GraphQLError('boom', { originalError: new Error('boom') });
    expect(createFormatError({ mask: false, logger })(formatted(error), error).message).toBe('boom');
  });

  it('drops the stack trace of an expected refusal, even in development', () => {
    const error = new GraphQLError('Sign in first.', { extensions: { code: 'UNAUTHENTICATED', stacktrace: ['GraphQLError: …'] } });
    expect(createFormatError({ mask: false, logger })(formatted(error), error)).toEqual({ message: 'Sign in first.', path: ['field'], extensions: { code: 'UNAUTHENTICATED' } });
  });

  it('passes Tessera errors with their code and details', () => {
    const error = new GraphQLError('x', { originalError: new NotFoundError('Product', 'p1') });
    expect(createFormatError({ mask: true, logger })(formatted(error), error)).toMatchObject({
      message: 'Product p1 does not exist.',
      extensions: { code: 'NOT_FOUND', typename: 'Product', key: 'p1' },
    });
  });
});
