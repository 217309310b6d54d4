import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { GATEWAY_V8_FLAGS } from '../tooling/stack.js';
import { benchGatewayEnv, formatSettings, freePort } from './subgraphs.js';
import { CACHEABLE, CACHEABLE_OPERATION, constantSubgraphs } from './engine/constant-subgraphs.js';
import { postJson, startChild, stopChild, waitAnswering, type Child } from './engine/processes.js';
import { measureRounds, printSummary, roundSettingsFrom, type Target } from './engine/rounds.js';
import { firstDifference, ratio, targetLines } from './engine/report.js';

/**
 * `npm run bench -- engine`: issue 15's benchmark. Constant-data subgraphs answered from memory
 * (in the shape of the public graphql gateways benchmark), and in front of them, each in a
 * process of its own: stock @apollo/gateway, Tessera's gateway with @apollo/gateway's executor
 * (`GATEWAY_EXECUTOR=apollo`) and with its own (`tessera`), every edge plugin on. A load
 * generator (a process of its own too) sends the deep query over BENCH_CONNECTIONS (50)
 * keep-alive connections for BENCH_SECONDS (10) per measurement, at most BENCH_MAX_REQUESTS
 * (200000), in BENCH_ROUNDS (3) rounds whose order rotates. In the same rounds: the same answer
 * as a Tessera cache hit against a bare node:http server sending the same bytes. Prints req/s,
 * p50/p99 and the gateway's peak RSS per round, then a summary and the issue's targets. A
 * measurement, not a test: it exits 0 whether the targets are met or not.
 */

const DEEP_SELECTION =
  'users { id username reviews { id product { upc name reviews { id author { id username reviews { product { upc name price } } } } } } } ' +
  'topProducts { upc name reviews { id author { id username reviews { product { upc name inStock shippingEstimate } } } } }';
/** The miss: the subgraphs answer it `no-store`, so Tessera's response cache stores nothing. */
const DEEP = `query Deep { ${DEEP_SELECTION} }`;
/** The same answer, which the subgraphs mark cacheable (see CACHEABLE_OPERATION). */
const DEEP_CACHEABLE = `query ${CACHEABLE_OPERATION} { ${DEEP_SELECTION} }`;
/** Well above the deep query's estimate (about 10 per list level): the cost limit stays on but admits it. */
const BENCH_MAX_COST = '10000000';
const START_TIMEOUT_MS = 90_000;

/** A gateway process and where it answers GraphQL. */
interface Gateway {
  name: string;
  child: Child;
  url: string;
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json?: { data?: unknown; errors?: { message?: string; extensions?: { code?: string } }[] };
}

async function ask(url: string, query: string): Promise<Answer> {
  const answer = await postJson(url, JSON.stringify({ query }));
  let json: Answer['json'];
  try {
    json = JSON.parse(answer.text) as Answer['json'];
  } catch {
    json = undefined;
  }
  return { ...answer, json };
}

/** Why an answer is not a good one (status, errors, no data), or undefined. */
function faultOf(answer: Answer): string | undefined {
  if (answer.status !== 200) return `HTTP ${answer.status}: ${answer.text.slice(0, 300)}`;
  if (!answer.json) return `not JSON: ${answer.text.slice(0, 300)}`;
  if (answer.json.errors?.length) {
    const first = answer.json.errors[0]!;
    return `${answer.json.errors.length} error(s), the first: ${first.extensions?.code ?? ''} ${first.message ?? ''}`.trim();
  }
  if (!answer.json.data) return 'no data';
  return undefined;
}

/** What two gateways must agree on: data and errors (extensions are each gateway's own). */
const comparable = (answer: Answer) => ({ data: answer.json?.data, errors: answer.json?.errors });

