import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { loadGatewayConfig } from '../../shared/config/config.js';
import { registryRoutes } from '../../tooling/compose.js';
import { repoRoot } from '../../shared/config/paths.js';
import { subgraphs } from '../../subgraphs/index.js';
import * as bench from '../../bench/subgraphs.js';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { CACHEABLE_OPERATION, constantSubgraphs, serveConstantSubgraph } from '../../bench/engine/constant-subgraphs.js';
import { firstDifference, median, rotate, summaryTable, targetLines, type Summary } from '../../bench/engine/report.js';
import { positiveInts, quantile, summarizeFanOut } from '../../bench/subscriptions/fan-out.js';

describe('npm run bench: the limits it sets and what it prints', () => {
  it('runs its gateway with rate limiting off, whatever the environment says', () => {
    // Thousands of requests from one address: under the default (600 a minute) most were 429s.
    for (const RATE_LIMIT of [undefined, '600', '5']) {
      const env = bench.benchGatewayEnv(
        { ...bench.benchEnv(), ...(RATE_LIMIT && { RATE_LIMIT }) },
        { REVIEWS_URL: 'http://127.0.0.1:1/graphql' },
      );
      const config = loadGatewayConfig(env);
      expect(config.protection.rateLimit.enabled).toBe(false);
      expect(registryRoutes(env, subgraphs).get('reviews')).toBe('http://127.0.0.1:1/graphql');
    }
    expect(bench.BENCH_RATE_LIMIT).toMatch(/^off\b.*RATE_LIMIT=0/);
  });

  it('counts and names the subgraphs from the registry', () => {
    const printed = bench.formatSettings({ subgraphs: bench.benchSubgraphs({}), 'rate limit': bench.BENCH_RATE_LIMIT });
    expect(printed).toContain(`subgraphs   ${subgraphs.length} (${subgraphs.map((s) => s.name).join(', ')}), in-memory PGlite, seeded`);
    expect(printed).toContain(`rate limit  ${bench.BENCH_RATE_LIMIT}`);
    expect(bench.benchSubgraphs({ DATABASE_URL: 'postgres://127.0.0.1/x' })).toContain('PostgreSQL (DATABASE_URL)');
  });

  it('hard-codes no count of subgraphs in what the scripts and benches print or the README says', async () => {
    const files = [
      'README.md',
      ...(
        await Promise.all(
          ['bench', 'bin', 'tooling', 'gateway'].map(async (folder) =>
            (await readdir(join(repoRoot, folder), { recursive: true })).map((file) => join(folder, String(file))),
          ),
        )
      )
        .flat()
        .filter((file) => file.endsWith('.ts') && !file.includes('/test/')),
    ];
    const counted = /\b(?:\d+|two|three|four|five|six|seven|eight|nine|ten) subgraphs\b/gi;
    const found: string[] = [];
    for (const file of files) {
      for (const match of (await readFile(join(repoRoot, file), 'utf8')).matchAll(counted)) found.push(`${file}: ${match[0]}`);
    }
    expect(found).toEqual([]);
  });

  it('says why a request failed: its status and first error code', () => {
    expect(bench.failureOf(200, { errors: [] })).toBeUndefined();
    expect(bench.failureOf(200, {})).toBeUndefined();
    expect(bench.failureOf(429, { errors: [{ extensions: { code: 'RATE_LIMITED' } }] })).toBe('429 RATE_LIMITED');
    expect(bench.failureOf(200, { errors: [{}, { extensions: { code: 'INTERNAL_SERVER_ERROR' } }] })).toBe('200 INTERNAL_SERVER_ERROR');
    expect(bench.failureOf(502, undefined)).toBe('502');
    expect(bench.failureOf(200, { errors: [{}] })).toBe('200 with errors');
  });

  it('refuses a size that is not a positive integer, naming the variable', () => {
    expect(bench.positiveInt({}, 'BENCH_REQUESTS', 2000)).toBe(2000);
    expect(bench.positiveInt({ BENCH_REQUESTS: '50' }, 'BENCH_REQUESTS', 2000)).toBe(50);
    for (const bad of ['abc', '0', '-3', '1.5'])
      expect(() => bench.positiveInt({ BENCH_REQUESTS: bad }, 'BENCH_REQUESTS', 2000)).toThrow(
        `BENCH_REQUESTS must be a positive integer; got "${bad}".`,
      );
  });
});

