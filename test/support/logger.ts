import { pino } from 'pino';
import { createLogger, type Logger } from '../../shared/observability/logger.js';

/** One parsed log line: pino's level number, its message and whatever fields were logged with it. */
export interface LogLine {
  level: number;
  msg: string;
  [key: string]: any;
}

export type CaptureLevel = 'debug' | 'info' | 'warn';

export interface CapturingLogger {
  logger: Logger;
  lines: LogLine[];
}

/**
 * A logger whose lines the test can read, parsed, in `lines`. Plain pino by default; with
 * `service`, built as the processes build theirs (`createLogger`: trace ids, redaction).
 */
export function capturingLogger(level: CaptureLevel = 'info', { service }: { service?: string } = {}): CapturingLogger {
  const lines: LogLine[] = [];
  // Written synchronously: a line is in `lines` as soon as the call that logged it returns.
  const sink = { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) };
  const logger = service ? createLogger(service, { logLevel: level, env: 'test' }, sink) : pino({ level }, sink);
  return { logger, lines };
}
