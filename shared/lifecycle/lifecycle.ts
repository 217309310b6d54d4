import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { constants } from 'node:os';
import type { ShutdownConfig } from '../config/config.js';
import { sendError, ShuttingDownError } from '../errors/errors.js';
import { drainServer } from '../http/http.js';
import type { Logger } from '../observability/logger.js';

/**
 * Where a process is in its life. `draining` keeps serving (with `/ready` saying so) while
 * `accepting`, for the shutdown delay; then the listener closes and requests still arriving on
 * kept-alive connections are refused.
 */
type LifecycleState =
  | { phase: 'starting' }
  | { phase: 'serving'; server: Server }
  | { phase: 'draining'; signal: string; server: Server; accepting: boolean }
  | { phase: 'stopped'; exitCode: number };

/** Where termination signals come from: `process`, or an emitter in tests. */
interface SignalSource {
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
}

interface LifecycleOptions extends ShutdownConfig {
  logger: Logger;
  /** Default: `process`. */
  signals?: SignalSource;
  /** Default: `process.exit`. */
  exit?: (code: number) => void;
  /** How long each shutdown step (closing Apollo, a pool, a flush) may take. Default 5000. */
  stepTimeoutMs?: number;
}

export interface Lifecycle {
  readonly state: LifecycleState;
  /**
   * Wraps the app's request handler: while draining, `/ready` answers 503 `draining` and every
   * answer carries `Connection: close`; once the listener has closed, every other request but
   * `/health` is refused with 503 `SHUTTING_DOWN` (a kept-alive connection may still carry one).
   */
  guard(app: RequestListener): RequestListener;
  /** The server is listening; a signal now drains it. */
  serving(server: Server): void;
  /** Something to close after the server, in the order registered: Apollo, pools, Redis, exporters. */
  onShutdown(name: string, close: () => Promise<void>): void;
  /**
   * Something to end once the server stops accepting, before its connections are waited for: a
   * long-lived connection (a WebSocket) would otherwise hold the drain open until the grace period cut it.
   */
  onDrain(name: string, end: () => Promise<void>): void;
  /**
   * Work to begin as the drain begins and to let finish within the grace period, alongside requests in
   * flight: workers that stop taking jobs and finish the running ones.
   */
  onGrace(name: string, finish: () => Promise<void>): void;
  /** What the first signal does; resolves with the exit code once `exit` has been called. */
  shutdown(signal: string): Promise<number>;
}

const TERMINATION_SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/** 128 + the signal's number, as a shell reports a process a signal ended (SIGINT 130, SIGTERM 143). */
export function signalExitCode(signal: string): number {
  return 128 + (constants.signals[signal as NodeJS.Signals] ?? 15);
}

function unreachable(state: never): never {
  throw new Error(`unexpected lifecycle state ${JSON.stringify(state)}`);
}

function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0]!;
}

function refuse(res: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    connection: 'close',
    'retry-after': '1',
  });
  res.end(text);
}

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Graceful shutdown for every process. The first SIGTERM or SIGINT: mark not ready, keep
 * serving for `delayMs`, stop accepting, let requests in flight finish within `graceMs`, run
 * the registered shutdown steps, exit 0 (1 if a step failed). A second signal exits at once.
 * A signal before the process serves exits at once too: there is nothing to drain.
 */
