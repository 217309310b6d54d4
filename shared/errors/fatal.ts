import { ConfigError } from '../config/config.js';
import type { Logger } from '../observability/logger.js';

/**
 * The exit code of a process that could not start (sysexits' EX_CONFIG). Starting it again
 * would fail the same way until a setting changes, so `npm start` stops everything on it
 * rather than restarting the process.
 */
export const STARTUP_FAILED_EXIT_CODE = 78;

/** A start-up failure that changing a setting fixes; `variables` are the settings to look at. */
export class StartupError extends Error {
  constructor(
    message: string,
    readonly variables: string[],
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'StartupError';
  }
}

/** Which variable points at each thing a process opens, so a failure to open it can name it. */
export interface FailurePointers {
  /** Where the store is: `DATABASE_URL`, `<NAME>_DATABASE_URL` or `DATA_DIR`. */
  store?: string;
  /** The variable that set each port the process listens on. */
  ports?: Record<number, string>;
}

/** Failures to reach a server at all (the first two are name resolution). */
const UNREACHABLE = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);
/** PostgreSQL's refusals of a connection: bad password, no such role, no such database, TLS refused. */
const REFUSED_BY_POSTGRES = new Set(['28P01', '28000', '3D000', '08P01']);

interface SystemError {
  code?: string;
  port?: number;
  message?: string;
  cause?: unknown;
}

/** The error itself, then what it wraps (drivers and MikroORM wrap the socket's error). */
function* chain(error: unknown): Generator<SystemError> {
  for (let depth = 0; error && typeof error === 'object' && depth < 5; depth++) {
    yield error as SystemError;
    error = (error as SystemError).cause;
  }
}

interface StartupFailure {
  message: string;
  variables: string[];
  details: Record<string, unknown>;
}

/**
 * What a person needs to fix a failed start: what failed and the variables that point at it,
 * never a stack (the code is not what is wrong). Undefined for anything else, which is a bug.
 */
export function describeStartupFailure(error: unknown, pointers: FailurePointers = {}): StartupFailure | undefined {
  if (error instanceof ConfigError)
    return { message: 'invalid configuration', variables: error.variables, details: { problems: error.problems } };
  if (error instanceof StartupError) return { message: error.message, variables: error.variables, details: error.details };
  for (const link of chain(error)) {
    const reason = link.message ?? String(link.code);
    if ((link.code === 'EADDRINUSE' || link.code === 'EACCES') && link.port !== undefined) {
      const variable = pointers.ports?.[link.port];
      const what = link.code === 'EADDRINUSE' ? 'is in use by another process' : 'may not be opened by this user';
      return {
        message: `port ${link.port} ${what}${variable ? `; set ${variable} to another one` : ''}`,
        variables: variable ? [variable] : [],
        details: { reason },
      };
    }
    if (link.code === 'EADDRNOTAVAIL')
      return { message: 'cannot listen on that address; set HOST to an address of this machine', variables: ['HOST'], details: { reason } };
    const storeFailure =
      UNREACHABLE.has(link.code ?? '') ||
      REFUSED_BY_POSTGRES.has(link.code ?? '') ||
      /connection timeout|timeout expired/i.test(link.message ?? '');
    if (storeFailure && pointers.store) {
      return {
        message: `cannot connect to the store; check ${pointers.store}`,
        variables: [pointers.store],
        details: { reason, ...(link.code && { code: link.code }) },
      };
    }
  }
  return undefined;
}

/**
 * Logs a failed start through the process's logger, as one `fatal` line, and returns the exit
 * code to leave with. A failure a setting explains names the variables; anything else is
 * logged with its stack, as the bug it is.
 */
export function reportStartupFailure(logger: Logger, error: unknown, pointers: FailurePointers = {}): number {
  const failure = describeStartupFailure(error, pointers);
  if (failure) logger.fatal({ variables: failure.variables, ...failure.details }, `cannot start: ${failure.message}`);
  else logger.fatal({ err: error }, 'cannot start');
  return STARTUP_FAILED_EXIT_CODE;
}
