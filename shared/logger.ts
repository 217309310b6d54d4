import { trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { CommonConfig } from './config.js';

export type { Logger };

/** The active span's ids, so a log line leads to its trace (nothing when tracing is off). */
function traceIds(): { traceId?: string; spanId?: string } {
  const spanContext = trace.getActiveSpan()?.spanContext();
  return spanContext && trace.isSpanContextValid(spanContext) ? { traceId: spanContext.traceId, spanId: spanContext.spanId } : {};
}

/**
 * One JSON logger per process; requests log through `logger.child({ requestId })`. Lines
 * written inside a traced request carry its `traceId` and `spanId`.
 */
export function createLogger(service: string, config: Pick<CommonConfig, 'logLevel' | 'env'>, destination?: DestinationStream): Logger {
  return pino({
    name: service,
    level: config.logLevel,
    base: { service },
    mixin: traceIds,
    // Never write credentials that reach a log through a logged request.
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', '*.password'], censor: '[redacted]' },
  }, destination);
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
