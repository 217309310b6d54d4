import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envPrefix } from '../shared/config/config.js';
import { subgraphs } from '../subgraphs/index.js';
import { freePort, positiveInt } from './subgraphs.js';

/**
 * `npm run bench -- demo`: the embedded stack as `npm start` runs it (the supervisor,
 * `dist/bin/start.js`, unchanged) from a fresh temporary DATA_DIR on free ports: the time
 * until it prints "Tessera is up", the RSS of the supervisor and of each of its processes
 * (VmRSS of /proc/<pid>/status) at that moment, the highest total seen while starting, and
 * again after BENCH_DEMO_REQUESTS (default 400) mixed requests, 8 at a time, for at most
 * BENCH_DEMO_SECONDS (60). Then stops it (SIGTERM, bounded) and removes the folder.
 * Target: the whole stack under 1 GB (1024 MiB) and up in under 20 s.
 */
const requests = positiveInt(process.env, 'BENCH_DEMO_REQUESTS', 400);
const maxSeconds = positiveInt(process.env, 'BENCH_DEMO_SECONDS', 60);
const UP_TIMEOUT_MS = 180_000;
const TARGET_MB = 1024;
const TARGET_UP_S = 20;
const MB = 1024;

/** `pid` and every process below it, from each process's parent in /proc/<pid>/stat. */
function processTree(root: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command may hold spaces and parentheses: the fields after the last `)` are fixed.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // It exited meanwhile.
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) tree.push(...(parents.get(tree[i]!) ?? []));
  return tree;
}

interface Sample {
  /** Process label → RSS in KiB. */
  byProcess: Map<string, number>;
  totalKb: number;
  /**
   * The sum of each process's proportional share (Pss of /proc/<pid>/smaps_rollup): pages
   * shared between processes (the node binary, its libraries) counted once in all, not once
   * per process as in the sum of RSS.
   */
  pssKb: number;
}

/** The label of a process of the stack: the subgraph's name, `gateway`, or the script. */
function label(pid: number, root: number): string {
  if (pid === root) return 'supervisor';
  const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  const script = args.find((arg) => arg.endsWith('.js')) ?? args[0] ?? String(pid);
  if (script.endsWith('bin/gateway.js')) return 'gateway';
  if (script.endsWith('bin/subgraph.js')) return args[args.indexOf(script) + 1] ?? 'subgraph';
  return script.replace(/^.*\//, '');
}

function sample(root: number): Sample {
  const byProcess = new Map<string, number>();
  let totalKb = 0;
  let pssKb = 0;
  for (const pid of processTree(root)) {
    try {
      const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
      byProcess.set(label(pid, root), kb);
      totalKb += kb;
      pssKb += Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
    } catch {
      // It exited meanwhile.
    }
  }
  return { byProcess, totalKb, pssKb };
}

const SHOP_FRONT = `{ topProducts(first: 5) { name price { amount currency } inStock shippingEstimate averageRating reviews(first: 2) { edges { node { rating author { username } } } } } }`;

/** The i-th request of the mix: the shop front (cached and not), a search, a product, an error. */
function body(i: number): object {
  switch (i % 5) {
    case 0:
      return { query: SHOP_FRONT };
    case 1:
      return {
        query: `query Search($s: String) { products(first: 3, filter: { search: $s }) { totalCount edges { node { name } } } }`,
        variables: { s: `e${i % 7}` },
      };
    case 2:
      return { query: `query Top${i} { topProducts(first: ${1 + (i % 5)}) { name t${i}: inStock } }` };
    case 3:
      return { query: `{ categories { name slug } }` };
    default:
      return { query: `{ product(id: "not-an-id-${i}") { name } }` };
  }
}

/** Sends the mix; returns how many requests failed at the HTTP level. */
async function load(url: string): Promise<{ sent: number; failed: number; seconds: number }> {
  const started = Date.now();
  const deadline = started + maxSeconds * 1000;
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < requests && Date.now() < deadline) {
      const i = next++;
      const ok = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body(i)),
        signal: AbortSignal.timeout(10_000),
      }).then(
        (response) => response.text().then(() => response.ok),
        () => false,
      );
      if (!ok) failed++;
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return { sent: next, failed, seconds: (Date.now() - started) / 1000 };
}

