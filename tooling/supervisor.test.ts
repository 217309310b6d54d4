import { appendFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createSupervisor, type Supervisor, type SupervisorOptions } from './supervisor.js';
import { STARTUP_FAILED_EXIT_CODE } from '../shared/errors/fatal.js';
import { capturingLogger } from '../test/support/logger.js';

/*
 * `npm start`'s supervisor with tiny fake children: Node scripts that stay up until told, note
 * their stop in a file, and exit as asked.
 */

let dir: string;
let child: string;
const supervisors: Supervisor[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-supervisor-'));
  child = join(dir, 'child.mjs');
  // argv: name, events file, what to do: `serve`, `serve-slow-stop` (takes 300 ms to drain), `exit:<code>`, or `hub`
  // (serves, sends its name on the IPC channel every 50 ms, and notes what it hears there).
  await writeFile(
    child,
    `import { appendFileSync } from 'node:fs';
const [name, events, mode] = process.argv.slice(2);
appendFileSync(events, name + ' started\\n');
if (mode.startsWith('exit:')) process.exit(Number(mode.slice(5)));
process.on('SIGTERM', () => setTimeout(() => { appendFileSync(events, name + ' stopped\\n'); process.exit(0); }, mode === 'serve-slow-stop' ? 300 : 0));
setInterval(() => {}, 1000);
if (mode === 'hub') {
  process.on('message', (message) => appendFileSync(events, name + ' heard ' + message.from + ' ipc=' + process.env.SUPERVISOR_IPC + '\\n'));
  setInterval(() => process.send({ hub: 'test', from: name }), 50);
}
`,
  );
});
afterEach(() => {
  // A test that failed half-way leaves no process behind.
  for (const supervisor of supervisors.splice(0)) {
    supervisor.stop(0);
    // A second stop: SIGTERM again, which the fake children do not wait on.
    supervisor.stop(0);
  }
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function start(name: string, overrides: Partial<SupervisorOptions> & { modes?: Record<string, string> } = {}) {
  const events = join(dir, `${name}.events`);
  appendFileSync(events, '');
  const { logger, lines } = capturingLogger('info');
  let exited!: (code: number) => void;
  const exit = new Promise<number>((resolve) => (exited = resolve));
  const modes = { accounts: 'serve', reviews: 'serve', gateway: 'serve-slow-stop', ...overrides.modes };
  const supervisor = createSupervisor({
    children: Object.entries(modes).map(([name, mode]) => ({ name, script: child, args: [name, events, mode] })),
    logger,
    restart: true,
    drainWaitMs: 10_000,
    exit: (code) => exited(code),
    ...overrides,
  });
  supervisors.push(supervisor);
  supervisor.start();
  const read = async () => (await readFile(events, 'utf8')).trim().split('\n');
  /** Once `name` has started `times` times in all, its running pid (its signal handler is in place by then). */
  const started = (name: string, times = 1) =>
    until(async () => (await read()).filter((line) => line === `${name} started`).length >= times && supervisor.pid(name));
  return { supervisor, lines, exit, events: read, started };
}

/** Resolves once `check` holds, polling; fails after `ms`. */
async function until<T>(check: () => T | undefined | false | Promise<T | undefined | false>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("npm start's supervisor", () => {
  it('restarts a child killed with SIGKILL, backing off while it keeps dying, and stops everything in order, the gateway first', async () => {
    const { supervisor, lines, exit, events, started } = start('restart', {
      backoff: { initialMs: 200, maxMs: 400, resetAfterMs: 60_000 },
    });
    await Promise.all([started('accounts'), started('gateway')]);
    const first = await started('reviews');
    process.kill(first, 'SIGKILL');
    const second = await started('reviews', 2);
    expect(second).not.toBe(first);
    process.kill(second, 'SIGKILL');
    const third = await started('reviews', 3);
    process.kill(third, 'SIGKILL');
    await until(() => lines.filter((line) => line.msg?.startsWith('reviews exited')).length === 3);

    const exits = lines.filter((line) => line.msg?.startsWith('reviews exited'));
    // 200 ms, doubled, then held at the cap.
    expect(exits.map((line) => line.restartInMs)).toEqual([200, 400, 400]);
    expect(exits[0]).toMatchObject({
      level: 40,
      child: 'reviews',
      exit: 'SIGKILL',
      msg: 'reviews exited (SIGKILL); restarting it in 200 ms',
    });
    await started('reviews', 4);
    // The others were left alone.
    expect((await events()).filter((line) => line.endsWith('started')).sort()).toEqual([
      'accounts started',
      'gateway started',
      ...Array(4).fill('reviews started'),
    ]);

    supervisor.stop(0);
    expect(await exit).toBe(0);
    const stops = (await events()).filter((line) => line.endsWith('stopped'));
    // The gateway takes 300 ms to drain; the subgraphs are only told once it has.
    expect(stops[0]).toBe('gateway stopped');
    expect(stops.slice(1).sort()).toEqual(['accounts stopped', 'reviews stopped']);
  });

  it('relays what a child sends on its IPC channel to every other child, never back to it', async () => {
    const { supervisor, exit, events } = start('hub', { modes: { accounts: 'hub', reviews: 'hub', gateway: 'serve' } });
    const heard = async () => new Set((await events()).filter((line) => line.includes(' heard ')));
    await until(async () => (await heard()).size >= 2);
    expect([...(await heard())].sort()).toEqual(['accounts heard reviews ipc=true', 'reviews heard accounts ipc=true']);
    supervisor.stop(0);
    expect(await exit).toBe(0);
  });

  it('starts the backoff over for a child that stayed up a while before it died', async () => {
    const { supervisor, lines, exit, started } = start('reset', { backoff: { initialMs: 100, maxMs: 5_000, resetAfterMs: 1_000 } });
    const restartsIn = () => lines.filter((line) => line.msg?.startsWith('accounts exited')).map((line) => line.restartInMs);
    await Promise.all([started('reviews'), started('gateway')]);
    process.kill(await started('accounts'), 'SIGKILL');
    process.kill(await started('accounts', 2), 'SIGKILL');
    const third = await started('accounts', 3);
    // Up well past resetAfterMs this time.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    process.kill(third, 'SIGKILL');
    await until(() => restartsIn().length === 3);
    expect(restartsIn()).toEqual([100, 200, 100]);
    supervisor.stop(0);
    expect(await exit).toBe(0);
  });

  it('without restarts (production), one death stops everything with exit code 1', async () => {
    const { lines, exit, events, started } = start('production', { restart: false });
    await Promise.all([started('accounts'), started('gateway')]);
    process.kill(await started('reviews'), 'SIGKILL');
    expect(await exit).toBe(1);
    expect(lines).toContainEqual(expect.objectContaining({ level: 50, msg: 'reviews exited (SIGKILL); stopping everything' }));
    expect((await events()).filter((line) => line.endsWith('stopped')).sort()).toEqual(['accounts stopped', 'gateway stopped']);
  });

  it('does not restart a child that could not start (a setting to fix): everything stops with exit code 1', async () => {
    const { lines, exit, events } = start('startup-failed', { modes: { accounts: `exit:${STARTUP_FAILED_EXIT_CODE}` } });
    expect(await exit).toBe(1);
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 50, msg: 'accounts could not start (its error is above); stopping everything' }),
    );
    expect((await events()).filter((line) => line === 'accounts started')).toHaveLength(1);
    expect(lines.some((line) => line.msg?.startsWith('restarting'))).toBe(false);
  });
});
