import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { subgraphs } from '../../subgraphs/index.js';

interface RouterConfig {
  supergraph?: { listen?: string; path?: string };
  headers?: { all?: { request?: { propagate?: { named?: string } }[] } };
  override_subgraph_url?: Record<string, string>;
  include_subgraph_errors?: { all?: boolean };
}

/** Apollo Router cannot be downloaded here: its configuration is checked as the router would read it. */
describe('ops/router/router.yaml (Apollo Router in front of bearer-mode subgraphs)', () => {
  const config = parse(readFileSync('ops/router/router.yaml', 'utf8')) as RouterConfig;

  it('routes every registered subgraph to its docker-compose service, and nothing else', () => {
    const services = Object.fromEntries(subgraphs.map((s) => [s.name, `http://${s.name}:${s.port}/graphql`]));
    expect(config.override_subgraph_url).toEqual(services);
    const compose = readFileSync('docker-compose.yml', 'utf8');
    for (const { name, port } of subgraphs)
      expect(compose).toMatch(new RegExp(`\\n  ${name}:[\\s\\S]*?${name.toUpperCase()}_PORT: "${port}"`));
  });

  it('propagates the Authorization header to all subgraphs and lets their refusals through', () => {
    expect(config.headers?.all?.request).toContainEqual({ propagate: { named: 'authorization' } });
    expect(config.include_subgraph_errors).toEqual({ all: true });
  });

  it("serves at the gateway's address and path", () => {
    expect(config.supergraph).toEqual({ listen: '0.0.0.0:4000', path: '/graphql' });
  });
});