export function createLifecycle({
  logger,
  graceMs,
  delayMs,
  signals = process,
  exit = (code) => process.exit(code),
  stepTimeoutMs = 5_000,
}: LifecycleOptions): Lifecycle {
  let state: LifecycleState = { phase: 'starting' };
  const steps: { name: string; close: () => Promise<void> }[] = [];
  const drainSteps: { name: string; close: () => Promise<void> }[] = [];
  const graceSteps: { name: string; close: () => Promise<void> }[] = [];
  let done: Promise<number> | undefined;
  let endDelay: (() => void) | undefined;
  /** Connections whose next answer closes them (every one answered since the drain began). */
  const closing = new WeakSet<Socket>();

  // A second signal may have ended things while a step was awaited (read through a function: no narrowing).
  const forcedExit = (): number | undefined => (state.phase === 'stopped' ? state.exitCode : undefined);
  const detach = () => TERMINATION_SIGNALS.forEach((signal) => signals.off(signal, onSignal));
  const finish = (exitCode: number) => {
    state = { phase: 'stopped', exitCode };
    endDelay?.();
    detach();
    exit(exitCode);
    return exitCode;
  };

  async function drain(signal: string, server: Server): Promise<number> {
    logger.info({ signal, graceMs, delayMs }, 'shutting down: finishing requests in flight');
    state = { phase: 'draining', signal, server, accepting: delayMs > 0 };
    if (delayMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs);
        endDelay = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      if (forcedExit() !== undefined) return forcedExit()!;
      state = { phase: 'draining', signal, server, accepting: false };
    }
    let exitCode = 0;
    for (const step of drainSteps) {
      try {
        await withTimeout(step.close(), stepTimeoutMs, step.name);
      } catch (error) {
        exitCode = 1;
        logger.error({ err: error, step: step.name }, 'shutdown step failed');
      }
    }
    const graceWork = graceSteps.map((step) =>
      withTimeout(step.close(), graceMs, step.name).catch((error: unknown) => {
        exitCode = 1;
        logger.error({ err: error, step: step.name }, 'shutdown step failed');
      }),
    );
    await drainServer(server, graceMs);
    await Promise.all(graceWork);
    for (const step of steps) {
      if (forcedExit() !== undefined) return forcedExit()!;
      try {
        await withTimeout(step.close(), stepTimeoutMs, step.name);
      } catch (error) {
        exitCode = 1;
        logger.error({ err: error, step: step.name }, 'shutdown step failed');
      }
    }
    if (forcedExit() !== undefined) return forcedExit()!;
    logger.info({ exitCode }, 'shut down');
    return finish(exitCode);
  }

  function shutdown(signal: string): Promise<number> {
    switch (state.phase) {
      case 'starting':
        logger.info({ signal }, 'signal before serving: exiting now');
        return Promise.resolve(finish(signalExitCode(signal)));
      case 'serving':
        done = drain(signal, state.server);
        return done;
      case 'draining':
        logger.warn({ signal }, 'second signal: exiting now, without waiting for requests in flight');
        finish(signalExitCode(signal));
        return done!;
      case 'stopped':
        return Promise.resolve(state.exitCode);
      default:
        return unreachable(state);
    }
  }

  function onSignal(signal: NodeJS.Signals): void {
    void shutdown(signal);
  }
  TERMINATION_SIGNALS.forEach((signal) => signals.on(signal, onSignal));

  return {
    get state() {
      return state;
    },
    guard: (app) => (req, res) => {
      if (state.phase !== 'draining' && state.phase !== 'stopped') return app(req, res);
      // Node writes no answer after one that closes its connection, so a request pipelined
      // behind it must not run either (a mutation would be done, unanswered); the client sees
      // the connection close and retries it elsewhere.
      if (closing.has(req.socket)) return sendError(res, new ShuttingDownError(), { connection: 'close' });
      // Every answer from now on closes its connection: during the delay that moves clients to
      // another instance, after it their connection ends with that answer, never under them.
      closing.add(req.socket);
      res.setHeader('connection', 'close');
      const path = pathOf(req);
      if (path === '/ready') return refuse(res, 503, { status: 'draining', ready: false });
      if (path === '/health' || (state.phase === 'draining' && state.accepting)) return app(req, res);
      sendError(res, new ShuttingDownError(), { connection: 'close' });
    },
    serving(server) {
      if (state.phase !== 'starting') throw new Error(`serving() called while ${state.phase}`);
      state = { phase: 'serving', server };
    },
    onShutdown(name, close) {
      steps.push({ name, close });
    },
    onDrain(name, end) {
      drainSteps.push({ name, close: end });
    },
    onGrace(name, finish) {
      graceSteps.push({ name, close: finish });
    },
    shutdown,
  };
}
