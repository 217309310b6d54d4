import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { composeSupergraph } from '../../tooling/compose.js';
import { subgraphs } from '../../subgraphs/index.js';
import { startTestSupergraph, type TestSupergraph } from '../support/supergraph.js';

describe('the gateway in production, serving a composed supergraph file', () => {
  let supergraph: TestSupergraph;
  let dir: string;
  beforeAll(async () => {
    // Routing URLs nobody can reach, as composed for another deployment: `<NAME>_URL` routes them here.
    const routing = new Map(subgraphs.map((s) => [s.name, `http://${s.name}.invalid/graphql`]));
    const { supergraphSdl, errors } = await composeSupergraph(subgraphs, routing);
    expect(errors).toEqual([]);
    dir = await mkdtemp(join(tmpdir(), 'tessera-supergraph-'));
    const supergraphPath = join(dir, 'supergraph.graphql');
    await writeFile(supergraphPath, supergraphSdl!);
    supergraph = await startTestSupergraph({ env: 'production', supergraphPath, routeToRunning: true });
  });
  afterAll(async () => {
    await supergraph?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves queries across subgraphs from the file', async () => {
    const { data, errors } = await supergraph.query(`{ product(upc: "300000000003") { name quantity shippingEstimate averageRating } }`);
    expect(errors).toBeUndefined();
    expect(data).toEqual({ product: { name: 'Insulated Water Bottle', quantity: 120, shippingEstimate: 499, averageRating: 4 } });
  });

  it('refuses introspection', async () => {
    const { errors } = await supergraph.query(`{ __schema { queryType { name } } }`);
    expect(errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('keeps the codes of expected errors and carries no stack traces', async () => {
    const { errors } = await supergraph.query(`{ products(first: 500) { totalCount } }`);
    expect(errors?.[0]?.extensions).toEqual(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    expect(JSON.stringify(errors)).not.toMatch(/stacktrace|at .*\.ts/);
  });
});
