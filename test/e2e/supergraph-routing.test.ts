import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { composeFromRunning } from '../../gateway/supergraph/supergraph.js';
import type { RoutedGatewayConfig } from '../../shared/config/config.js';
import { subgraphs } from '../../subgraphs/index.js';
import { TEST_SIGNING_SECRET, testGatewayConfig } from '../support/config.js';
import { startForeignSubgraph, type ForeignSubgraph } from '../support/foreign-subgraph.js';
import { postGraphQL } from '../support/subgraph.js';
import { serveGateway } from '../support/supergraph.js';

/**
 * A supergraph composed elsewhere: its one subgraph is named `inventory`, like one of ours, but
 * is a server of its own somewhere else. The gateway runs with the registry's defaults (what
 * production has without `<NAME>_URL`), which point at ports where nothing listens.
 */
describe('routing by the supergraph being served', () => {
  let foreign: ForeignSubgraph;
  let other: ForeignSubgraph;
  let dir: string;
  let supergraphPath: string;
  const stops: (() => Promise<void>)[] = [];
  // The registry's names at the registry's kind of default URL, with nothing behind it.
  const defaults: RoutedGatewayConfig['subgraphs'] = subgraphs.map((s) => ({ name: s.name, url: `http://127.0.0.1:9/${s.name}/graphql` }));

  beforeAll(async () => {
    foreign = await startForeignSubgraph('inventory');
    other = await startForeignSubgraph('inventory');
    // Tells the two apart: only the other one holds a Widget.
    await postGraphQL(other.url, 'mutation { addGadget(name: "Widget") { id } }');
    const { supergraphSdl, errors } = await composeFromRunning([{ name: 'inventory', url: foreign.url }], TEST_SIGNING_SECRET);
    expect(errors).toEqual([]);
    dir = await mkdtemp(join(tmpdir(), 'tessera-routing-'));
    supergraphPath = join(dir, 'supergraph.graphql');
    await writeFile(supergraphPath, supergraphSdl!);
  });
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
    await foreign?.stop();
    await other?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function startGateway(subgraphUrlOverrides: Record<string, string> = {}) {
    const config = testGatewayConfig(defaults, { env: 'production', supergraphPath, subgraphUrlOverrides, identitySubgraph: undefined });
    config.responseCache = { ...config.responseCache, enabled: false };
    config.metrics = { ...config.metrics, enabled: false };
    const { url, origin, stop } = await serveGateway(config);
    stops.push(stop);
    const ready = async () => {
      const response = await fetch(`${origin}/ready`);
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    return { url, ready };
  }

  it("routes a subgraph named like one of ours to the supergraph's own URL, and readiness reports the supergraph's subgraphs", async () => {
    const gateway = await startGateway();
    const { data, errors } = await postGraphQL(gateway.url, '{ gadgets { name } }');
    expect(errors).toBeUndefined();
    expect(data).toEqual({ gadgets: [{ name: 'Sprocket' }] });
    const ready = await gateway.ready();
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ready', subgraphs: { inventory: 'up' } });
    // Only the supergraph's subgraphs: none of the registry's others is probed.
    expect(Object.keys(ready.body.subgraphs as object)).toEqual(['inventory']);
  });

  it('lets an explicitly set <NAME>_URL win over the supergraph for that name', async () => {
    const gateway = await startGateway({ inventory: other.url });
    const { data } = await postGraphQL(gateway.url, '{ gadgets { name } }');
    expect(data).toEqual({ gadgets: [{ name: 'Sprocket' }, { name: 'Widget' }] });
    const down = await startGateway({ inventory: 'http://127.0.0.1:9/graphql' });
    const ready = await down.ready();
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ subgraphs: { inventory: 'down' } });
  });
});