const mib = (kb: number) => Math.round(kb / MB);

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-demo-bench-'));
  const gatewayPort = await freePort();
  const ports: Record<string, string> = { GATEWAY_PORT: String(gatewayPort) };
  for (const subgraph of subgraphs) ports[`${envPrefix(subgraph.name)}_PORT`] = String(await freePort());
  // The embedded stack of a fresh clone: PGlite, in-memory caches, development.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...ports,
    NODE_ENV: 'development',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    RATE_LIMIT: '0',
  };
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'NODE_OPTIONS', ...subgraphs.map((s) => `${envPrefix(s.name)}_DATABASE_URL`)])
    delete env[name];
  console.log(
    `Configuration: npm start (dist/bin/start.js) with ${subgraphs.length} subgraphs (${subgraphs.map((s) => s.name).join(', ')}) and the gateway, ` +
      `PGlite in a fresh DATA_DIR, NODE_ENV=development, LOG_LEVEL=warn, RATE_LIMIT=0, gateway on 127.0.0.1:${gatewayPort}; ` +
      `then ${requests} mixed requests, 8 at a time, at most ${maxSeconds} s.`,
  );

  const started = Date.now();
  const supervisor = spawn(process.execPath, [fileURLToPath(new URL('../bin/start.js', import.meta.url))], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const root = supervisor.pid!;
  let output = '';
  supervisor.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  supervisor.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => supervisor.once('exit', () => resolve()));
  let stillRunning = true;
  void exited.then(() => (stillRunning = false));

  let peakKb = 0;
  let upMs: number | undefined;
  while (stillRunning && Date.now() - started < UP_TIMEOUT_MS) {
    peakKb = Math.max(peakKb, sample(root).totalKb);
    if (output.includes('Tessera is up')) {
      upMs = Date.now() - started;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const pids = processTree(root);
  try {
    if (upMs === undefined)
      throw new Error(`The stack did not come up within ${UP_TIMEOUT_MS / 1000} s; it printed:\n${output.slice(-3000)}`);
    const atUp = sample(root);
    const traffic = await load(`http://127.0.0.1:${gatewayPort}/graphql`);
    // A moment for the processes to settle after the load.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const afterLoad = sample(root);

    console.log(`\nUp after ${(upMs / 1000).toFixed(1)} s; highest total RSS while starting ${mib(peakKb)} MB.`);
    console.log(`Load: ${traffic.sent} requests in ${traffic.seconds.toFixed(1)} s, ${traffic.failed} failed.\n`);
    console.log(`${'process'.padEnd(14)}${'RSS at up MB'.padStart(14)}${'after load MB'.padStart(15)}`);
    for (const [name, kb] of atUp.byProcess)
      console.log(`${name.padEnd(14)}${String(mib(kb)).padStart(14)}${String(mib(afterLoad.byProcess.get(name) ?? 0)).padStart(15)}`);
    console.log(`${'total'.padEnd(14)}${String(mib(atUp.totalKb)).padStart(14)}${String(mib(afterLoad.totalKb)).padStart(15)}`);
    console.log(
      `${'total (PSS)'.padEnd(14)}${String(mib(atUp.pssKb)).padStart(14)}${String(mib(afterLoad.pssKb)).padStart(15)}   shared pages counted once`,
    );
    const highest = Math.max(peakKb, atUp.totalKb, afterLoad.totalKb);
    const met = highest < TARGET_MB * MB && upMs < TARGET_UP_S * 1000;
    console.log(
      `\nTarget (under ${TARGET_MB} MB at all times, up in under ${TARGET_UP_S} s): ${met ? 'met' : 'NOT met'} (highest ${mib(highest)} MB, up in ${(upMs / 1000).toFixed(1)} s).`,
    );
  } finally {
    supervisor.kill('SIGTERM');
    const stopped = await Promise.race([
      exited.then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 40_000)),
    ]);
    // What did not drain in time is killed: the processes found while it ran, and no others.
    if (!stopped) {
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
