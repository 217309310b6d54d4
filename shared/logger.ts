import { pino, type Logger } from 'pino';
import type { CommonConfig } from './config.js';

export type { Logger };

/** One JSON logger per process; requests log through `logger.child({ requestId })`. */
export function createLogger(service: string, config: Pick<CommonConfig, 'logLevel' | 'env'>): Logger {
  return pino({
    name: service,
    level: config.logLevel,
    base: { service },
    // Never write credentials that reach a log through a logged request.
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', '*.password'], censor: '[redacted]' },
  });
}