describe('npm run bench -- engine: its subgraphs and its arithmetic', () => {
  const summary = (name: string, perSecond: number, p99: number, rss = 100, failures = 0): Summary => ({
    name,
    perSecond,
    p50: p99 / 2,
    p99,
    rss,
    failures,
  });

  it('has constant subgraphs that compose, answer from memory, and mark only the cacheable operation cacheable', async () => {
    const composed = composeServices(
      constantSubgraphs.map((s) => ({ name: s.name, typeDefs: parse(s.typeDefs), url: `http://127.0.0.1:1/${s.name}` })),
    );
    expect(composed.errors ?? []).toEqual([]);
    const reviews = constantSubgraphs.find((s) => s.name === 'reviews')!;
    const server = serveConstantSubgraph(reviews).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
    const ask = async (operation: string) => {
      const query = `query ${operation}($r: [_Any!]!) { _entities(representations: $r) { ... on User { reviews { id product { upc } } } } }`;
      const body = JSON.stringify({ query, variables: { r: [{ __typename: 'User', id: '1' }] } });
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      return { cacheControl: response.headers.get('cache-control'), json: (await response.json()) as any };
    };
    try {
      const miss = await ask('Deep__reviews__1');
      expect(miss.cacheControl).toBe('no-store');
      // Three reviews, each on a product of its own.
      const userReviews = miss.json.data._entities[0].reviews as { product: { upc: string } }[];
      expect(new Set(userReviews.map((r) => r.product.upc)).size).toBe(3);
      const hit = await ask(`${CACHEABLE_OPERATION}__reviews__1`);
      expect(hit.cacheControl).toBe('max-age=3600, public');
      expect(hit.json).toEqual(miss.json);
    } finally {
      server.close();
    }
  });

  it('says where two answers first differ, key order included', () => {
    expect(firstDifference({ data: { a: [1, { b: 2 }] } }, { data: { a: [1, { b: 2 }] } })).toBeUndefined();
    expect(firstDifference({ data: { a: [1, { b: 2 }] } }, { data: { a: [1, { b: 3 }] } })).toBe('data.a.1.b');
    expect(firstDifference({ data: { a: 1, b: 2 } }, { data: { b: 2, a: 1 } })).toMatch(/^data\.a \(keys differ/);
    expect(firstDifference({ data: null }, { data: {} })).toBe('data');
    expect(firstDifference([1], [1, 2])).toMatch(/^1 \(keys differ/);
  });

  it('rotates the order each round and takes medians', () => {
    expect([0, 1, 2, 3].map((round) => rotate(['a', 'b', 'c'], round).join(''))).toEqual(['abc', 'bca', 'cab', 'abc']);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
  });

  it('prints a target met only when both sides were measured without failures', () => {
    const met = targetLines({
      stock: summary('stock', 30, 900),
      tessera: summary('tessera', 95, 400, 200),
      hits: summary('hits', 6000, 9),
      bare: summary('bare', 10_000, 5),
    });
    expect(met).toEqual([
      expect.stringMatching(/^TARGET MET: .*3\.17×/),
      expect.stringMatching(/^TARGET MET: .*200 MiB/),
      expect.stringMatching(/^TARGET MET: .*60%/),
    ]);
    const missed = targetLines({
      stock: summary('stock', 30, 300),
      tessera: summary('tessera', 95, 400, 300),
      hits: summary('hits', 6000, 9, 100, 1),
    });
    expect(missed.every((line) => line.startsWith('TARGET MISSED: '))).toBe(true);
    expect(missed[2]).toContain('not measured');
    expect(summaryTable([summary('stock', 30.04, 900)], [{ name: 'tessera', reason: 'did not start (exited with 78)' }])).toContain(
      '| stock | 30.0 | 450.0 | 900.0 | 100 | 0 |\n| tessera | not measured: did not start (exited with 78) |',
    );
  });
});

describe('npm run bench -- subscriptions: its settings and its arithmetic', () => {
  it('reads the subscriber counts as positive integers, naming the variable when one is not', () => {
    expect(positiveInts({}, 'BENCH_SUBSCRIBERS', [100, 500, 1000])).toEqual([100, 500, 1000]);
    expect(positiveInts({ BENCH_SUBSCRIBERS: ' 10, 20 ' }, 'BENCH_SUBSCRIBERS', [100])).toEqual([10, 20]);
    for (const bad of ['10,', 'ten', '0', '5,-1', '2.5'])
      expect(() => positiveInts({ BENCH_SUBSCRIBERS: bad }, 'BENCH_SUBSCRIBERS', [100])).toThrow(
        `BENCH_SUBSCRIBERS must be positive integers, comma-separated; got "${bad}".`,
      );
  });

  it('takes quantiles by nearest rank', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([quantile(hundred, 0.5), quantile(hundred, 0.99), quantile(hundred, 1)]).toEqual([50, 99, 100]);
    expect(quantile([7], 0.99)).toBe(7);
    expect(quantile([], 0.5)).toBeNaN();
  });

  it('counts deliveries per second over the whole run, and the ones that never came', () => {
    const summary = summarizeFanOut({ subscribers: 4, events: 2, latencies: [30, 10, 20, 40, 50, 60], elapsedMs: 2_000 });
    expect(summary).toEqual({ perSecond: 3, p50: 30, p99: 60, missing: 2 });
  });
});
