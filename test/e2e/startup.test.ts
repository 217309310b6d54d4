import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { waitForSubgraphs } from '../../gateway/gateway.js';
import { repoRoot } from '../../shared/config/paths.js';
import { startSubgraph } from '../../shared/subgraph/boot.js';
import type { StoreSubgraphDefinition } from '../../shared/subgraph/definition.js';
import { accounts } from '../../subgraphs/accounts/index.js';
import { ensureBuilt } from '../support/built.js';
import { TEST_SIGNING_SECRET, testSubgraphConfig } from '../support/config.js';
import { freshStore } from '../support/postgres.js';
import { freePort } from '../support/redis.js';
import { signedAs, testLogger } from '../support/subgraph.js';

/*
 * What a person sees when a process starts: a subgraph that reports its progress while it
 * migrates and seeds, and, from the built scripts run as `npm start` runs them, start-up
 * failures as one structured line naming the variable to change, and no Apollo notices.
 */

let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tessera-startup-'));
  await ensureBuilt();
}, 300_000);
afterAll(() => rm(dataDir, { recursive: true, force: true }));

describe('a subgraph while it starts', () => {
  it('listens before it seeds: /health says starting and the phase, /ready and /graphql answer 503 STARTING, and the gateway waits for it', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    // Accounts whose seeding takes as long as the test wants.
    const slowSeed: StoreSubgraphDefinition = {
      ...accounts,
      async seed(em, services) {
        await held;
        await accounts.seed!(em, services);
      },
    };
    const { store, drop } = freshStore('accounts');
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const starting = startSubgraph({ definition: slowSeed, config: testSubgraphConfig('accounts', store, { port }), logger: testLogger });
    starting.catch(() => undefined);
    try {
      const phases: string[] = [];
      for (let attempt = 0; attempt < 600 && phases.at(-1) !== 'seeding'; attempt++) {
        const health = await fetch(`${origin}/health`).then(
          (response) => response.json() as Promise<{ status: string; phase: string }>,
          () => undefined,
        );
        if (health?.phase && phases.at(-1) !== health.phase) phases.push(health.phase);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(phases.at(-1)).toBe('seeding');
      const health = await fetch(`${origin}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'starting', phase: 'seeding', startingForMs: expect.any(Number) });
      const ready = await fetch(`${origin}/ready`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: 'starting', ready: false, phase: 'seeding' });
      const body = JSON.stringify({ query: '{ __typename }' });
      const graphql = await fetch(`${origin}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signedAs()(body) },
        body,
      });
      expect(graphql.status).toBe(503);
      expect(graphql.headers.get('retry-after')).toBe('1');
      expect(((await graphql.json()) as { errors: { extensions: object }[] }).errors[0]!.extensions).toEqual({
        code: 'STARTING',
        phase: 'seeding',
      });

      // The gateway's wait goes on well past its 300 ms while the subgraph says it is seeding.
      const waited = waitForSubgraphs(
        { subgraphs: [{ name: 'accounts', url: `${origin}/graphql` }], signingSecret: TEST_SIGNING_SECRET, subgraphWaitMs: 300 },
        testLogger,
        { pollMs: 100 },
      );
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      release();
      await expect(waited).resolves.toBeUndefined();
      await starting;
      expect(await (await fetch(`${origin}/health`)).json()).toEqual({ status: 'ok' });
      expect((await fetch(`${origin}/ready`)).status).toBe(200);
    } finally {
      release();
      await (await starting.catch(() => undefined))?.stop();
      await drop();
    }
  });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * A built script as `npm start` runs it, with only the environment given (on ports of its own,
 * its secrets in a scratch folder); with `stopWhen`, SIGTERM once stdout matches it.
 */
function run(script: string[], env: Record<string, string>, stopWhen?: RegExp): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      script.map((part, i) => (i === 0 ? join(repoRoot, part) : part)),
      {
        cwd: repoRoot,
        env: { PATH: process.env.PATH!, NODE_ENV: 'development', DATA_DIR: dataDir, METRICS: 'false', ...env },
      },
    );
    let stdout = '';
    let stderr = '';
    let stopped = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
      // Once: a second SIGTERM means "exit at once".
      if (!stopped && stopWhen?.test(stdout)) stopped = child.kill('SIGTERM');
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Every line written is a JSON object; the fatal ones. */
function fatalLines({ stdout }: Run): Record<string, any>[] {
  const lines = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, any>);
  return lines.filter((line) => line.level === 60);
}

