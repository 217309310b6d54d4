import { positiveInt } from '../subgraphs.js';
import { cpuMs, runLoad, withPeakRss } from './processes.js';
import { rotate, summarize, summaryTable, type Measured, type Summary } from './report.js';

/** What is measured: a URL answering a body, and the process whose memory is counted. */
export interface Target {
  name: string;
  url: string;
  body: string;
  pid: number;
}

export interface RoundSettings {
  rounds: number;
  seconds: number;
  connections: number;
  maxRequests: number;
  warmUpSeconds: number;
}

/** The rounds' settings from the environment, with their defaults. */
export const roundVariables = {
  BENCH_SECONDS: 10,
  BENCH_ROUNDS: 3,
  BENCH_CONNECTIONS: 50,
  BENCH_MAX_REQUESTS: 200_000,
  BENCH_WARMUP_SECONDS: 2,
} as const;

/** The rounds' settings from `env` (each a positive integer), with the defaults above. */
export function roundSettingsFrom(env: NodeJS.ProcessEnv): RoundSettings {
  return {
    seconds: positiveInt(env, 'BENCH_SECONDS', roundVariables.BENCH_SECONDS),
    rounds: positiveInt(env, 'BENCH_ROUNDS', roundVariables.BENCH_ROUNDS),
    connections: positiveInt(env, 'BENCH_CONNECTIONS', roundVariables.BENCH_CONNECTIONS),
    maxRequests: positiveInt(env, 'BENCH_MAX_REQUESTS', roundVariables.BENCH_MAX_REQUESTS),
    warmUpSeconds: positiveInt(env, 'BENCH_WARMUP_SECONDS', roundVariables.BENCH_WARMUP_SECONDS),
  };
}

/**
 * Warms each target up, then measures each once a round, the order rotating (so that none is
 * always measured first or right after the same one), printing each measurement as it ends.
 * Returns the summaries by target name.
 */
export async function measureRounds(
  targets: Target[],
  { rounds, seconds, connections, maxRequests, warmUpSeconds }: RoundSettings,
  loadEnv: NodeJS.ProcessEnv,
): Promise<Map<string, Summary>> {
  console.log(`\nWarming up ${targets.length} targets, ${warmUpSeconds} s each…`);
  for (const target of targets)
    await runLoad({ url: target.url, body: target.body, connections, seconds: warmUpSeconds, maxRequests }, loadEnv);

  const figures = new Map<Target, Measured>(
    targets.map((t) => [t, { name: t.name, perSecond: [], p50: [], p99: [], rss: [], failures: 0 }]),
  );
  const width = Math.max(...targets.map((t) => t.name.length));
  const cpuPerRequest = new Map<Target, number[]>(targets.map((t) => [t, []]));
  for (let round = 0; round < rounds; round++) {
    console.log(`\nround ${round + 1} of ${rounds}:`);
    for (const target of rotate(targets, round)) {
      const cpuBefore = cpuMs(target.pid);
      const { result, rssMiB } = await withPeakRss(target.pid, () =>
        runLoad({ url: target.url, body: target.body, connections, seconds, maxRequests }, loadEnv),
      );
      const cpu = (cpuMs(target.pid) - cpuBefore) / Math.max(1, result.requests);
      cpuPerRequest.get(target)!.push(cpu);
      const figure = figures.get(target)!;
      figure.perSecond.push(result.perSecond);
      figure.p50.push(result.p50);
      figure.p99.push(result.p99);
      figure.rss.push(rssMiB);
      figure.failures += result.failures;
      const cache = Object.entries(result.xCache)
        .map(([status, count]) => `${status} ${count}`)
        .join(', ');
      console.log(
        `  ${target.name.padEnd(width)}  ${result.perSecond.toFixed(1).padStart(8)} req/s  p50 ${result.p50.toFixed(1).padStart(7)} ms  p99 ${result.p99.toFixed(1).padStart(7)} ms  RSS ${rssMiB.toFixed(0).padStart(4)} MiB  CPU ${cpu.toFixed(2)} ms/request  ${result.requests} requests (x-cache: ${cache})${result.failures ? `  !! ${result.failures} failed, the first: ${result.firstFailure}` : ''}`,
      );
    }
  }
  console.log(`\nPer round (req/s):`);
  for (const figure of figures.values())
    console.log(`  ${figure.name.padEnd(width)}  ${figure.perSecond.map((v) => v.toFixed(1)).join(' / ')}`);
  console.log(`\nPer round (CPU ms of the serving process per request):`);
  for (const [target, values] of cpuPerRequest)
    console.log(`  ${target.name.padEnd(width)}  ${values.map((v) => v.toFixed(2)).join(' / ')}`);
  return new Map([...figures.values()].map((figure) => [figure.name, summarize(figure)]));
}

/** The summary table under its heading. */
export function printSummary(summaries: Map<string, Summary>, notMeasured: { name: string; reason: string }[], rounds: number): void {
  console.log(`\nSummary (medians over ${rounds} rounds; RSS: the most in any round):\n`);
  console.log(summaryTable([...summaries.values()], notMeasured));
}
