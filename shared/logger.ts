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

/** A warning logged at most once per interval, for failures that repeat on every request (Redis down). */
export function rateLimitedWarn(logger: Logger, intervalMs = 30_000) {
  let last = 0;
  let suppressed = 0;
  return (details: object, message: string) => {
    const now = Date.now();
    if (now - last < intervalMs) {
      suppressed++;
      return;
    }
    logger.warn({ ...details, ...(suppressed && { suppressed }) }, message);
    last = now;
    suppressed = 0;
  };
}
