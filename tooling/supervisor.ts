import { spawn, type ChildProcess } from 'node:child_process';
import { STARTUP_FAILED_EXIT_CODE } from '../shared/errors/fatal.js';
import type { Logger } from '../shared/observability/logger.js';

/** One process the supervisor runs: a Node script with its arguments. */
interface ChildSpec {
  name: string;
  script: string;
  args?: string[];
}

interface BackoffOptions {
  /** Wait before the first restart; doubled for each crash in a row. Default 500. */
  initialMs?: number;
  /** The longest wait between restarts. Default 10000. */
  maxMs?: number;
  /** A child up for this long before it crashed starts its backoff over. Default 10000. */
  resetAfterMs?: number;
}

export interface SupervisorOptions {
  /** In start order. On stop the last one (the gateway) stops first: its requests in flight may still need the others. */
  children: ChildSpec[];
  logger: Logger;
  /**
   * Restart a child that dies, with backoff (development: one crashed subgraph does not take
   * the rest down, and the gateway serves partial data meanwhile). Off, the first death stops
   * everything with exit code 1.
   */
  restart: boolean;
  backoff?: BackoffOptions;
  /** How long the children may take to drain before the supervisor stops waiting for them. */
  drainWaitMs: number;
  env?: NodeJS.ProcessEnv;
  /** Default: `process.exit`. */
  exit?: (code: number) => void;
}

export interface Supervisor {
  start(): void;
  /** SIGTERM to the last child, then to the others; a second call passes a second SIGTERM to each (they exit at once). */
  stop(code: number): void;
  /** The running process of each child, by name (none while it waits to be restarted). */
  pid(name: string): number | undefined;
}

interface Slot {
  spec: ChildSpec;
  process?: ChildProcess;
  startedAt: number;
  /** Crashes in a row, each without staying up `resetAfterMs`. */
  crashes: number;
  restartTimer?: NodeJS.Timeout;
}

const running = (child: ChildProcess | undefined): child is ChildProcess => !!child && child.exitCode === null && child.signalCode === null;
const exited = (child: ChildProcess | undefined) =>
  running(child) ? new Promise((resolve) => child.once('exit', resolve)) : Promise.resolve();

/**
 * Runs each child in its own process group (so a Ctrl-C at the terminal reaches only the
 * supervisor, which passes it on in order) with the supervisor's stdio, and an IPC channel
 * (`SUPERVISOR_IPC=true`) on which it relays each child's messages to the others. A child that exits
 * with `STARTUP_FAILED_EXIT_CODE` could not start (a setting to fix, which it has logged):
 * restarting it would fail the same way, so everything stops.
 */
export function createSupervisor({
  children,
  logger,
  restart,
  backoff = {},
  drainWaitMs,
  env = process.env,
  exit = (code) => process.exit(code),
}: SupervisorOptions): Supervisor {
  const { initialMs = 500, maxMs = 10_000, resetAfterMs = 10_000 } = backoff;
  const slots: Slot[] = children.map((spec) => ({ spec, startedAt: 0, crashes: 0 }));
  let stopping = false;

  function launch(slot: Slot): void {
    const child = spawn(process.execPath, [slot.spec.script, ...(slot.spec.args ?? [])], {
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
      env: { ...env, SUPERVISOR_IPC: 'true' },
      detached: true,
    });
    slot.process = child;
    slot.startedAt = Date.now();
    child.on('exit', (code, signal) => onExit(slot, child, code, signal));
    child.on('message', (message) => relay(child, message));
  }

  /** The hub (shared/ipc/supervisor-hub.ts): what one child sends goes to every other running one, as it came. */
  function relay(from: ChildProcess, message: unknown): void {
    for (const slot of slots) {
      const to = slot.process;
      // A child that exits meanwhile misses it, as a process away misses a Redis pub/sub message.
      if (to && to !== from && running(to) && to.connected) to.send(message as object, (error) => void error);
    }
  }

  function onExit(slot: Slot, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (stopping || slot.process !== child) return;
    const name = slot.spec.name;
    const how = signal ?? code;
    if (code === STARTUP_FAILED_EXIT_CODE) {
      logger.error({ child: name }, `${name} could not start (its error is above); stopping everything`);
      return stop(1);
    }
    if (!restart) {
      logger.error({ child: name, exit: how }, `${name} exited (${how}); stopping everything`);
      return stop(1);
    }
    const upMs = Date.now() - slot.startedAt;
    slot.crashes = upMs >= resetAfterMs ? 1 : slot.crashes + 1;
    const delayMs = Math.min(initialMs * 2 ** (slot.crashes - 1), maxMs);
    logger.warn(
      { child: name, exit: how, upMs, restartInMs: delayMs, crashesInARow: slot.crashes },
      `${name} exited (${how}); restarting it in ${delayMs} ms`,
    );
    slot.process = undefined;
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      if (stopping) return;
      logger.info({ child: name }, `restarting ${name}`);
      launch(slot);
    }, delayMs);
  }

  function stop(code: number): void {
    const live = () => slots.map((slot) => slot.process).filter(running);
    if (stopping) {
      live().forEach((child) => child.kill('SIGTERM'));
      return;
    }
    stopping = true;
    slots.forEach((slot) => clearTimeout(slot.restartTimer));
    const done = () => exit(code);
    const last = slots.slice(-1).map((slot) => slot.process);
    const rest = slots.slice(0, -1).map((slot) => slot.process);
    last.filter(running).forEach((child) => child.kill('SIGTERM'));
    Promise.all(last.map(exited))
      .then(() => {
        rest.filter(running).forEach((child) => child.kill('SIGTERM'));
        return Promise.all(rest.map(exited));
      })
      .then(done, done);
    setTimeout(done, drainWaitMs).unref();
  }

  return {
    start: () => slots.forEach(launch),
    stop,
    pid: (name) => {
      const child = slots.find((slot) => slot.spec.name === name)?.process;
      return running(child) ? child.pid : undefined;
    },
  };
}
