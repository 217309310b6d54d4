import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BullJobQueues } from '../../shared/jobs/bullmq-queues.js';
import { subgraphs } from '../../subgraphs/index.js';
import { deleteKeys, testRedisUrl } from '../support/jobs.js';
import { testLogger } from '../support/subgraph.js';
import { browserTest, withChromium } from '../support/browser.js';
import { supergraphForSuite } from '../support/supergraph.js';

const inBrowser = browserTest("the job board's browser test");

describe('Bull Board at /admin/jobs on the gateway', () => {
  const supergraph = supergraphForSuite();
  const prefix = `test-jobs-${randomUUID()}:`;
  let origin: string;
  let admin: Record<string, string>;
  let staff: Record<string, string>;
  const queues = new BullJobQueues(testRedisUrl, prefix, testLogger);

  beforeAll(async () => {
    origin = (await supergraph.startGateway({ redis: { url: testRedisUrl, prefix } })).origin;
    admin = await supergraph.loginAs('ada');
    staff = await supergraph.loginAs('grace');
    // One job waiting on inventory's queue, as a relay would leave it.
    await queues.add('inventory', [{ id: randomUUID(), name: 'deliverStockLow', data: {}, attempts: 1, backoffMs: 0 }]);
  }, 120_000);

  afterAll(async () => {
    await queues.close();
    await deleteKeys(prefix);
  });

  it('refuses anonymous callers (401) and callers who are not admins (403), with a code', async () => {
    const anonymous = await fetch(`${origin}/admin/jobs`);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
    const notAdmin = await fetch(`${origin}/admin/jobs/api/queues`, { headers: staff });
    expect(notAdmin.status).toBe(403);
    expect(((await notAdmin.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('FORBIDDEN');
    const forged = await fetch(`${origin}/admin/jobs`, { headers: { authorization: 'Bearer not-a-token' } });
    expect(forged.status).toBe(401);
  });

  it("lists every subgraph's queue for an admin, with its jobs", async () => {
    const answer = await fetch(`${origin}/admin/jobs/api/queues`, { headers: admin });
    expect(answer.status).toBe(200);
    const { queues: listed } = (await answer.json()) as { queues: { name: string; counts: Record<string, number> }[] };
    expect(listed.map((queue) => queue.name).sort()).toEqual(subgraphs.map((s) => s.name).sort());
    expect(listed.find((queue) => queue.name === 'inventory')!.counts.waiting).toBe(1);
  });

  inBrowser(
    'shows the queues in headless Chromium with an admin token, and refuses the page without one',
    async () => {
      await withChromium(async (context) => {
        const page = context.pages()[0] ?? (await context.newPage());
        const refused = await page.goto(`${origin}/admin/jobs`);
        expect(refused?.status()).toBe(401);
        await context.setExtraHTTPHeaders(admin);
        const shown = await page.goto(`${origin}/admin/jobs`);
        expect(shown?.status()).toBe(200);
        for (const name of subgraphs.map((s) => s.name)) await page.getByText(name, { exact: true }).first().waitFor({ timeout: 20_000 });
      });
    },
    90_000,
  );
});
