import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { envPrefix } from '../../shared/config/config.js';
import { repoRoot } from '../../shared/config/paths.js';
import { TEST_JWT_SECRET, TEST_SIGNING_SECRET } from './config.js';

/** A built script (`node dist/bin/…`) running as a process of its own, its JSON log lines read as they come. */
export interface SpawnedProcess {
  child: ChildProcess;
  /** Resolves with the first log line whose `msg` is the one given (rejects if the process exits first). */
  logged(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<number | NodeJS.Signals | null>;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** A spawned process that listens: its `/graphql` URL, as it logged it. */
export interface ListeningProcess extends SpawnedProcess {
  url: string;
  origin: string;
}

/**
 * `node dist/<script> …args` with only the environment given besides the test secrets, info
 * logs and 127.0.0.1 (the caller builds first: `ensureBuilt`, test/support/built.ts).
 */
export function spawnBuilt(script: string, args: string[], env: NodeJS.ProcessEnv): SpawnedProcess {
  const main = join(repoRoot, 'dist', script);
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first`);
  const child = spawn(process.execPath, [main, ...args], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH,
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      SUBGRAPH_SIGNING_SECRET: TEST_SIGNING_SECRET,
      JWT_SECRET: TEST_JWT_SECRET,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  const lines: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      return;
    }
    waiters.forEach((wake) => wake());
  });
  const logged = (msg: string, timeoutMs = 20_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const found = lines.find((line) => line.msg === msg);
        if (found) resolve(found);
      };
      waiters.push(check);
      check();
      setTimeout(
        () => reject(new Error(`${script}: no "${msg}" logged within ${timeoutMs} ms; logged: ${lines.map((l) => l.msg).join(' | ')}`)),
        timeoutMs,
      ).unref();
      void exited.then((how) => reject(new Error(`${script} exited (${how}) before logging "${msg}": ${stderr}`)));
    });
  return {
    child,
    logged,
    exited,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function listening(spawned: SpawnedProcess, msg: string, timeoutMs: number): Promise<ListeningProcess> {
  try {
    const url = String((await spawned.logged(msg, timeoutMs)).url);
    return { ...spawned, url, origin: new URL(url).origin };
  } catch (error) {
    await spawned.stop(0);
    throw error;
  }
}

/** `npm run start:subgraph -- <name>` from the built script, on a free port; resolves once it serves. */
export function startSubgraphProcess(name: string, env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<ListeningProcess> {
  const port = `${envPrefix(name)}_PORT`;
  return listening(spawnBuilt('bin/subgraph.js', [name], { NODE_ENV: 'test', [port]: '0', ...env }), 'subgraph listening', timeoutMs);
}

/** The built gateway on a free port, metrics off unless `env` says. */
export function spawnGateway(env: NodeJS.ProcessEnv): SpawnedProcess {
  return spawnBuilt('bin/gateway.js', [], { NODE_ENV: 'test', GATEWAY_PORT: '0', METRICS: 'false', ...env });
}

/** `spawnGateway`, resolved once it listens. */
export function startGatewayProcess(env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<ListeningProcess> {
  return listening(spawnGateway(env), 'gateway listening', timeoutMs);
}
