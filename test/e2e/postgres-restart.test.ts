import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { startSubgraph, type RunningSubgraph } from '../../shared/subgraph/boot.js';
import { catalog } from '../../subgraphs/catalog/index.js';
import { testIdentity, testSubgraphConfig } from '../support/config.js';
import { DisposablePostgres, postgresBinDir } from '../support/disposable-postgres.js';
import { capturingLogger } from '../support/logger.js';
import { postGraphQL, signedAs, type GraphQLResponse } from '../support/subgraph.js';

const bin = postgresBinDir();
if (!bin) console.warn('postgres-restart.test.ts skipped: no PostgreSQL server binaries (initdb) under /usr/lib/postgresql');

const staff = testIdentity('grace', 'staff');
const CREATE = `mutation($input: CreateProductInput!) { createProduct(input: $input) { id upc } }`;
const COUNT = `{ products(first: 1) { totalCount } }`;
const DATABASE = 'tessera_catalog';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

(bin ? describe : describe.skip)('a PostgreSQL restart under a subgraph', () => {
  let cluster: DisposablePostgres;
  let subgraph: RunningSubgraph;
  let categoryId: string;
  // Warnings and errors are kept: a failure that reached formatError unmapped is logged as 'unexpected error'.
  const { logger, lines: logs } = capturingLogger('warn');
  /** UPCs of the products whose creation was acknowledged (answered without error). */
  const acknowledged: string[] = [];
  let nextUpc = 900_000_000_000;

  const ask = (query: string, variables?: Record<string, unknown>) => postGraphQL(subgraph.url, query, variables, signedAs(staff));

  async function createProduct(): Promise<GraphQLResponse & { upc: string }> {
    const upc = String(nextUpc++);
    const response = await ask(CREATE, {
      input: { upc, name: `Restart ${upc}`, price: { amount: 100, currency: 'USD' }, weight: 100, categoryId },
    });
    if (!response.errors && response.data?.createProduct?.upc === upc) acknowledged.push(upc);
    return { ...response, upc };
  }

  /** A failure the client can act on: the stable code, nothing of the driver's words. */
  function expectStoreUnavailable(response: GraphQLResponse): void {
    expect(response.status).toBe(200);
    expect(response.data).toBeNull();
    expect(response.errors?.map((e) => e.extensions?.code)).toEqual(['STORE_UNAVAILABLE']);
    expect(JSON.stringify(response.errors)).not.toMatch(/terminat|ECONN|57P0|starting up|postgres|stacktrace/i);
  }

  /** The subgraph's database on the disposable cluster, for checking behind its back. */
  function databaseUrl(): string {
    const url = new URL(cluster.url);
    url.pathname = `/${DATABASE}`;
    return url.toString();
  }

  async function databaseRows(sql: string, params: unknown[]): Promise<Record<string, unknown>[]> {
    const client = new pg.Client({ connectionString: databaseUrl() });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows;
    } finally {
      await client.end();
    }
  }

  beforeAll(async () => {
    cluster = await DisposablePostgres.create(bin!);
    const config = testSubgraphConfig('catalog', { kind: 'postgresql', clientUrl: cluster.url, dbName: DATABASE });
    subgraph = await startSubgraph({ definition: catalog, config, logger });
    const { data } = await ask(`{ categories { id } }`);
    categoryId = data!.categories[0].id;
  });
  afterAll(async () => {
    // Side by side, so the cluster goes even if a held connection keeps the subgraph from closing.
    await Promise.allSettled([subgraph?.stop(), cluster?.destroy()]);
  });

  it('fails requests cleanly with STORE_UNAVAILABLE while the server is down, and reconnects by itself when it is back', async () => {
    for (let i = 0; i < 3; i++) expect((await createProduct()).errors).toBeUndefined();
    await cluster.stop();
    try {
      expectStoreUnavailable(await ask(COUNT));
      expectStoreUnavailable(await createProduct());
    } finally {
      await cluster.start();
    }
    // The pool dropped the connections the shutdown terminated and makes new ones: no restart of the subgraph.
    expect((await ask(COUNT)).errors).toBeUndefined();
    expect((await createProduct()).errors).toBeUndefined();
  });

  it('reports a mutation cut off in its transaction as failed, leaves nothing of it, and frees its connection', async () => {
    // Hold the product table so the mutation's INSERT waits inside its transaction, then restart under it.
    const [locker, watcher] = [new pg.Client({ connectionString: databaseUrl() }), new pg.Client({ connectionString: databaseUrl() })];
    for (const client of [locker, watcher]) {
      client.on('error', () => undefined); // the restart terminates these sessions too
      await client.connect();
    }
    await locker.query('begin; lock table product in access exclusive mode');
    const cutOff = createProduct();
    // (Polled from a session outside any transaction: pg_stat_activity stands still inside one.)
    let waiting = 0;
    for (let i = 0; i < 200 && !waiting; i++) {
      await pause(25);
      const { rows } = await watcher.query(
        `select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like 'insert into "product"%'`,
      );
      waiting = rows[0].n;
    }
    expect(waiting).toBe(1);
    await watcher.end();
    await cluster.restart();
    const response = await cutOff;
    expectStoreUnavailable(response);
    await locker.end().catch(() => undefined);
    expect(await databaseRows('select upc from product where upc = $1', [response.upc])).toEqual([]);
    // Its connection went back to the pool (discarded): none is left held by the failed transaction.
    const pool = (await subgraph.orm!.em.getConnection().getNativeClient()) as pg.Pool;
    for (let i = 0; i < 50 && pool.totalCount > pool.idleCount; i++) await pause(20);
    expect(pool.totalCount - pool.idleCount).toBe(0);
  });

  it('survives pg_ctl restart -m fast in the middle of a run of requests', async () => {
    let restarted = false;
    const restart = cluster.restart().then(() => {
      restarted = true;
    });
    // Bounded: on through the restart until a write begun after it is acknowledged.
    let healed = false;
    for (let i = 0; i < 500 && !healed; i++) {
      const afterRestart = restarted;
      const response = i % 2 ? await createProduct() : await ask(COUNT);
      if (response.errors) expectStoreUnavailable(response);
      healed = afterRestart && i % 2 === 1 && !response.errors;
      await pause(10);
    }
    await restart;
    expect(healed).toBe(true);
  });

  it('kept every product whose creation was acknowledged, before, during and after the restarts', async () => {
    expect(acknowledged.length).toBeGreaterThanOrEqual(5);
    const rows = await databaseRows('select upc from product where upc = any($1) order by upc', [acknowledged]);
    expect(rows.map((row) => row.upc)).toEqual([...acknowledged].sort());
    const { data } = await ask(`query($upc: String!) { product(upc: $upc) { upc } }`, { upc: acknowledged.at(-1) });
    expect(data).toEqual({ product: { upc: acknowledged.at(-1) } });
  });

  it('mapped every failure: nothing reached the client unexplained, and the process never crashed', () => {
    expect(logs.filter((line) => line.msg === 'unexpected error')).toEqual([]);
    expect(logs.some((line) => line.msg === 'store unavailable')).toBe(true);
  });
});
