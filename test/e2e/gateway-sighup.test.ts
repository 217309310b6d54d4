import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from '@jest/globals';
import { envPrefix } from '../../shared/config/config.js';
import { repoRoot } from '../../shared/config/paths.js';
import { subgraphs } from '../../subgraphs/index.js';
import { TEST_JWT_SECRET, TEST_SIGNING_SECRET } from '../support/config.js';

/*
 * SIGHUP makes a gateway process load its supergraph again at once (what `npm run dev` sends
 * after restarting a subgraph), and never ends it, not even while it still waits for its
 * subgraphs (SIGHUP's default action is to terminate).
 */

const GATEWAY_MAIN = join(repoRoot, 'dist/bin/gateway.js');

interface Spawned {
  child: ChildProcess;
  /** Resolves with the first log line whose `msg` is the one given (rejects if the process exits first). */
  logged(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<number | NodeJS.Signals | null>;
}

function spawnGateway(env: NodeJS.ProcessEnv): Spawned {
  if (!existsSync(GATEWAY_MAIN)) throw new Error(`${GATEWAY_MAIN} is missing: run \`npm run build\` first`);
  const child = spawn(process.execPath, [GATEWAY_MAIN], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH,
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      GATEWAY_PORT: '0',
      METRICS: 'false',
      SUBGRAPH_SIGNING_SECRET: TEST_SIGNING_SECRET,
      JWT_SECRET: TEST_JWT_SECRET,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  const lines: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
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
        () => reject(new Error(`no "${msg}" logged within ${timeoutMs} ms; logged: ${lines.map((l) => l.msg).join(' | ')}`)),
        timeoutMs,
      ).unref();
      void exited.then((how) => reject(new Error(`the gateway exited (${how}) before logging "${msg}"`)));
    });
  return { child, logged, exited };
}

let gateway: Spawned | undefined;
let dir: string | undefined;
afterEach(async () => {
  gateway?.child.kill('SIGKILL');
  await gateway?.exited;
  gateway = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('SIGHUP to a gateway process', () => {
  it('reloads the supergraph at once, with no watch and no polling', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-sighup-'));
    const file = join(dir, 'supergraph.graphql');
    await copyFile(join(repoRoot, 'supergraph.graphql'), file);
    gateway = spawnGateway({ NODE_ENV: 'test', SUPERGRAPH_PATH: file, SUPERGRAPH_WATCH: 'false', SUPERGRAPH_POLL_INTERVAL_MS: '0' });
    await gateway.logged('gateway listening');
    await appendFile(file, '\n# a new version\n');
    gateway.child.kill('SIGHUP');
    const reloaded = await gateway.logged('supergraph reloaded', 10_000);
    expect(reloaded).toMatchObject({ version: 2 });
    expect(gateway.child.exitCode).toBeNull();
  }, 40_000);

  it('does not end a gateway still waiting for its subgraphs', async () => {
    // Development composes from the subgraphs and waits for them; none answers on these ports.
    const closed = Object.fromEntries(subgraphs.map((s) => [`${envPrefix(s.name)}_URL`, 'http://127.0.0.1:9/graphql']));
    gateway = spawnGateway({ NODE_ENV: 'development', SUBGRAPH_WAIT_MS: '30000', ...closed });
    await gateway.logged('waiting for subgraphs');
    gateway.child.kill('SIGHUP');
    const outcome = await Promise.race([gateway.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 1_500))]);
    expect(outcome).toBe('still running');
  }, 40_000);
});
