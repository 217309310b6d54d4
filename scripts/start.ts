import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadGatewayConfig } from '../shared/config.js';
import { planStack, stackNodeOptions } from './stack.js';

/**
 * `npm start`: every subgraph and the gateway, each in its own process (as they run in
 * production), on the configured stores. Prints the gateway's URL once it is ready; stops
 * them all on Ctrl-C or when any one of them dies. Children run in their own process group, so
 * Ctrl-C reaches only this process, which passes SIGTERM on: to the gateway first (its requests
 * in flight may still need the subgraphs), then to the subgraphs; each drains. A second Ctrl-C
 * passes a second one to each, and they exit at once.
 */
const children: ChildProcess[] = [];
let stopping = false;
/** How long the children may take to drain before this process gives up waiting. */
let drainWaitMs = 20_000;

function run(script: string, args: string[] = []): ChildProcess {
  const child = spawn(process.execPath, [fileURLToPath(new URL(script, import.meta.url)), ...args], {
    stdio: 'inherit',
    env: process.env,
    detached: true,
  });
  child.on('exit', (code, signal) => {
    if (stopping) return;
    console.error(`${[script, ...args].join(' ')} exited (${signal ?? code}); stopping everything.`);
    stop(1);
  });
  children.push(child);
  return child;
}

const running = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;
const exited = (child: ChildProcess) => (running(child) ? new Promise((resolve) => child.once('exit', resolve)) : Promise.resolve());
const terminate = (some: ChildProcess[]) => some.filter(running).forEach((child) => child.kill('SIGTERM'));

function stop(code: number): void {
  if (stopping) {
    terminate(children);
    return;
  }
  stopping = true;
  const exit = () => process.exit(code);
  // The gateway is started last.
  const gateway = children.slice(-1);
  const rest = children.slice(0, -1);
  terminate(gateway);
  Promise.all(gateway.map(exited))
    .then(() => {
      terminate(rest);
      return Promise.all(rest.map(exited));
    })
    .then(exit, exit);
  setTimeout(exit, drainWaitMs).unref();
}

async function waitUntilReady(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !stopping) {
    const ok = await fetch(url, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false);
    if (ok) return true;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  return false;
}

async function main(): Promise<void> {
  process.env.NODE_OPTIONS = stackNodeOptions(process.env.NODE_OPTIONS);
  const subgraphs = await planStack(process.env);
  const config = loadGatewayConfig(subgraphs, process.env);
  // The gateway drains, then the subgraphs.
  drainWaitMs = 2 * (config.shutdown.delayMs + config.shutdown.graceMs) + 15_000;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => stop(0));
  for (const subgraph of subgraphs) run('./subgraph.js', [subgraph.name]);
  run('../gateway/main.js');
  const base = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${config.port}`;
  if (await waitUntilReady(`${base}/ready`, 120_000)) {
    console.log(`\n  Tessera is up: ${subgraphs.length} subgraphs behind the gateway at ${base}/graphql\n`);
  } else if (!stopping) {
    console.error(`The gateway did not become ready at ${base}/ready within 120 s.`);
    stop(1);
  }
}

void main();
