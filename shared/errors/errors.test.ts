import { describe, expect, it } from '@jest/globals';
import { GraphQLError } from 'graphql';
import type { ServerResponse } from 'node:http';
import {
  BadRequestError,
  codesOf,
  createFormatError,
  ErrorCode,
  errorBody,
  isStoreUnavailable,
  NotFoundError,
  sendError,
  ShuttingDownError,
  TesseraError,
} from './errors.js';
import { createLogger } from '../observability/logger.js';
import { toTesseraError } from '../subgraph/resolver-errors.js';

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
    expect(createFormatError({ mask: false, logger })(formatted(error), error)).toEqual({
      message: 'Sign in first.',
      path: ['field'],
      extensions: { code: 'UNAUTHENTICATED' },
    });
  });

  it("keeps @apollo/gateway's DOWNSTREAM_SERVICE_ERROR and the subgraph's name, masking the subgraph's message", () => {
    // What @apollo/gateway makes of a subgraph's error that came without a code.
    const error = new GraphQLError('secret-internal-detail', { extensions: { code: 'DOWNSTREAM_SERVICE_ERROR', serviceName: 'reviews' } });
    expect(createFormatError({ mask: true, logger })(formatted(error), error)).toEqual({
      message: 'Internal server error',
      path: ['field'],
      extensions: { code: 'DOWNSTREAM_SERVICE_ERROR', serviceName: 'reviews' },
    });
    expect(createFormatError({ mask: false, logger })(formatted(error), error).message).toBe('secret-internal-detail');
  });

  it("never shows Apollo Server's extensions.http of a refusal", () => {
    const refusal = new TesseraError('Too many.', ErrorCode.RATE_LIMITED, {
      refusesRequest: true,
      headers: { 'retry-after': '3' },
      extensions: { retryAfter: 3 },
    });
    expect(refusal.extensions.http).toEqual({ status: 429, headers: new Map([['retry-after', '3']]) });
    expect(createFormatError({ mask: true, logger })(formatted(refusal), refusal)).toEqual({
      message: 'Too many.',
      path: ['field'],
      extensions: { code: 'RATE_LIMITED', retryAfter: 3 },
    });
    expect(JSON.parse(errorBody(refusal))).toEqual({
      errors: [{ message: 'Too many.', extensions: { code: 'RATE_LIMITED', retryAfter: 3 } }],
    });
  });

  it('passes Tessera errors with their code and details', () => {
    const error = new GraphQLError('x', { originalError: new NotFoundError('Product', 'p1') });
    expect(createFormatError({ mask: true, logger })(formatted(error), error)).toMatchObject({
      message: 'Product p1 does not exist.',
      extensions: { code: 'NOT_FOUND', typename: 'Product', key: 'p1' },
    });
  });
});

describe('sendError', () => {
  /** What a response was sent: status, headers and body. */
  function sent(error: TesseraError, headers?: Record<string, string>) {
    const response: { status?: number; headers?: Record<string, unknown>; body?: unknown } = {};
    const res = {
      writeHead: (status: number, written: Record<string, unknown>) => Object.assign(response, { status, headers: written }),
      end: (body: string) => Object.assign(response, { body: JSON.parse(body) }),
    };
    sendError(res as unknown as ServerResponse, error, headers);
    return response;
  }

  it("answers with the error alone, at its code's status or its own, with its headers", () => {
    const message = 'The server is shutting down; retry the request (another instance will take it).';
    expect(sent(new ShuttingDownError(), { connection: 'close' })).toEqual({
      status: 503,
      headers: {
        'retry-after': '1',
        connection: 'close',
        'content-type': 'application/json; charset=utf-8',
        'content-length': expect.any(Number),
      },
      body: { errors: [{ message, extensions: { code: 'SHUTTING_DOWN' } }] },
    });
    expect(sent(new BadRequestError('Send JSON.', { status: 415 }))).toMatchObject({
      status: 415,
      body: { errors: [{ message: 'Send JSON.', extensions: { code: 'BAD_REQUEST' } }] },
    });
    expect(sent(new TesseraError('Too deep.', ErrorCode.MAX_JSON_DEPTH_EXCEEDED, { extensions: { limit: 3 } }))).toMatchObject({
      status: 400,
      body: { errors: [{ message: 'Too deep.', extensions: { code: 'MAX_JSON_DEPTH_EXCEEDED', limit: 3 } }] },
    });
  });
});

describe('isStoreUnavailable', () => {
  const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

  it('recognises a PostgreSQL server going away or not yet back', () => {
    expect(isStoreUnavailable(withCode('57P01', 'terminating connection due to administrator command'))).toBe(true);
    expect(isStoreUnavailable(withCode('57P03', 'the database system is starting up'))).toBe(true);
    expect(isStoreUnavailable(withCode('08006'))).toBe(true);
    expect(isStoreUnavailable(withCode('ECONNREFUSED'))).toBe(true);
    expect(isStoreUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isStoreUnavailable(new AggregateError([withCode('ECONNREFUSED')]))).toBe(true);
  });

  it('leaves statement errors and failed fetches alone', () => {
    expect(isStoreUnavailable(withCode('23505', 'duplicate key value violates unique constraint'))).toBe(false);
    expect(isStoreUnavailable(withCode('42P01', 'relation "x" does not exist'))).toBe(false);
    expect(isStoreUnavailable(new TypeError('fetch failed', { cause: withCode('ECONNREFUSED') }))).toBe(false);
    expect(isStoreUnavailable(new Error('connection to 10.0.0.5 refused'))).toBe(false);
  });

  it("is told to the client as STORE_UNAVAILABLE, without the driver's message", () => {
    const error = new GraphQLError('terminating connection due to administrator command', {
      originalError: withCode('57P01', 'terminating connection due to administrator command'),
    });
    expect(createFormatError({ mask: true, logger, mapError: toTesseraError })({ message: error.message, path: ['field'] }, error)).toEqual(
      {
        message: 'The data store is unavailable; try again shortly.',
        path: ['field'],
        extensions: { code: 'STORE_UNAVAILABLE' },
      },
    );
  });
});

describe('the codes a response carries', () => {
  it("are each error's extensions.code, and INTERNAL_SERVER_ERROR for one without", () => {
    const codes = codesOf([
      new NotFoundError('Product', '1'),
      new GraphQLError('boom'),
      { message: 'formatted', extensions: { code: 'FORBIDDEN' } } as never,
      {},
    ]);
    expect(codes).toEqual(['NOT_FOUND', 'INTERNAL_SERVER_ERROR', 'FORBIDDEN', 'INTERNAL_SERVER_ERROR']);
    expect(codesOf(undefined)).toEqual([]);
  });
});
