import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { LoadOrder, LoadResult } from './load.js';

/** A process the engine benchmark started, with the tail of what it printed (for when it fails). */
export interface Child {
  name: string;
  process: ChildProcess;
  /** Why it is gone, once it has exited. */
  exited?: string;
  tail(): string;
}

const TAIL_LINES = 15;

/** Runs a built script in a node process of its own, with `nodeFlags` on node's command line. */
export function startChild(name: string, script: URL, args: string[], env: NodeJS.ProcessEnv, nodeFlags: readonly string[] = []): Child {
  const child = fork(fileURLToPath(script), args, { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: [...nodeFlags] });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    lines.splice(0, Math.max(0, lines.length - TAIL_LINES));
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const started: Child = { name, process: child, tail: () => lines.map((line) => `    ${line.slice(0, 400)}`).join('\n') };
  child.once('exit', (code, signal) => (started.exited = signal ? `killed by ${signal}` : `exited with ${code}`));
  return started;
}

/** SIGTERM, and SIGKILL if it has not gone within a few seconds. */
export async function stopChild(child: Child): Promise<void> {
  if (child.exited) return;
  const gone = new Promise((resolve) => child.process.once('exit', resolve));
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), 5_000);
  await gone;
  clearTimeout(timer);
}

export async function postJson(url: string, body: string): Promise<{ status: number; headers: Headers; text: string }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** Polls `{ __typename }` at `url` until it is answered 200; throws (with what the child printed) if it exits or the time runs out. */
export async function waitAnswering(url: string, child: Child, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exited) throw new Error(`${child.name} ${child.exited} before answering:\n${child.tail()}`);
    const status = await postJson(url, JSON.stringify({ query: '{ __typename }' })).then(
      (answer) => answer.status,
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > deadline)
      throw new Error(`${child.name} did not answer at ${url} within ${timeoutMs} ms (last status ${status}):\n${child.tail()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Runs a load generator process for one measurement and returns what it measured. */
export function runLoad(order: LoadOrder, env: NodeJS.ProcessEnv): Promise<LoadResult> {
  const child = startChild('load generator', new URL('./load.js', import.meta.url), [], env);
  return new Promise((resolve, reject) => {
    child.process.once('message', (result) => resolve(result as LoadResult));
    child.process.once('exit', (code) => code !== 0 && reject(new Error(`the load generator exited with ${code}:\n${child.tail()}`)));
    child.process.send(order);
  });
}

const statusKib = (pid: number, field: 'VmRSS' | 'VmHWM') => {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) : NaN;
};

/**
 * Runs `measure` and says the most RSS process `pid` held meanwhile, in MiB: its peak (VmHWM)
 * reset before (`/proc/<pid>/clear_refs`), or, where that cannot be reset, VmRSS sampled every
 * 100 ms.
 */
/**
 * CPU time process `pid` has used, user and system, in ms (`/proc/<pid>/stat`, in clock ticks
 * of 10 ms): what a measurement cost the process itself, steadier than req/s on a shared machine.
 */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export async function withPeakRss<T>(pid: number, measure: () => Promise<T>): Promise<{ result: T; rssMiB: number }> {
  let reset = true;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    reset = false;
  }
  let sampled = statusKib(pid, 'VmRSS');
  const sampler = setInterval(() => {
    try {
      sampled = Math.max(sampled, statusKib(pid, 'VmRSS'));
    } catch {
      // Gone: the measurement says so.
    }
  }, 100);
  try {
    const result = await measure();
    let peak = sampled;
    try {
      if (reset) peak = Math.max(sampled, statusKib(pid, 'VmHWM'));
    } catch {
      // Gone since: what was sampled is what there is.
    }
    return { result, rssMiB: peak / 1024 };
  } finally {
    clearInterval(sampler);
  }
}
