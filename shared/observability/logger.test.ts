import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadGatewayConfig, loadLogConfig } from '../config/config.js';
import { describeStartupFailure, StartupError } from '../errors/fatal.js';
import { apolloLogger, logFormatOf } from './logger.js';
import { capturingLogger } from '../../test/support/logger.js';

describe('log format', () => {
  it('is pretty only for a person: development at a terminal, unless LOG_FORMAT says otherwise', () => {
    expect(logFormatOf({ env: 'development' }, true)).toBe('pretty');
    expect(logFormatOf({ env: 'development' }, false)).toBe('json');
    expect(logFormatOf({ env: 'production' }, true)).toBe('json');
    expect(logFormatOf({ env: 'production', logFormat: 'pretty' }, false)).toBe('pretty');
    expect(logFormatOf({ env: 'development', logFormat: 'json' }, true)).toBe('json');
  });

  it('is read with the other logging variables even from an environment that does not load, each bad one at its default', () => {
    expect(loadLogConfig({ NODE_ENV: 'production', LOG_LEVEL: 'debug', LOG_FORMAT: 'pretty', GATEWAY_PORT: 'abc' })).toEqual({
      env: 'production',
      logLevel: 'debug',
      logFormat: 'pretty',
    });
    expect(loadLogConfig({ NODE_ENV: 'staging', LOG_LEVEL: 'loud', LOG_FORMAT: 'xml' })).toEqual({
      env: 'development',
      logLevel: 'info',
      logFormat: undefined,
    });
    expect(() => loadGatewayConfig({ LOG_FORMAT: 'xml' })).toThrow(/LOG_FORMAT/);
  });
});

describe("Apollo's logger", () => {
  it("writes Apollo's one-time notices at debug, on one line, and its warnings and errors as they are", () => {
    const { logger: captured, lines } = capturingLogger('debug');
    const logger = apolloLogger(captured);
    logger.info('Gateway successfully loaded schema.\n\t* Mode: unmanaged');
    logger.warn('something Apollo worries about');
    logger.error('something that failed');
    expect(lines.map(({ level, msg }) => ({ level, msg }))).toEqual([
      { level: 20, msg: 'Gateway successfully loaded schema. * Mode: unmanaged' },
      { level: 40, msg: 'something Apollo worries about' },
      { level: 50, msg: 'something that failed' },
    ]);
  });
});

describe('start-up failures', () => {
  const pointers = { store: 'REVIEWS_DATABASE_URL', ports: { 4004: 'REVIEWS_PORT', 9464: 'METRICS_PORT' } };
  const systemError = (code: string, extra: object = {}) => Object.assign(new Error(`${code} happened`), { code, ...extra });

  it('name the variables a configuration error lists', () => {
    const error = new ConfigError([
      'GATEWAY_PORT: expected a number',
      'JWT_SECRET or JWKS_URL: one is required in production',
      'metrics port: 4000 is GATEWAY_PORT as well; (METRICS_PORT, GATEWAY_METRICS_PORT)',
    ]);
    expect(describeStartupFailure(error)).toEqual({
      message: 'invalid configuration',
      variables: ['GATEWAY_PORT', 'JWT_SECRET', 'JWKS_URL', 'METRICS_PORT', 'GATEWAY_METRICS_PORT'],
      details: { problems: error.problems },
    });
  });

  it('name the port variable of a port in use or not allowed, and HOST for an address that is not there', () => {
    expect(describeStartupFailure(systemError('EADDRINUSE', { port: 4004 }), pointers)).toMatchObject({
      variables: ['REVIEWS_PORT'],
      message: 'port 4004 is in use by another process; set REVIEWS_PORT to another one',
    });
    expect(describeStartupFailure(systemError('EACCES', { port: 9464 }), pointers)).toMatchObject({ variables: ['METRICS_PORT'] });
    expect(describeStartupFailure(systemError('EADDRNOTAVAIL'), pointers)).toMatchObject({ variables: ['HOST'] });
  });

  it("name the store's variable when its server cannot be reached or refuses, however deep the driver wrapped the cause", () => {
    const wrapped = new Error('driver said no', { cause: systemError('ECONNREFUSED') });
    expect(describeStartupFailure(wrapped, pointers)).toEqual({
      message: 'cannot connect to the store; check REVIEWS_DATABASE_URL',
      variables: ['REVIEWS_DATABASE_URL'],
      details: { reason: 'ECONNREFUSED happened', code: 'ECONNREFUSED' },
    });
    expect(describeStartupFailure(systemError('28P01'), pointers)).toMatchObject({ variables: ['REVIEWS_DATABASE_URL'] });
    expect(describeStartupFailure(new Error('Connection terminated due to connection timeout'), pointers)).toMatchObject({
      variables: ['REVIEWS_DATABASE_URL'],
    });
  });

  it('carry what a StartupError says, and leave anything else to be logged as the bug it is', () => {
    expect(describeStartupFailure(new StartupError('gave up', ['SUBGRAPH_WAIT_MS'], { subgraphs: {} }))).toEqual({
      message: 'gave up',
      variables: ['SUBGRAPH_WAIT_MS'],
      details: { subgraphs: {} },
    });
    expect(describeStartupFailure(new TypeError('x is undefined'), pointers)).toBeUndefined();
    // A connection failure with no store to blame (the gateway's) is not guessed at.
    expect(describeStartupFailure(systemError('ECONNREFUSED'))).toBeUndefined();
  });
});
