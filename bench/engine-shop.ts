import type { RunningSubgraph } from '../shared/subgraph/boot.js';
import { subgraphs } from '../subgraphs/index.js';
import { benchEnv, benchGatewayEnv, benchSubgraphs, BENCH_RATE_LIMIT, formatSettings, freePort, startBenchSubgraphs } from './subgraphs.js';
import { GATEWAY_V8_FLAGS } from '../tooling/stack.js';
import { postJson, startChild, stopChild, waitAnswering, type Child } from './engine/processes.js';
import { firstDifference, ratio } from './engine/report.js';
import { measureRounds, printSummary, roundSettingsFrom, type Target } from './engine/rounds.js';

/**
 * `npm run bench -- engine-shop`: the shop's own subgraphs on PostgreSQL (DATABASE_URL, by
 * default the local server's `tessera_bench_<subgraph>` databases, created, migrated and seeded
 * on first use) through Tessera's gateway with each executor, in alternating rounds like
 * `engine`'s: req/s, p50/p99 and RSS for a shop-front query, and the SQL statements each
 * subgraph sends per request through each executor, which must be the same.
 */
const QUERY = `{ topProducts(first: 5) { name price { amount currency } inStock shippingEstimate averageRating reviews(first: 3) { edges { node { rating author { username } } } } } }`;
const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/tessera_bench';
const STATEMENT_SAMPLE = 20;
const EXECUTORS = ['apollo', 'tessera'] as const;

/** Every SQL statement each subgraph has counted so far, from its own metrics. */
async function statementsSoFar(running: RunningSubgraph[]): Promise<number[]> {
  return Promise.all(
    running.map(async ({ registry }) => {
      const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === 'tessera_subgraph_sql_statements_per_operation');
      const values = (metric?.values ?? []) as { metricName?: string; value: number }[];
      return values.filter((v) => v.metricName?.endsWith('_sum')).reduce((total, v) => total + v.value, 0);
    }),
  );
}