/** Frames of a stack trace (`    at fn (file:line)`), wherever they were written. */
const STACK_FRAME = /^\s+at .+[:(]/m;

describe('a process that cannot start', () => {
  it.each([
    ['npm start', ['dist/bin/start.js'], 'start', { GATEWAY_PORT: 'abc' }, ['GATEWAY_PORT']],
    ['the gateway', ['dist/bin/gateway.js'], 'gateway', { GATEWAY_PORT: 'abc', RATE_LIMIT: '-1' }, ['GATEWAY_PORT', 'RATE_LIMIT']],
    ['a subgraph', ['dist/bin/subgraph.js', 'reviews'], 'reviews', { REVIEWS_PORT: '70000' }, ['REVIEWS_PORT']],
  ])(
    '%s with a bad setting logs one fatal line naming the variables, with no stack trace, and exits non-zero',
    async (_what, script, service, env, variables) => {
      const result = await run(script, env);
      expect(result.code).not.toBe(0);
      const fatal = fatalLines(result);
      expect(fatal).toEqual([
        expect.objectContaining({ service, variables, msg: 'cannot start: invalid configuration', problems: expect.any(Array) }),
      ]);
      expect(result.stdout + result.stderr).not.toMatch(STACK_FRAME);
      expect(result.stderr).toBe('');
    },
  );

  it.each([
    ['DATABASE_URL', { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/tessera' }],
    ['REVIEWS_DATABASE_URL', { REVIEWS_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/reviews' }],
  ])('a subgraph whose database refuses connections names %s', async (variable, env) => {
    const result = await run(['dist/bin/subgraph.js', 'reviews'], { ...env, REVIEWS_PORT: '0' });
    expect(result.code).not.toBe(0);
    expect(fatalLines(result)).toEqual([
      expect.objectContaining({
        variables: [variable],
        msg: `cannot start: cannot connect to the store; check ${variable}`,
        reason: 'connect ECONNREFUSED 127.0.0.1:1',
        code: 'ECONNREFUSED',
      }),
    ]);
    expect(result.stdout + result.stderr).not.toMatch(STACK_FRAME);
  });

  it('a gateway whose port is taken names GATEWAY_PORT', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as { port: number }).port;
      const result = await run(['dist/bin/gateway.js'], { GATEWAY_PORT: String(port), SUPERGRAPH_PATH: 'supergraph.graphql' });
      expect(result.code).not.toBe(0);
      expect(fatalLines(result)).toEqual([
        expect.objectContaining({
          variables: ['GATEWAY_PORT'],
          msg: `cannot start: port ${port} is in use by another process; set GATEWAY_PORT to another one`,
        }),
      ]);
      expect(result.stdout + result.stderr).not.toMatch(STACK_FRAME);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('in a terminal format (LOG_FORMAT=pretty) the line is for a person: level and name as words', async () => {
    const result = await run(['dist/bin/gateway.js'], { GATEWAY_PORT: 'abc', LOG_FORMAT: 'pretty' });
    expect(result.code).not.toBe(0);
    // One line, its fields after the message.
    expect(result.stdout).toMatch(
      /^\[[\d:.]+\] FATAL \(gateway\): cannot start: invalid configuration \{"variables":\["GATEWAY_PORT"\],"problems":\["GATEWAY_PORT: Invalid input[^\n]*\}\n$/,
    );
    expect(result.stdout + result.stderr).not.toMatch(STACK_FRAME);
  });
});

describe('what a process says as it starts', () => {
  // Apollo's one-time notices about its own machinery, as it writes them at info.
  const APOLLO_NOTICES = /Gateway successfully loaded schema|Mode: unmanaged|Enabling inline tracing/;

  it('the gateway: its own lines, one JSON object each, no Apollo notice', async () => {
    const result = await run(
      ['dist/bin/gateway.js'],
      { GATEWAY_PORT: '0', SUPERGRAPH_PATH: 'supergraph.graphql' },
      /"msg":"gateway listening"/,
    );
    expect(result.code).toBe(0);
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string });
    expect(lines.map((line) => line.msg)).toEqual(expect.arrayContaining(['supergraph loaded', 'gateway listening', 'shut down']));
    expect(result.stdout).not.toMatch(APOLLO_NOTICES);
  });

  it('a subgraph: no Apollo notice either', async () => {
    const { store, drop } = freshStore('reviews');
    try {
      const url = new URL(store.kind === 'postgresql' ? store.clientUrl : '');
      url.pathname = `/${store.kind === 'postgresql' ? store.dbName : ''}`;
      const result = await run(
        ['dist/bin/subgraph.js', 'reviews'],
        { REVIEWS_PORT: '0', REVIEWS_DATABASE_URL: url.toString() },
        /"msg":"subgraph listening"/,
      );
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('"msg":"seed data inserted into the empty store"');
      expect(result.stdout).not.toMatch(APOLLO_NOTICES);
    } finally {
      await drop();
    }
  });
});
