import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { loadGatewayConfig } from '../../shared/config/config.js';
import { registryRoutes } from '../../tooling/compose.js';
import { repoRoot } from '../../shared/config/paths.js';
import { subgraphs } from '../../subgraphs/index.js';
import * as bench from '../../bench/subgraphs.js';

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
