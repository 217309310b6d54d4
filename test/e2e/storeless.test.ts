import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { migrateSubgraph } from '../../tooling/migrations.js';
import { auditLogQueryName } from '../../shared/subgraph/audit.js';
import { startSubgraph, type RunningSubgraph } from '../../shared/subgraph/boot.js';
import { subgraphSdl } from '../../shared/subgraph/schema.js';
import { promotions } from '../fixtures/promotions/index.js';
import type { PromotionsContext } from '../fixtures/promotions/promotions.resolver.js';
import { testSubgraphConfig } from '../support/config.js';
import { postGraphQL, signedAs, testLogger } from '../support/subgraph.js';
import { startTestSupergraph, type TestSupergraph } from '../support/supergraph.js';

// Type-level: a storeless subgraph's context has no EntityManager to reach for.
export const noEntityManager = (ctx: PromotionsContext) => {
  // @ts-expect-error `em` is absent (never) on a storeless subgraph's context
  return ctx.em.fork();
};

/** A store nothing listens for: a storeless subgraph that tried to open one would fail to start. */
const unreachableStore = { kind: 'postgresql', clientUrl: 'postgres://postgres@127.0.0.1:9/postgres', dbName: 'never_opened' } as const;

describe('a storeless subgraph (defined without entities)', () => {
  let running: RunningSubgraph;
  let supergraph: TestSupergraph;
  beforeAll(async () => {
    const config = testSubgraphConfig('promotions', unreachableStore);
    running = await startSubgraph({ definition: promotions, config, logger: testLogger });
    supergraph = await startTestSupergraph({ responseCache: false, extraSubgraphs: [{ name: 'promotions', url: running.url }] });
  }, 120_000);
  afterAll(async () => {
    await supergraph?.stop();
    await running?.stop();
  });

  it('starts without opening a store, and /ready is ready without a store check', async () => {
    expect(running.orm).toBeUndefined();
    const ready = await fetch(running.url.replace(/\/graphql$/, '/ready'));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', ready: true });
  });

  it('answers on its own, signed as the gateway would', async () => {
    const { data, errors } = await postGraphQL(running.url, '{ promotionsStatus { open message } }', undefined, signedAs());
    expect(errors).toBeUndefined();
    expect(data).toEqual({ promotionsStatus: { open: true, message: 'Promotions run all week' } });
  });

  it('has no audit log (it lives in a store)', async () => {
    expect(await subgraphSdl(promotions)).not.toContain(auditLogQueryName('promotions'));
  });

  it("composes with the shop and answers through the gateway, joining the shop's products", async () => {
    const { data, errors } = await supergraph.query(`{ promotionsStatus { open } product(upc: "300000000003") { name promotion } }`);
    expect(errors).toBeUndefined();
    expect(data).toEqual({
      promotionsStatus: { open: true },
      product: { name: 'Insulated Water Bottle', promotion: '10% off bottles this week' },
    });
    const ready = await fetch(`${supergraph.origin}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', subgraphs: { promotions: 'up', catalog: 'up' } });
  });

  it('is skipped by npm run migrate with a line that says why', async () => {
    const lines: string[] = [];
    for (const command of ['up', 'status', 'seed', 'create'] as const)
      await migrateSubgraph(promotions, command, { env: {}, print: (line) => lines.push(line) });
    expect(lines).toEqual(Array(4).fill('No store (the subgraph declares no entities): nothing to migrate or seed.'));
  });
});
