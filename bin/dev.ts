import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { loadGatewayConfig, subgraphRoutes } from '../shared/config/config.js';
import { buildRoot, repoRoot } from '../shared/config/paths.js';
import { subgraphs } from '../subgraphs/index.js';
import { registryDefaults } from '../tooling/compose.js';
import { GATEWAY, parseTscLine, processesToRestart } from '../tooling/dev-watch.js';

/**
 * `npm run dev`: `npm start` that follows the code. tsc watches the sources (`tsc -b --watch`,
 * incremental: only changed files are compiled) and names the files it wrote; after each clean
 * build the processes running those files restart (tooling/dev-watch.ts says which), each on
 * its own store, which a restart keeps. The subgraphs restart first; then the gateway restarts
 * too, or, when only subgraphs changed, gets SIGHUP and re-composes from them at once. A build
 * with type errors restarts nothing until one is clean. A process that crashes stays down until
 * the next clean build starts it again. Ctrl-C stops tsc, the gateway, then the subgraphs.
 */
interface Process {
  name: string;
  script: string;
  args: string[];
  child?: ChildProcess;
  /** Set while this script itself stops it, so its exit is not reported as a crash. */
  restarting?: boolean;
}

const script = (path: string) => fileURLToPath(new URL(path, import.meta.url));
/**
 * A restart drains first, and a draining process keeps the gateway's idle keep-alive
 * connections until the grace ends (closing one under a client that reuses it would lose that
 * request): with the default 10 s every restart took 10 s. Development's requests are short.
 */
const env: NodeJS.ProcessEnv = { SHUTDOWN_GRACE_MS: '1000', ...process.env };
const config = loadGatewayConfig(env);
const names = subgraphs.map((subgraph) => subgraph.name);
const processes = new Map<string, Process>([
  ...names.map((name): [string, Process] => [name, { name, script: script('./subgraph.js'), args: [name] }]),
  [GATEWAY, { name: GATEWAY, script: script('./gateway.js'), args: [] }],
]);
/** Where each process answers `/ready`. */
const readyUrl = new Map([
  ...subgraphRoutes(env, registryDefaults(subgraphs)).subgraphs.map((subgraph): [string, string] => [
    subgraph.name,
    new URL('/ready', subgraph.url).href,
  ]),
  [GATEWAY, `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${config.port}/ready`],
]);
let stopping = false;

const running = (child: ChildProcess | undefined): child is ChildProcess => !!child && child.exitCode === null && child.signalCode === null;
const exited = (child: ChildProcess | undefined) => (running(child) ? new Promise((done) => child.once('exit', done)) : Promise.resolve());

function launch(process_: Process): void {
  // Its own process group: a Ctrl-C at the terminal reaches only this script, which stops the children in order.
  const child = spawn(process.execPath, [process_.script, ...process_.args], { stdio: 'inherit', env, detached: true });
  process_.child = child;
  child.on('exit', (code, signal) => {
    if (stopping || process_.restarting || process_.child !== child) return;
    console.error(`[dev] ${process_.name} exited (${signal ?? code}); it starts again with the next clean build.`);
  });
}

async function untilReady(name: string, timeoutMs = 120_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !stopping && running(processes.get(name)!.child)) {
    if (
      await fetch(readyUrl.get(name)!, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.ok,
        () => false,
      )
    )
      return true;
    await new Promise((done) => setTimeout(done, 300));
  }
  return false;
}

/** Stops a process (it drains) and starts it again once it has exited: its PGlite store is free only then. */
async function restart(name: string): Promise<void> {
  const process_ = processes.get(name)!;
  process_.restarting = true;
  process_.child?.kill('SIGTERM');
  await exited(process_.child);
  process_.restarting = false;
  if (!stopping) launch(process_);
}

async function apply(changed: string[]): Promise<void> {
  // A process that crashed starts again with the next clean build, which usually holds the fix.
  const restarts = [...processes.values()].filter((p) => changed.includes(p.name) || !running(p.child)).map((p) => p.name);
  const changedSubgraphs = restarts.filter((name) => name !== GATEWAY);
  if (!restarts.length || stopping) return;
  console.log(`[dev] restarting ${restarts.join(', ')}`);
  await Promise.all(changedSubgraphs.map(restart));
  await Promise.all(changedSubgraphs.map((name) => untilReady(name)));
  if (restarts.includes(GATEWAY)) return restart(GATEWAY);
  // The gateway keeps running and re-composes now, rather than at its next poll.
  const gateway = processes.get(GATEWAY)!.child;
  if (running(gateway) && !stopping) {
    console.log(`[dev] ${changedSubgraphs.join(', ')} restarted; the gateway re-composes`);
    gateway.kill('SIGHUP');
  }
}

function stop(): void {
  const live = () => [...processes.values()].map((p) => p.child).filter(running);
  if (stopping) {
    live().forEach((child) => child.kill('SIGTERM'));
    return;
  }
  stopping = true;
  tsc.kill('SIGTERM');
  const done = () => process.exit(0);
  const gateway = processes.get(GATEWAY)!.child;
  if (running(gateway)) gateway.kill('SIGTERM');
  exited(gateway)
    .then(() => {
      const rest = live();
      rest.forEach((child) => child.kill('SIGTERM'));
      return Promise.all(rest.map(exited));
    })
    .then(done, done);
  setTimeout(done, 2 * (config.shutdown.delayMs + config.shutdown.graceMs) + 15_000).unref();
}

const tsc = spawn(
  process.execPath,
  [
    createRequire(import.meta.url).resolve('typescript/bin/tsc'),
    '-b',
    'tsconfig.build.json',
    '--watch',
    '--preserveWatchOutput',
    '--listEmittedFiles',
  ],
  {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
tsc.on('exit', (code) => {
  if (stopping) return;
  console.error(`[dev] tsc --watch exited (${code}); stopping.`);
  stop();
});
/** What tsc wrote since the last clean build, relative to dist/. */
let emitted: string[] = [];
let queue = Promise.resolve();
createInterface({ input: tsc.stdout }).on('line', (line) => {
  const parsed = parseTscLine(line);
  if (parsed.kind === 'emitted') emitted.push(relative(buildRoot, resolve(parsed.path)));
  else if (parsed.kind === 'other') console.log(line);
  else if (parsed.errors > 0) console.log(`[dev] ${line.trim()} Nothing restarts until the build is clean.`);
  else {
    const restarts = processesToRestart(emitted, names);
    emitted = [];
    queue = queue.then(() => apply(restarts));
  }
});

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, stop);
// `npm run dev` has just built: everything starts now, while tsc starts watching.
processes.forEach(launch);
void untilReady(GATEWAY).then((ready) => {
  if (ready)
    console.log(
      `\n  Tessera (dev) is up: ${names.length} subgraphs behind ${readyUrl.get(GATEWAY)!.replace(/ready$/, 'graphql')}; watching the sources\n`,
    );
});