async function main(): Promise<void> {
  const env = { ...benchEnv(), DATABASE_URL: process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL };
  const settings = roundSettingsFrom(env);
  console.log(
    formatSettings({
      subgraphs: `${benchSubgraphs(env)} (${env.DATABASE_URL.replace(/\/\/[^@/]*@/, '//')}), in the bench's process`,
      gateways: `Tessera's, its own process each, GATEWAY_EXECUTOR=${EXECUTORS.join(', then ')}; NODE_ENV=test, composed from the running subgraphs, response cache off (every request reaches the subgraphs)`,
      'rate limit': BENCH_RATE_LIMIT,
      load: `undici Pool in a process of its own, ${settings.connections} keep-alive connections (BENCH_CONNECTIONS)`,
      duration: `${settings.seconds} s a measurement (BENCH_SECONDS), at most ${settings.maxRequests} requests, after ${settings.warmUpSeconds} s to warm up`,
      rounds: `${settings.rounds} (BENCH_ROUNDS), the order rotating`,
      'SQL count': `statements each subgraph sent over ${STATEMENT_SAMPLE} requests sent one at a time, per request`,
      query: QUERY,
    }),
  );
  const { running, urls } = await startBenchSubgraphs(env);
  const gateways: { executor: (typeof EXECUTORS)[number]; child: Child; url: string }[] = [];
  const notMeasured: { name: string; reason: string }[] = [];
  const name = (executor: string) => `Tessera, ${executor} executor`;
  try {
    for (const executor of EXECUTORS) {
      const port = await freePort();
      const child = startChild(
        name(executor),
        new URL('../bin/gateway.js', import.meta.url),
        [],
        {
          ...benchGatewayEnv(env, urls),
          HOST: '127.0.0.1',
          GATEWAY_PORT: String(port),
          LOG_LEVEL: 'error',
          SUPERGRAPH_WATCH: 'false',
          RESPONSE_CACHE: 'false',
          GATEWAY_EXECUTOR: executor,
        },
        GATEWAY_V8_FLAGS,
      );
      const url = `http://127.0.0.1:${port}/graphql`;
      try {
        await waitAnswering(url, child, 90_000);
        gateways.push({ executor, child, url });
      } catch (error) {
        console.error(`\n!! ${name(executor)} did not start: ${(error as Error).message}`);
        notMeasured.push({ name: name(executor), reason: `did not start (${child.exited ?? 'no answer'})` });
        await stopChild(child);
      }
    }

    // The answers, compared; and the statements per request, one request at a time.
    const body = JSON.stringify({ query: QUERY });
    const answers: unknown[] = [];
    const perRequest: number[][] = [];
    const measured: typeof gateways = [];
    for (const gateway of gateways) {
      const answer = await postJson(gateway.url, body);
      const json = JSON.parse(answer.text) as { data?: unknown; errors?: { message: string }[] };
      if (answer.status !== 200 || json.errors?.length || !json.data) {
        const reason = `HTTP ${answer.status}${json.errors?.length ? `, ${json.errors[0]!.message}` : ''}`;
        console.error(`\n!! ${name(gateway.executor)} answers badly: ${reason}`);
        notMeasured.push({ name: name(gateway.executor), reason: `answers errors (${reason})` });
        continue;
      }
      answers.push({ data: json.data, errors: json.errors });
      const before = await statementsSoFar(running);
      for (let i = 0; i < STATEMENT_SAMPLE; i++) await postJson(gateway.url, body);
      const after = await statementsSoFar(running);
      perRequest.push(after.map((count, i) => (count - before[i]!) / STATEMENT_SAMPLE));
      measured.push(gateway);
    }
    if (measured.length === 2) {
      const difference = firstDifference(answers[1], answers[0]);
      console.log(
        difference
          ? `\n!!!!!!!! MISMATCH: the executors' answers differ, first at ${difference} !!!!!!!!`
          : `\nThe executors' answers are the same JSON.`,
      );
    }
    console.log(`\nSQL statements per request:\n`);
    console.log(`| subgraph | ${measured.map((g) => `${g.executor} executor`).join(' | ')} |`);
    console.log(`| --- | ${measured.map(() => '---:').join(' | ')} |`);
    subgraphs.forEach((subgraph, i) => console.log(`| ${subgraph.name} | ${perRequest.map((counts) => counts[i]).join(' | ')} |`));
    const totals = perRequest.map((counts) => counts.reduce((a, b) => a + b, 0));
    console.log(`| all | ${totals.join(' | ')} |`);

    const targets: Target[] = measured.map((g) => ({ name: name(g.executor), url: g.url, body, pid: g.child.process.pid! }));
    const summaries = targets.length
      ? await measureRounds(targets, settings, { PATH: process.env.PATH, HOME: process.env.HOME })
      : new Map();
    printSummary(summaries, notMeasured, settings.rounds);
    const apollo = summaries.get(name('apollo'));
    const tessera = summaries.get(name('tessera'));
    console.log(`\nTessera's executor / Apollo's: ${ratio(tessera, apollo)}\n`);
    const bothRan = apollo && tessera && !apollo.failures && !tessera.failures;
    console.log(
      `TARGET ${bothRan && tessera.perSecond >= apollo.perSecond ? 'MET' : 'MISSED'}: the shop through Tessera's executor no slower than through Apollo's (${ratio(tessera, apollo)})`,
    );
    const sameStatements = perRequest.length === 2 && perRequest[0]!.every((count, i) => count === perRequest[1]![i]);
    console.log(
      `TARGET ${sameStatements ? 'MET' : 'MISSED'}: the same SQL statements per request through either executor (${totals.join(' vs ') || 'not measured'})`,
    );
  } finally {
    await Promise.all(gateways.map((g) => stopChild(g.child)));
    await Promise.all(running.map((s) => s.stop()));
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
