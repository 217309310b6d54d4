import { trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { CommonConfig, LogFormat } from '../config/config.js';

export type { Logger };

/** The active span's ids, so a log line leads to its trace (nothing when tracing is off). */
function traceIds(): { traceId?: string; spanId?: string } {
  const spanContext = trace.getActiveSpan()?.spanContext();
  return spanContext && trace.isSpanContextValid(spanContext) ? { traceId: spanContext.traceId, spanId: spanContext.spanId } : {};
}

/**
 * `LOG_FORMAT` as set; unset, pretty only for a person: in development with stdout a terminal
 * (`npm start` passes its terminal on to every process). Anything reading the lines (a
 * collector, a pipe, a test) gets JSON.
 */
export function logFormatOf(config: Pick<CommonConfig, 'env' | 'logFormat'>, isTTY = process.stdout.isTTY === true): LogFormat {
  return config.logFormat ?? (config.env === 'development' && isTTY ? 'pretty' : 'json');
}

/**
 * Pretty lines in the process itself (no transport worker): one thread less per process, and
 * written synchronously, so a fatal line is out before the process exits. One line an entry:
 * `npm start` interleaves five processes in one terminal.
 */
function prettyStream(): DestinationStream {
  return pretty({
    sync: true,
    singleLine: true,
    colorize: process.stdout.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
  });
}

/**
 * One logger per process, JSON lines or pretty ones (`logFormatOf`); requests log through
 * `logger.child({ requestId })`. Lines written inside a traced request carry its `traceId`
 * and `spanId`.
 */
export function createLogger(
  service: string,
  config: Pick<CommonConfig, 'logLevel' | 'env' | 'logFormat'>,
  destination?: DestinationStream,
): Logger {
  return pino(
    {
      name: service,
      level: config.logLevel,
      base: { service },
      mixin: traceIds,
      // Never write credentials that reach a log through a logged request.
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie', '*.password'], censor: '[redacted]' },
    },
    destination ?? (logFormatOf(config) === 'pretty' ? prettyStream() : undefined),
  );
}

/** The logger interface Apollo Server and @apollo/gateway take. */
interface ApolloLogger {
  debug(message?: unknown): void;
  info(message?: unknown): void;
  warn(message?: unknown): void;
  error(message?: unknown): void;
}

/**
 * What Apollo is given to log through. Everything Apollo logs at info is a one-time notice
 * about its own machinery ("Enabling inline tracing for this subgraph…", "Gateway successfully
 * loaded schema.\n\t* Mode: unmanaged", usage-reporting banners): debug here, on one line.
 * Its warnings and errors stay what they are.
 */
export function apolloLogger(logger: Logger): ApolloLogger {
  const line = (message: unknown) => (typeof message === 'string' ? message.replace(/\s*\n\s*/g, ' ') : String(message));
  return {
    debug: (message) => logger.debug({ from: 'apollo' }, line(message)),
    info: (message) => logger.debug({ from: 'apollo' }, line(message)),
    warn: (message) => logger.warn({ from: 'apollo' }, line(message)),
    error: (message) => logger.error({ from: 'apollo' }, line(message)),
  };
}

/** A warning logged at most once per interval, for failures that repeat on every request (Redis down). */
export function throttledWarn(logger: Logger, intervalMs = 30_000) {
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