async function main(): Promise<void> {
  const env = process.env;
  const settings = roundSettingsFrom(env);
  const { seconds, rounds, connections, maxRequests, warmUpSeconds } = settings;
  // Children get only what they need: no REDIS_URL, DATABASE_URL or ports of the caller's environment.
  const childEnv: NodeJS.ProcessEnv = { PATH: env.PATH, HOME: env.HOME, NODE_ENV: 'production' };
  const cores = cpus();

  console.log(
    formatSettings({
      machine: `${cores.length} cores (${cores[0]?.model ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}, ${process.platform}`,
      processes: `subgraphs, each gateway, the bare server and the load generator each in a process of its own${cores.length <= 2 ? `; on ${cores.length} cores they compete for CPU (the load generator and subgraphs take their share)` : ''}`,
      subgraphs: `${constantSubgraphs.map((s) => s.name).join(', ')}: constant data from memory, minimal node:http, no signing checks`,
      gateways: `stock @apollo/gateway (Apollo Server standalone, no plugins); Tessera with GATEWAY_EXECUTOR=apollo, then =tessera: NODE_ENV=production, every edge plugin on, the gateway's V8 flags (${GATEWAY_V8_FLAGS.join(' ')}, as its image runs it), response cache in memory (the deep query misses: no-store), rate limit off (RATE_LIMIT=0), trusted documents off, MAX_COST=${BENCH_MAX_COST}`,
      'cache hits': `Tessera (its executor) answering ${CACHEABLE_OPERATION} (same answer, subgraphs say ${CACHEABLE}) from its cache, vs a bare node:http server sending the same bytes`,
      load: `undici Pool, ${connections} keep-alive connections (BENCH_CONNECTIONS), no pipelining`,
      duration: `${seconds} s a measurement (BENCH_SECONDS), at most ${maxRequests} requests (BENCH_MAX_REQUESTS), after ${warmUpSeconds} s to warm up (BENCH_WARMUP_SECONDS)`,
      rounds: `${rounds} (BENCH_ROUNDS), each target once a round, the order rotating`,
      query: DEEP,
      RSS: "the gateway process's peak (VmHWM, reset before each measurement), MiB",
    }),
  );

  const started: Child[] = [];
  const temporary = await mkdtemp(join(tmpdir(), 'tessera-bench-engine-'));
  const stopAll = () => Promise.all(started.map(stopChild));
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
  try {
    // The subgraphs, and a supergraph composed from them.
    const ports = await Promise.all(constantSubgraphs.map(() => freePort()));
    const subgraphsChild = startChild(
      'the subgraphs',
      new URL('./engine/subgraphs-process.js', import.meta.url),
      ports.map(String),
      childEnv,
    );
    started.push(subgraphsChild);
    const subgraphUrls = ports.map((port) => `http://127.0.0.1:${port}/graphql`);
    await Promise.all(subgraphUrls.map((url) => waitAnswering(url, subgraphsChild, START_TIMEOUT_MS)));
    const composed = composeServices(
      constantSubgraphs.map((subgraph, i) => ({ name: subgraph.name, typeDefs: parse(subgraph.typeDefs), url: subgraphUrls[i] })),
    );
    if (composed.errors?.length) throw new Error(`the bench subgraphs do not compose: ${composed.errors.map((e) => e.message).join('; ')}`);
    const supergraphPath = join(temporary, 'supergraph.graphql');
    await writeFile(supergraphPath, composed.supergraphSdl!);

    // The gateways, one after the other (starting is CPU-bound); one that does not start is reported, not fatal.
    const notMeasured: { name: string; reason: string }[] = [];
    const gateways: Gateway[] = [];
    const secrets = { JWT_SECRET: randomBytes(32).toString('hex'), SUBGRAPH_SIGNING_SECRET: randomBytes(32).toString('hex') };
    const candidates: { name: string; start: (port: number) => Promise<Child>; path: string }[] = [
      {
        name: 'stock @apollo/gateway',
        path: '/',
        start: async (port) =>
          startChild(
            'stock @apollo/gateway',
            new URL('./engine/stock-gateway.js', import.meta.url),
            [supergraphPath, String(port)],
            childEnv,
          ),
      },
      ...(['apollo', 'tessera'] as const).map((executor) => ({
        name: `Tessera, ${executor} executor`,
        path: '/graphql',
        start: async (port: number) =>
          startChild(
            `Tessera (${executor})`,
            new URL('../bin/gateway.js', import.meta.url),
            [],
            {
              ...benchGatewayEnv({ ...childEnv, ...secrets }, {}),
              HOST: '127.0.0.1',
              GATEWAY_PORT: String(port),
              GATEWAY_METRICS_PORT: String(await freePort()),
              SUPERGRAPH_PATH: supergraphPath,
              SUPERGRAPH_WATCH: 'false',
              SUPERGRAPH_POLL_INTERVAL_MS: '0',
              LOG_LEVEL: 'warn',
              RESPONSE_CACHE: 'true',
              TRUSTED_DOCUMENTS: 'off',
              MAX_COST: BENCH_MAX_COST,
              GATEWAY_EXECUTOR: executor,
            },
            GATEWAY_V8_FLAGS,
          ),
      })),
    ];
    for (const candidate of candidates) {
      const port = await freePort();
      const child = await candidate.start(port);
      started.push(child);
      const url = `http://127.0.0.1:${port}${candidate.path}`;
      try {
        await waitAnswering(url, child, START_TIMEOUT_MS);
        gateways.push({ name: candidate.name, child, url });
      } catch (error) {
        console.error(`\n!! ${candidate.name} did not start: ${(error as Error).message}`);
        notMeasured.push({ name: candidate.name, reason: `did not start (${child.exited ?? 'no answer'})` });
        await stopChild(child);
      }
    }

    // Each gateway's deep answer, checked against stock's (or, without it, the first that answers well).
    const answers = new Map<Gateway, Answer>();
    for (const gateway of gateways)
      answers.set(gateway, await ask(gateway.url, DEEP).catch((e: Error) => ({ status: 0, headers: new Headers(), text: e.message })));
    const measured: Gateway[] = [];
    for (const gateway of gateways) {
      const fault = faultOf(answers.get(gateway)!);
      if (fault) {
        console.error(`\n!! ${gateway.name} answers the deep query badly: ${fault}`);
        notMeasured.push({ name: gateway.name, reason: `answers errors (${fault.slice(0, 120)})` });
      } else measured.push(gateway);
    }
    const reference = measured[0];
    if (!reference) throw new Error('no gateway answered the deep query; nothing to measure');
    const referenceAnswer = answers.get(reference)!;
    console.log(`\nThe deep answer: ${Buffer.byteLength(referenceAnswer.text)} bytes from ${reference.name}.`);
    for (const gateway of measured.slice(1)) {
      const difference = firstDifference(comparable(answers.get(gateway)!), comparable(referenceAnswer));
      console.log(
        difference
          ? `\n!!!!!!!! MISMATCH: ${gateway.name}'s answer differs from ${reference.name}'s, first at ${difference} !!!!!!!!\n`
          : `${gateway.name}: the same JSON as ${reference.name}'s (${Buffer.byteLength(answers.get(gateway)!.text)} bytes).`,
      );
    }

    const targets: Target[] = measured.map((gateway) => ({
      name: gateway.name,
      url: gateway.url,
      body: JSON.stringify({ query: DEEP }),
      pid: gateway.child.process.pid!,
    }));

    // Cache hits: Tessera with its own executor if it answers, else with Apollo's; against the bare server.
    const cacheGateway = [...measured].reverse().find((gateway) => gateway.name.startsWith('Tessera'));
    const hitsName = 'Tessera, cache hits';
    const bareName = 'bare node:http, same bytes';
    if (!cacheGateway) {
      notMeasured.push({ name: hitsName, reason: 'no Tessera gateway answers' }, { name: bareName, reason: 'nothing to compare with' });
    } else {
      await ask(cacheGateway.url, DEEP_CACHEABLE);
      const hit = await ask(cacheGateway.url, DEEP_CACHEABLE);
      const fault = faultOf(hit);
      const difference = fault ? undefined : firstDifference(comparable(hit), comparable(referenceAnswer));
      if (fault || hit.headers.get('x-cache') !== 'HIT') {
        const reason = fault ?? `the second ${CACHEABLE_OPERATION} answer said x-cache: ${hit.headers.get('x-cache') ?? 'nothing'}`;
        console.error(`\n!! cache hits not measured: ${reason}`);
        notMeasured.push({ name: hitsName, reason }, { name: bareName, reason: 'nothing to compare with' });
      } else {
        if (difference)
          console.log(`\n!!!!!!!! MISMATCH: the cache hit differs from ${reference.name}'s deep answer, first at ${difference} !!!!!!!!\n`);
        const headers: Record<string, string> = {};
        const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'date']);
        hit.headers.forEach((value, key) => {
          if (!hopByHop.has(key)) headers[key] = value;
        });
        const barePort = await freePort();
        const bare = startChild('the bare server', new URL('./engine/bare-server.js', import.meta.url), [String(barePort)], childEnv);
        started.push(bare);
        await new Promise<void>((resolve, reject) => {
          bare.process.once('message', () => resolve());
          bare.process.once('exit', () => reject(new Error(`the bare server ${bare.exited}:\n${bare.tail()}`)));
          bare.process.send({ body: hit.text, headers });
        });
        const bareUrl = `http://127.0.0.1:${barePort}/graphql`;
        const bareAnswer = await ask(bareUrl, DEEP_CACHEABLE);
        if (bareAnswer.text !== hit.text) throw new Error('the bare server does not send the bytes of the hit');
        console.log(
          `Cache hit: ${Buffer.byteLength(hit.text)} bytes from ${cacheGateway.name}, x-cache: HIT; the bare server sends the same bytes.`,
        );
        targets.push(
          { name: hitsName, url: cacheGateway.url, body: JSON.stringify({ query: DEEP_CACHEABLE }), pid: cacheGateway.child.process.pid! },
          { name: bareName, url: bareUrl, body: JSON.stringify({ query: DEEP_CACHEABLE }), pid: bare.process.pid! },
        );
      }
    }

    const summaries = await measureRounds(targets, settings, { PATH: env.PATH, HOME: env.HOME });
    printSummary(summaries, notMeasured, settings.rounds);
    const stock = summaries.get('stock @apollo/gateway');
    const tesseraApollo = summaries.get('Tessera, apollo executor');
    const tessera = summaries.get('Tessera, tessera executor');
    const hits = summaries.get(hitsName);
    const bare = summaries.get(bareName);
    console.log(`\nTessera (tessera executor) / stock: ${ratio(tessera, stock)}`);
    console.log(`Tessera (apollo executor) / stock:  ${ratio(tesseraApollo, stock)}`);
    console.log(`cache hits / bare node:http:        ${ratio(hits, bare)}\n`);
    for (const line of targetLines({ stock, tessera, hits, bare })) console.log(line);
  } finally {
    await stopAll();
    await rm(temporary, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
